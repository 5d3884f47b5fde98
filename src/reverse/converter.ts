import type { ErrorPayload } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import type { ChatFinishReasonOut, ChatFrame, ChatTokenLogprobOut } from "../types/chat-out.ts";
import { ChunkWriter, type TextField } from "./chunk-writer.ts";
import { chatCompletionId, chatLogprobs, chatUrlCitation, errorTypeFor, finishReasonOf } from "./shapes.ts";
import { chatUsage } from "./usage.ts";

export interface ResponsesToChatOptions {
  /** The client's `stream_options.include_usage`: `usage: null` on every chunk, then a usage chunk before `[DONE]`. */
  includeUsage?: boolean;
  /** The model named in chunks when the upstream names none (default `""`); the upstream's `response.model` wins. */
  model?: string;
  /** Applied to every error message before it is sent (the Worker strips its upstream key). */
  redact?: (text: string) => string;
  /** Unix seconds, for `created` when the upstream gives no `created_at`. */
  now?: () => number;
  /** Called once with the upstream's final Response (`response.completed` / `incomplete`), e.g. to count its usage. */
  onEnd?: (response: unknown) => void;
}

/** A Responses stream event as an upstream sends it (the `openai` package's, this library's, anyone's): read defensively. */
export interface ResponsesEventLike {
  readonly type: string;
}

export type ErrorInput = Partial<ErrorPayload> & { message: string };

/**
 * The pure heart of the reverse direction: one Responses stream event in,
 * the chat frames it implies out. No streams, no I/O, no timers.
 *
 * Every stream ends in exactly one way: a `finish_reason` chunk (then the
 * usage chunk with `includeUsage`, then `[DONE]` on the wire), or one error
 * frame `{"error": {...}}` (an upstream `response.failed` or `error`, a cut
 * stream, a protocol fault), never a clean stop that was not one.
 */
export interface ResponsesToChatConverter {
  push(event: ResponsesEventLike): ChatFrame[];
  /** The input ended. Without a terminal event before it, the stream was cut: an error frame. */
  finish(): ChatFrame[];
  /** Ends the stream with an error frame (the Worker's idle timeout, a reset). */
  fail(error: ErrorInput): ChatFrame[];
  /** True once the stream ended; later input is ignored. */
  readonly ended: boolean;
}

/** The converter as the stream shells drive it: frames left in `out` (SSE text in wire mode). */
export interface ReverseCore {
  readonly out: ChunkWriter;
  push(event: ResponsesEventLike): void;
  finish(): void;
  fail(error: ErrorInput): void;
  readonly ended: boolean;
}

/** Text sent so far for one part (UTF-16 units), so a `done` can make up what no delta carried. */
interface Sent {
  n: number;
}

interface Call {
  index: number;
  sent: number;
}

type Rec = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === "string" ? v : "");

export function createReverseCore(options: ResponsesToChatOptions = {}, wire = true): ReverseCore {
  const out = new ChunkWriter(wire);
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  let started = false;
  let ended = false;
  const calls = new Map<string, Call>();
  let callCount = 0;
  /** Items whose `output_item.done` was seen (their text is complete). */
  const finished = new Set<string>();

  // Sent text per part, with the last part cached: consecutive deltas hit the same part.
  const sent = new Map<string, Sent>();
  let lastItem: unknown = null;
  let lastSlot = "";
  let lastIndex: unknown = -1;
  let last: Sent = { n: 0 };
  function part(item: unknown, slot: string, index: unknown): Sent {
    if (item === lastItem && slot === lastSlot && index === lastIndex) return last;
    const key = `${String(item)}\u0000${slot}${String(index)}`;
    let s = sent.get(key);
    if (!s) sent.set(key, (s = { n: 0 }));
    lastItem = item;
    lastSlot = slot;
    lastIndex = index;
    return (last = s);
  }
  /** The reasoning part written last: a new one is set apart by a blank line. */
  let reasoningPart: Sent | null = null;

  function start(response?: unknown): void {
    if (started) return;
    started = true;
    const r: Rec = isObject(response) ? response : {};
    out.start({
      id: chatCompletionId(r["id"]),
      created: typeof r["created_at"] === "number" ? r["created_at"] : now(),
      model: typeof r["model"] === "string" && r["model"] !== "" ? r["model"] : (options.model ?? ""),
      includeUsage: options.includeUsage === true,
    });
    out.choice({ role: "assistant", content: "", refusal: null });
  }

  function text(field: "content" | "refusal", e: Rec, slot: string, logprobs?: unknown): void {
    start();
    const delta = e["delta"];
    if (typeof delta !== "string" || delta === "") return;
    part(e["item_id"], slot, e["content_index"]).n += delta.length;
    const lp: ChatTokenLogprobOut[] | null = logprobs ? chatLogprobs(logprobs) : null;
    if (lp) out.choice({ [field]: delta }, null, lp);
    else out.delta(field, delta);
  }

  function reasoningText(s: Sent, t: string): void {
    if (!t) return;
    s.n += t.length;
    if (s !== reasoningPart) {
      if (reasoningPart) t = "\n\n" + t;
      reasoningPart = s;
    }
    out.delta("reasoning_content", t);
  }

  function reasoning(e: Rec, slot: string, index: unknown): void {
    start();
    const delta = e["delta"];
    if (typeof delta === "string") reasoningText(part(e["item_id"], slot, index), delta);
  }

  /** The first chunk of a call: index, id, type, name (and arguments, if the upstream gave them at once). */
  function announce(item: Rec): Call {
    const key = typeof item["id"] === "string" ? item["id"] : str(item["call_id"]);
    let call = calls.get(key);
    if (call) return call;
    call = { index: callCount++, sent: 0 };
    calls.set(key, call);
    const args = str(item["arguments"]);
    // Chat clients key a call by its id: the item's own id stands in for a missing `call_id`.
    const id = str(item["call_id"]) || key;
    out.choice({ tool_calls: [{ index: call.index, id, type: "function", function: { name: str(item["name"]), arguments: args } }] });
    call.sent = args.length;
    return call;
  }

  function argumentsDelta(e: Rec): void {
    start();
    const call = calls.get(str(e["item_id"]));
    const delta = e["delta"];
    // A call never announced is made up whole at its `output_item.done`.
    if (!call || typeof delta !== "string" || delta === "") return;
    call.sent += delta.length;
    out.choice({ tool_calls: [{ index: call.index, function: { arguments: delta } }] });
  }

  /** What `t` has beyond what was sent for its part (servers that send `done` events without deltas). */
  function rest(s: Sent, t: unknown, field: TextField): void {
    if (typeof t !== "string" || t.length <= s.n) return;
    if (field === "reasoning_content") return reasoningText(s, t.slice(s.n));
    const more = t.slice(s.n);
    s.n = t.length;
    out.delta(field, more);
  }

  function complete(item: unknown): void {
    if (!isObject(item)) return;
    const id = item["id"];
    if (typeof id === "string") {
      if (finished.has(id)) return;
      finished.add(id);
    }
    const parts = (k: string): unknown[] => (Array.isArray(item[k]) ? (item[k] as unknown[]) : []);
    switch (item["type"]) {
      case "message":
        parts("content").forEach((p, i) => {
          if (!isObject(p)) return;
          if (p["type"] === "output_text") rest(part(id, "c", i), p["text"], "content");
          else if (p["type"] === "refusal") rest(part(id, "f", i), p["refusal"], "refusal");
        });
        return;
      case "reasoning":
        parts("summary").forEach((p, i) => isObject(p) && rest(part(id, "s", i), p["text"], "reasoning_content"));
        parts("content").forEach((p, i) => isObject(p) && rest(part(id, "r", i), p["text"], "reasoning_content"));
        return;
      case "function_call": {
        const call = announce(item);
        const args = str(item["arguments"]);
        if (args.length > call.sent) {
          out.choice({ tool_calls: [{ index: call.index, function: { arguments: args.slice(call.sent) } }] });
          call.sent = args.length;
        }
        return;
      }
    }
  }

  function terminal(response: unknown, type: string): void {
    start(response);
    const r: Rec = isObject(response) ? response : {};
    // Items whose events never came (a server that sends only the final response) are sent now.
    if (Array.isArray(r["output"])) for (const item of r["output"]) complete(item);
    const reason: ChatFinishReasonOut = finishReasonOf(type, r["incomplete_details"], callCount > 0);
    out.choice({}, reason);
    if (options.includeUsage) out.usage(chatUsage(r["usage"]) ?? chatUsage({})!);
    out.done();
    ended = true;
    options.onEnd?.(response);
  }

  function fail(error: ErrorInput): void {
    if (ended) return;
    start();
    const message = options.redact ? options.redact(error.message) : error.message;
    out.error({ message, type: error.type ?? "server_error", param: error.param ?? null, code: error.code ?? "server_error" });
    ended = true;
  }

  function failed(response: unknown): void {
    start(response);
    const err = isObject(response) && isObject(response["error"]) ? response["error"] : {};
    const code = typeof err["code"] === "string" && err["code"] !== "" ? err["code"] : "server_error";
    fail({ message: str(err["message"]) || "The upstream response failed.", type: errorTypeFor(code), code });
  }

  /** `error` events: OpenAI's flat `{code, message, param}` or Open Responses' nested `error`. */
  function errorEvent(e: Rec): void {
    const src: Rec = isObject(e["error"]) ? e["error"] : e;
    const code = typeof src["code"] === "string" && src["code"] !== "" ? src["code"] : typeof e["code"] === "string" ? e["code"] : "server_error";
    const type = typeof src["type"] === "string" && src["type"] !== "error" ? src["type"] : errorTypeFor(code);
    fail({ message: str(src["message"]) || str(e["message"]) || "The upstream reported an error.", type, code, param: typeof src["param"] === "string" ? src["param"] : null });
  }

  function push(event: ResponsesEventLike): void {
    if (ended) return;
    if (!isObject(event)) return fail({ message: `Upstream sent an event that is not an object: ${String(event).slice(0, 200)}`, type: "server_error", code: "server_error" });
    const e = event as Rec;
    switch (e["type"]) {
      case "response.output_text.delta":
        return text("content", e, "c", e["logprobs"]);
      case "response.reasoning_summary_text.delta":
        return reasoning(e, "s", e["summary_index"]);
      case "response.function_call_arguments.delta":
        return argumentsDelta(e);
      case "response.refusal.delta":
        return text("refusal", e, "f");
      case "response.reasoning_text.delta":
        return reasoning(e, "r", e["content_index"]);
      case "response.created":
      case "response.queued":
      case "response.in_progress":
        return start(e["response"]);
      case "response.output_item.added":
        start();
        if (isObject(e["item"]) && e["item"]["type"] === "function_call") announce(e["item"]);
        return;
      case "response.output_item.done":
        start();
        return complete(e["item"]);
      case "response.output_text.annotation.added": {
        start();
        const a = chatUrlCitation(e["annotation"]);
        if (a) out.choice({ annotations: [a] });
        return;
      }
      case "response.completed":
      case "response.incomplete":
        return terminal(e["response"], e["type"]);
      case "response.failed":
        return failed(e["response"]);
      case "error":
        return errorEvent(e);
      default:
        // Part and `done` events carry nothing a chat client reads (items are completed at `output_item.done`).
        return start();
    }
  }

  return {
    out,
    push,
    finish() {
      if (ended) return;
      fail({ message: "Upstream stream ended before the response did (no response.completed, response.incomplete or response.failed); the answer is incomplete.", type: "server_error", code: "server_error" });
    },
    fail,
    get ended() {
      return ended;
    },
  };
}

/** The object-level converter (see `ResponsesToChatConverter`). */
export function createResponsesToChatConverter(options: ResponsesToChatOptions = {}): ResponsesToChatConverter {
  const core = createReverseCore(options, false);
  const run = (step: () => void): ChatFrame[] => {
    step();
    return core.out.takeFrames();
  };
  return {
    push: (event) => run(() => core.push(event)),
    finish: () => run(core.finish),
    fail: (error) => run(() => core.fail(error)),
    get ended() {
      return core.ended;
    },
  };
}
