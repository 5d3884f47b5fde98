import type { ChatCompletionChunk, ChatDelta, ChatExtraContent, ChatLogprob, ChatReasoningDetail, ChatTopLogprob, ChatUrlCitation } from "../types/chat.ts";
import { type ErrorPayload, normalizeUpstreamError } from "../errors.ts";
import { createIdGenerator, type IdGenerator } from "../ids.ts";
import { convertUsage, createEnvelope } from "./envelope.ts";
import type { ItemStatus, Logprob, OutputItem, ResponseResource, ResponseStreamEvent, ResponsesRequest, TopLogprob } from "../types/responses.ts";
import { markReasoningId, type ReasoningField, upstreamTag } from "./reasoning-origin.ts";
import { ThinkTagSplitter, type ThinkSegment } from "./think-tags.ts";
import { keepCallState, mergeDetail, type ProviderState, stateFor } from "./provider-state.ts";
import { isObject } from "../internal/is-object.ts";
import { Emitter } from "./emitter.ts";
import { MessageWriter } from "./message.ts";
import { createObfuscator, type ObfuscationOption } from "./obfuscation.ts";
import { ReasoningWriter } from "./reasoning.ts";
import { ToolCalls, type ToolRouting } from "./tool-calls.ts";

export interface ConvertOptions {
  /** The Responses request that started this turn; echoed into the envelope. */
  request?: ResponsesRequest;
  /**
   * How upstream reasoning reaches the client. `"summary"` (default) streams it
   * as reasoning summary events, which Codex, the `openai` SDK and the Vercel
   * AI SDK all display; `"raw"` as `reasoning_text` content.
   */
  reasoning?: "summary" | "raw";
  /** Move a leading `<think>…</think>` out of content into reasoning. */
  thinkTags?: boolean;
  /** Send refusals as `output_text` (Codex cannot parse a `refusal` part). */
  refusalAsText?: boolean;
  /** Maps upstream function names back to namespace and custom tools. */
  tools?: ToolRouting;
  /**
   * Names the upstream (any string; the Worker uses base URL and model; default: the requested model).
   * Hashed into reasoning item ids with the field the reasoning came in, so that
   * `toChatRequest` given the same `upstream` sends it back there and nowhere else.
   */
  upstream?: string;
  ids?: IdGenerator;
  /** Applied to every error message before it is sent (the Worker strips its upstream key). */
  redact?: (text: string) => string;
  /** Unix seconds; used when the upstream gives no `created`, and for `completed_at`. */
  now?: () => number;
  /**
   * The response's `created_at` (Unix seconds), whatever the upstream's chunks say: a background
   * response was created, and answered `queued` with this time, before its upstream call.
   */
  createdAt?: number;
  /**
   * Random-length `obfuscation` padding on delta events, as OpenAI sends it (default `true`;
   * the request's `stream_options.include_obfuscation: false` turns it off). `{seed}` makes
   * the padding deterministic, for tests.
   */
  obfuscation?: ObfuscationOption;
  /**
   * Called once with the final Response object, however it ends: `completed`, `incomplete`,
   * `failed` (upstream error, reset, idle timeout) or `cancelled` (the consumer went away;
   * open items `incomplete`, `error` null). Where a host stores it. The pull shells call it
   * after the last batch is serialized, so `beforeFlush` amendments are included.
   */
  onEnd?: (response: ResponseResource) => void;
  /**
   * Items the response's output starts with, done before the upstream's first (added and done
   * right after `response.in_progress`; the upstream's items follow from the next `output_index`):
   * the Worker's `compaction` item when it compacted the input first (`context_management`).
   */
  leadingOutput?: readonly OutputItem[];
}

type ErrorInput = Partial<ErrorPayload> & { message: string };

/**
 * The pure heart: one parsed chat chunk in, the Responses events it implies
 * out. No streams, no I/O, no timers.
 */
export interface ChatToResponsesConverter {
  /** One upstream chunk. */
  push(chunk: ChatCompletionChunk): ResponseStreamEvent[];
  /** The upstream ended cleanly (`data: [DONE]`, or an SDK stream that closed). */
  done(): ResponseStreamEvent[];
  /**
   * The input ended. After a `finish_reason` that is a normal end; with none,
   * the stream was cut and the response fails rather than pretend to complete.
   */
  finish(): ResponseStreamEvent[];
  /** Fail the response: open items close `incomplete`, then `error` and `response.failed`. */
  fail(error: ErrorInput): ResponseStreamEvent[];
  /** True once a terminal event was emitted; later input is ignored. */
  readonly ended: boolean;
  /** The response as it stands. */
  readonly response: ResponseResource;
}

/**
 * The converter as the stream shells drive it: the same state machine, its
 * events left in `out` (a reused batch) instead of returned as arrays.
 */
export interface ConverterCore {
  readonly out: Emitter;
  push(chunk: ChatCompletionChunk): void;
  done(): void;
  finish(): void;
  fail(error: ErrorInput): void;
  /**
   * The consumer went away: open items close `incomplete` and the response
   * becomes `cancelled`, with no events (nobody is reading them).
   */
  cancel(): void;
  readonly ended: boolean;
  readonly response: ResponseResource;
}

/** Whether delta events carry `obfuscation`: on unless the options or the request turn it off. */
function obfuscatorFor(options: ConvertOptions) {
  const opt = options.obfuscation ?? true;
  const so = options.request?.["stream_options"] as { include_obfuscation?: unknown } | null | undefined;
  if (opt === false || so?.include_obfuscation === false) return null;
  return createObfuscator(typeof opt === "object" ? opt.seed : undefined);
}

/** `wire`: delta events are written as JSON text at once (see `Emitter`); otherwise all events are objects. */
export function createConverterCore(options: ConvertOptions = {}, wire = true): ConverterCore {
  const ids = options.ids ?? createIdGenerator();
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const rawReasoning = options.reasoning === "raw";
  const think = options.thinkTags ? new ThinkTagSplitter() : null;
  const segments: ThinkSegment[] = [];
  const upstream = upstreamTag(options.upstream ?? (typeof options.request?.model === "string" ? options.request.model : ""));
  const out = new Emitter(wire, obfuscatorFor(options));
  const calls = new ToolCalls(out, ids, options.tools, abort);

  let response: ResponseResource | null = null;
  /** Gemini state that has no item to join when it comes (a call's while another call streams, the answer's own): carried by a reasoning item at the end. */
  let trailing: ProviderState | null = null;
  let ended = false;
  let finishReason: string | null = null;

  function snapshot(r: ResponseResource): ResponseResource {
    return { ...r, output: [] };
  }

  function start(chunk?: ChatCompletionChunk): ResponseResource {
    if (response) return response;
    response = createEnvelope(
      options.request,
      ids("resp"),
      options.createdAt ?? (typeof chunk?.created === "number" ? chunk.created : now()),
      typeof chunk?.model === "string" && chunk.model !== "" ? chunk.model : undefined,
      chunk?.service_tier,
    );
    if (options.request?.background === true) {
      // A background response begins as OpenAI's does: `created` and `queued` with `status: "queued"`, then `in_progress`.
      const queued = { ...snapshot(response), status: "queued" as const };
      out.event({ type: "response.created", response: queued });
      out.event({ type: "response.queued", response: { ...queued } });
    } else out.event({ type: "response.created", response: snapshot(response) });
    out.event({ type: "response.in_progress", response: snapshot(response) });
    for (const item of options.leadingOutput ?? []) {
      const index = out.output.length;
      out.event({ type: "response.output_item.added", output_index: index, item });
      out.finishItem(index, item);
    }
    return response;
  }

  // ---- content routing: each kind to its item, opening a new one when the kind changes ----

  function reasoningWriter(field: ReasoningField): ReasoningWriter {
    return out.open instanceof ReasoningWriter ? out.open : new ReasoningWriter(out, markReasoningId(ids("rs"), { field, upstream }), rawReasoning);
  }

  function reasoning(text: string, field: ReasoningField): void {
    if (text) reasoningWriter(field).append(text);
  }

  // ---- provider state (see provider-state.ts): kept beside the turn's reasoning item, never on it ----

  /** The open reasoning item's state, for its `reasoning_details` (looked up once per item, not per delta). */
  let details: { writer: ReasoningWriter; state: ProviderState } | null = null;

  /**
   * OpenRouter's entries join the open reasoning item (one opened for them at the start of an answer, with no
   * text when they carry none, as encrypted ones). Entries that come once the answer's text or calls have begun
   * (OpenRouter's Gemini signatures ride with the calls) belong to that answer: a reasoning item at the end carries them.
   */
  function keepDetails(list: readonly ChatReasoningDetail[], field: ReasoningField): void {
    for (const d of list) {
      if (!isObject(d)) continue;
      if (out.open !== null && !(out.open instanceof ReasoningWriter)) {
        mergeDetail(after(), d);
        continue;
      }
      const writer = reasoningWriter(field);
      if (details?.writer !== writer) details = { writer, state: stateFor(writer.item, upstream) };
      mergeDetail(details.state, d);
    }
  }

  /** The state a reasoning item at the end carries for the answer before it. */
  function after(): ProviderState {
    const t = (trailing ??= { upstream });
    t.after = true;
    return t;
  }

  /**
   * Gemini's signature on a call: kept by the open reasoning item, or by one opened for it before the call (it
   * closes when the call opens); while another call's arguments still stream, by a reasoning item at the end.
   */
  function keepCall(callId: string, extra: ChatExtraContent): void {
    if (!(out.open instanceof ReasoningWriter) && calls.midCall) return keepCallState((trailing ??= { upstream }), callId, extra);
    keepCallState(stateFor(reasoningWriter("reasoning_details").item, upstream), callId, extra);
  }

  function closeTrailing(status: ItemStatus): void {
    if (!trailing) return;
    Object.assign(stateFor(reasoningWriter("reasoning_details").item, upstream), trailing);
    trailing = null;
    out.closeOpen(status);
  }

  function message(): MessageWriter {
    return out.open instanceof MessageWriter ? out.open : new MessageWriter(out, ids("msg"));
  }

  function text(t: string, logprobs: Logprob[] | null): void {
    if (!t && !(logprobs && logprobs.length && out.open instanceof MessageWriter && out.open.inText)) return;
    message().appendText(t, logprobs);
  }

  function refusal(t: string): void {
    if (!t) return;
    if (options.refusalAsText) return text(t, null);
    message().appendRefusal(t);
  }

  function annotate(list: ChatUrlCitation[]): void {
    for (const a of list) {
      if (!a || a.type !== "url_citation" || !a.url_citation) continue;
      const c = a.url_citation;
      message().annotate({
        type: "url_citation",
        url: String(c.url ?? ""),
        title: String(c.title ?? ""),
        start_index: typeof c.start_index === "number" ? c.start_index : 0,
        end_index: typeof c.end_index === "number" ? c.end_index : 0,
      });
    }
  }

  function onDelta(delta: ChatDelta, logprobs: Logprob[] | null): void {
    const entries = delta.reasoning_details;
    if (typeof delta.reasoning_content === "string") reasoning(delta.reasoning_content, "reasoning_content");
    else if (typeof delta.reasoning === "string") reasoning(delta.reasoning, "reasoning");
    // OpenRouter sends `reasoning` and `reasoning_details` together; the details' text only counts alone.
    else if (Array.isArray(entries)) {
      for (const d of entries) {
        if (d?.type === "reasoning.text" && typeof d.text === "string") reasoning(d.text, "reasoning_details");
        else if (d?.type === "reasoning.summary" && typeof d.summary === "string") reasoning(d.summary, "reasoning_details");
      }
    }
    if (Array.isArray(entries) && entries.length) keepDetails(entries, typeof delta.reasoning === "string" ? "reasoning" : "reasoning_details");
    if (typeof delta.content === "string") {
      if (think) {
        segments.length = 0;
        think.feed(delta.content, segments);
        routeSegments(logprobs);
      } else text(delta.content, logprobs);
    } else if (logprobs) text("", logprobs);
    if (typeof delta.refusal === "string") refusal(delta.refusal);
    if (Array.isArray(delta.annotations)) annotate(delta.annotations);
    // Gemini signs a text answer on a last chunk: the item that carries it follows the message it belongs to.
    if (isObject(delta.extra_content)) after().message = delta.extra_content;
    if (Array.isArray(delta.tool_calls)) {
      for (const tc of delta.tool_calls) {
        if (ended) return;
        if (!tc) continue;
        if (isObject(tc.extra_content) && typeof tc.id === "string" && tc.id) keepCall(tc.id, tc.extra_content);
        calls.push(tc);
      }
    }
  }

  function routeSegments(logprobs: Logprob[] | null): void {
    let lp = logprobs;
    for (const s of segments) {
      if (s.reasoning) reasoning(s.text, "think");
      else {
        text(s.text, lp);
        lp = null;
      }
    }
  }

  function flushThink(): void {
    if (!think) return;
    segments.length = 0;
    think.flush(segments);
    routeSegments(null);
  }

  /** Closes the open item and releases every held call, in order. */
  function closeAll(status: ItemStatus): void {
    out.closeOpen(status);
    calls.releaseAll(status);
    closeTrailing(status);
  }

  // ---- endings ----

  function terminal(type: "response.completed" | "response.incomplete" | "response.failed"): void {
    const r = response!;
    r.output = out.output;
    if (type === "response.completed") {
      r.status = "completed";
      r.completed_at = now();
    } else if (type === "response.incomplete") r.status = "incomplete";
    else r.status = "failed";
    ended = true;
    out.event({ type, response: r });
    options.onEnd?.(r);
  }

  function abort(error: ErrorInput): void {
    if (ended) return;
    start();
    flushThink();
    closeAll("incomplete");
    const code = error.code ?? "server_error";
    const type = error.type ?? "server_error";
    const param = error.param ?? null;
    const message = options.redact ? options.redact(error.message) : error.message;
    out.event({ type: "error", code, message, param, error: { type, code, message, param } });
    response!.error = { code, message };
    terminal("response.failed");
  }

  function push(chunk: ChatCompletionChunk): void {
    if (ended) return;
    if (typeof chunk !== "object" || chunk === null) {
      return abort({ code: "server_error", type: "upstream_protocol_error", message: `Upstream sent a chunk that is not an object: ${String(chunk).slice(0, 200)}` });
    }
    start(chunk);
    if (chunk.error) return abort(normalizeUpstreamError({ error: chunk.error }));
    const usage = chunk.usage ?? chunk.x_groq?.usage;
    if (usage && typeof usage === "object") response!.usage = convertUsage(usage);
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return;
    // Only the first choice becomes the response; `n > 1` has no Responses equivalent.
    const choice = choices.length === 1 && choices[0]?.index === 0 ? choices[0] : choices.find((c) => (c?.index ?? 0) === 0);
    if (!choice) return;
    if (choice.delta && typeof choice.delta === "object") onDelta(choice.delta, convertLogprobs(choice.logprobs?.content));
    if (ended || !choice.finish_reason) return;
    finishReason = choice.finish_reason;
    flushThink();
    if (finishReason === "error") return abort({ code: "server_error", type: "server_error", message: 'Upstream ended the generation with finish_reason "error".' });
    const truncated = finishReason === "length" || finishReason === "content_filter";
    closeAll(truncated ? "incomplete" : "completed");
  }

  function done(): void {
    if (ended) return;
    start();
    flushThink();
    const reason = finishReason;
    if (reason === "length" || reason === "content_filter") {
      closeAll("incomplete");
      response!.incomplete_details = { reason: reason === "length" ? "max_output_tokens" : "content_filter" };
      terminal("response.incomplete");
    } else {
      closeAll("completed");
      terminal("response.completed");
    }
  }

  function finish(): void {
    if (ended) return;
    if (finishReason !== null) return done();
    abort({ code: "server_error", type: "server_error", message: "Upstream stream ended before a finish_reason or [DONE]; the response is incomplete." });
  }

  function cancel(): void {
    if (ended) return;
    start();
    closeAll("incomplete");
    out.clear();
    const r = response!;
    r.output = out.output;
    r.status = "cancelled";
    ended = true;
    options.onEnd?.(r);
  }

  return {
    out,
    push,
    done,
    finish,
    fail: abort,
    cancel,
    get ended() {
      return ended;
    },
    get response() {
      return response ?? start();
    },
  };
}

/** The object-level converter (see `ChatToResponsesConverter`). */
export function createChatToResponsesConverter(options: ConvertOptions = {}): ChatToResponsesConverter {
  const core = createConverterCore(options, false);
  const run = (step: () => void): ResponseStreamEvent[] => {
    step();
    return core.out.takeObjects();
  };
  return {
    push: (chunk) => run(() => core.push(chunk)),
    done: () => run(core.done),
    finish: () => run(core.finish),
    fail: (error) => run(() => core.fail(error)),
    get ended() {
      return core.ended;
    },
    get response() {
      return core.response;
    },
  };
}

function convertTop(t: ChatTopLogprob): TopLogprob {
  return { token: t.token, logprob: t.logprob, bytes: Array.isArray(t.bytes) ? t.bytes : [] };
}

/** Chat logprobs → Responses logprobs (`bytes: null` becomes `[]`, the Responses type has no null). */
function convertLogprobs(list: ChatLogprob[] | null | undefined): Logprob[] | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.map((l) => ({ ...convertTop(l), top_logprobs: Array.isArray(l.top_logprobs) ? l.top_logprobs.map(convertTop) : [] }));
}
