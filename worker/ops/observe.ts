// Internal: what a request passed through unchanged tells the operator side (the id it created, the tokens it cost), read as its answer goes by.
import { logTokenCount } from "./log.ts";
import { rememberCreated } from "./ownership.ts";
import type { RequestOps } from "./request.ts";

/** What to read from a forwarded answer. */
export interface Watch {
  /** The answer is a new response or conversation: its id is remembered with the key (ownership.ts). */
  creates: boolean;
  /** Whose usage shape it carries: a Responses answer's (`input_tokens`…), a chat completion's (`prompt_tokens`…), or none to count. */
  usage: "responses" | "chat" | null;
  /** The bridge asked a chat stream for `include_usage` the client did not: its usage-only chunk is counted, not forwarded. */
  hideUsageChunk?: boolean;
}

type Usage = Record<string, unknown> & { input_tokens?: number; output_tokens?: number; prompt_tokens?: number; completion_tokens?: number };
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const detail = (u: Usage, field: string, key: string) => num((u[field] as Record<string, unknown> | null | undefined)?.[key]);

/** A usage object of either API into the key's usage, once per request (a passed-through answer's, or a relayed socket frame's). */
export function count(ops: RequestOps, shape: "responses" | "chat", u: unknown, responseId: string | null, status?: "completed" | "incomplete" | "failed"): void {
  if (typeof u !== "object" || u === null) return;
  const usage = u as Usage;
  if (shape === "responses") {
    logTokenCount(ops, num(usage.input_tokens), num(usage.output_tokens), { cached: detail(usage, "input_tokens_details", "cached_tokens"), reasoning: detail(usage, "output_tokens_details", "reasoning_tokens"), responseId, ...(status ? { status } : {}) });
  } else {
    logTokenCount(ops, num(usage.prompt_tokens), num(usage.completion_tokens), { cached: detail(usage, "prompt_tokens_details", "cached_tokens"), reasoning: detail(usage, "completion_tokens_details", "reasoning_tokens"), responseId });
  }
}

/** A whole JSON answer (a Response, a conversation, a chat completion): its id remembered (awaited), its usage counted. */
export async function observeJson(text: string, ops: RequestOps, watch: Watch): Promise<void> {
  let body: { id?: unknown; usage?: unknown } | null;
  try {
    body = JSON.parse(text) as { id?: unknown; usage?: unknown } | null;
  } catch {
    return; // Not JSON: nothing was created, nothing to count.
  }
  const id = typeof body?.id === "string" ? body.id : null;
  if (watch.creates && id) await rememberCreated(ops, id);
  if (watch.usage && body?.usage) count(ops, watch.usage, body.usage, id);
}

/** A chat chunk's usage object, with any JSON spacing (`"usage": {` from Python servers); `"usage":null`, as OpenAI sends on every other chunk with include_usage, is none. */
const CHAT_USAGE = /"usage"\s*:\s*\{/;
/** Where a Responses event that matters may be (its `event:` name or its data's `type`); a false hit costs one parse, nothing more. */
const RESPONSES_MARK = /response\.(?:created|completed|incomplete|failed)/;
const TERMINAL = /^response\.(completed|incomplete|failed)$/;
/** An SSE event's end: a blank line, in any of the line endings SSE allows. */
const EVENT_END = /\r\n\r\n|\n\n|\r\r/;
const AFTER_EVENT_END = /(?<=\r\n\r\n|\n\n|\r\r)/;

/** Where the last complete event in `text` ends (after its blank line); -1 for none. */
function lastEventEnd(text: string): number {
  // The common case first: a chunk that ends with its event (most upstreams flush one event per write).
  if (text.endsWith("\n\n") || text.endsWith("\r\r") || text.endsWith("\r\n\r\n")) return text.length;
  const lf = text.lastIndexOf("\n\n");
  const crlf = text.lastIndexOf("\r\n\r\n");
  const cr = text.lastIndexOf("\r\r");
  return Math.max(lf < 0 ? -1 : lf + 2, crlf < 0 ? -1 : crlf + 4, cr < 0 ? -1 : cr + 2);
}

/**
 * An SSE byte stream cut into complete events as cheaply as it can be: each chunk decoded once, and only
 * the text it completes handed back (the event still arriving is kept for the next chunk). Only the new
 * text (and the 3 characters before it) is searched for the end of an event, so a long event arriving in
 * many chunks costs no more than its length. The caller searches the completed text once for what it
 * wants: each byte is searched once, and the events without it are never split into lines or parsed.
 */
function sseText() {
  const decoder = new TextDecoder();
  /** The event still arriving (it holds no complete event), and its last 3 characters. */
  let carry = "";
  let last3 = "";
  return {
    /** The events this chunk completes, as text ("" when it completes none). */
    feed(chunk: Uint8Array): string {
      const fresh = decoder.decode(chunk, { stream: true });
      const probe = last3 + fresh;
      const end = lastEventEnd(probe);
      if (end < 0) {
        carry += fresh;
        last3 = probe.slice(-3);
        return "";
      }
      const text = carry + fresh;
      const cut = text.length - probe.length + end;
      carry = text.slice(cut);
      last3 = carry.slice(-3);
      return text.slice(0, cut);
    },
    /** Whether part of an event is held (only the hiding chat stream holds bytes back). */
    held: () => carry !== "",
    /** What was left when the stream ended (an event without its blank line). */
    end(): string {
      const rest = carry + decoder.decode();
      carry = last3 = "";
      return rest;
    },
  };
}

/** An event's name (undefined without an `event:` line) and its data (its `data:` lines joined, as SSE joins them). */
function fields(event: string): { name: string | undefined; data: string } {
  let name: string | undefined;
  const data: string[] = [];
  for (const line of event.split(/\r\n|\n|\r/)) {
    if (line.startsWith("data:")) data.push(line.slice(line[5] === " " ? 6 : 5));
    else if (line.startsWith("event:")) name = line.slice(line[6] === " " ? 7 : 6);
  }
  return { name, data: data.join("\n") };
}

/** The events of `text` that match `mark`. */
function marked(text: string, mark: RegExp): string[] {
  return mark.test(text) ? text.split(EVENT_END).filter((e) => mark.test(e)) : [];
}

/** The `type` of a Responses event, from its `event:` name or (servers that send none) the head of its data. */
function typeOf(name: string | undefined, data: string): string | null {
  if (name) return name;
  const m = /^\{\s*"type"\s*:\s*"([^"]+)"/.exec(data.slice(0, 80));
  return m ? m[1]! : null;
}

/**
 * A streamed answer, forwarded chunk by chunk as it arrives, its bytes unchanged (nothing is held back but
 * the one chunk that completes `response.created`, until its id is remembered: the client can continue from
 * it at once). No general SSE parser runs on the way: a Responses stream costs one decode and one
 * regular-expression search per chunk, and only `response.created` and the terminal event are split into
 * lines and parsed (after both, the rest passes untouched); a chat stream is not even decoded, its usage read
 * from its last bytes when it ends (`chatUsage`).
 */
export function observeStream(body: ReadableStream<Uint8Array>, ops: RequestOps, watch: Watch): ReadableStream<Uint8Array> {
  if (watch.usage === "chat") return watch.hideUsageChunk ? withoutUsageChunk(body, ops) : chatUsage(body, ops);
  const sse = sseText();
  let created = !watch.creates;
  let counted = !watch.usage;
  const see = async (event: string) => {
    const { name, data } = fields(event);
    const type = typeOf(name, data);
    const isCreated = !created && type === "response.created";
    const terminal = !counted && type !== null && TERMINAL.test(type);
    if (!isCreated && !terminal) return;
    let parsed: { response?: { id?: unknown; usage?: unknown; status?: "completed" | "incomplete" | "failed" } };
    try {
      parsed = JSON.parse(data) as typeof parsed;
    } catch {
      return; // An event that is not JSON is the client's to see, not ours to count.
    }
    const id = typeof parsed.response?.id === "string" ? parsed.response.id : null;
    if (isCreated && id) (created = true), await rememberCreated(ops, id);
    if (terminal) (counted = true), count(ops, "responses", parsed.response?.usage, id, parsed.response?.status);
  };
  const scan = async (text: string) => {
    for (const event of marked(text, RESPONSES_MARK)) await see(event);
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        if (!created || !counted) await scan(sse.feed(chunk));
        controller.enqueue(chunk);
      },
      async flush() {
        if (!created || !counted) await scan(sse.end());
      },
    }),
  );
}

/** A chat chunk's usage (null without one), and whether the chunk is usage only (`choices: []`). Not JSON: the client's to see. */
function chatChunk(data: string): { id: string | null; usage: object; usageOnly: boolean } | null {
  try {
    const chunk = JSON.parse(data) as { id?: unknown; choices?: unknown; usage?: unknown };
    if (typeof chunk.usage !== "object" || chunk.usage === null) return null;
    return { id: typeof chunk.id === "string" ? chunk.id : null, usage: chunk.usage, usageOnly: Array.isArray(chunk.choices) && chunk.choices.length === 0 };
  } catch {
    return null;
  }
}

/** How much of a chat stream's end is kept to find its usage in: many times a usage chunk (~300 bytes), room for a last content chunk that carries usage and long logprobs. */
const TAIL_BYTES = 64 * 1024;

/**
 * The last `TAIL_BYTES` of a byte stream, copied into one ring as the chunks go by (a chunk handed on
 * belongs to its reader, which may transfer or reuse its buffer, so none is kept): one copy per chunk,
 * no allocation after the first.
 */
function byteTail() {
  let ring: Uint8Array | null = null;
  let total = 0;
  return {
    push(chunk: Uint8Array): void {
      ring ??= new Uint8Array(TAIL_BYTES);
      const part = chunk.length > TAIL_BYTES ? chunk.subarray(chunk.length - TAIL_BYTES) : chunk;
      total += chunk.length - part.length;
      const at = total % TAIL_BYTES;
      total += part.length;
      // Most chunks fit before the ring's end: one copy, no view made.
      if (at + part.length <= TAIL_BYTES) return ring.set(part, at);
      const first = TAIL_BYTES - at;
      ring.set(part.subarray(0, first), at);
      ring.set(part.subarray(first), 0);
    },
    text(): string {
      if (!ring) return "";
      if (total <= TAIL_BYTES) return new TextDecoder().decode(ring.subarray(0, total));
      const at = total % TAIL_BYTES;
      const ordered = new Uint8Array(TAIL_BYTES);
      ordered.set(ring.subarray(at));
      ordered.set(ring.subarray(0, at), TAIL_BYTES - at);
      return new TextDecoder().decode(ordered);
    },
  };
}

/**
 * A chat stream whose client asked for usage itself: its bytes forwarded unchanged and not even decoded on
 * the way; when it ends, the last usage in its tail is counted (the usage chunk comes last, after the
 * choices; a server that repeats a running usage on every chunk ends with its total).
 */
function chatUsage(body: ReadableStream<Uint8Array>, ops: RequestOps): ReadableStream<Uint8Array> {
  const tail = byteTail();
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        controller.enqueue(chunk);
        tail.push(chunk);
      },
      flush() {
        const events = marked(tail.text(), CHAT_USAGE);
        for (let i = events.length - 1; i >= 0; i--) {
          const chunk = chatChunk(fields(events[i]!).data);
          if (chunk) return count(ops, "chat", chunk.usage, chunk.id);
        }
      },
    }),
  );
}

/**
 * A chat stream the bridge asked for usage on the client's behalf: forwarded as its events complete (only
 * the one event still arriving is held, never the stream; a chunk of whole events goes as its own bytes),
 * but for the usage-only chunk, which the client did not ask for: left out. The last usage seen is counted
 * when the stream ends (a usage on a chunk that also has choices, as some servers send, is kept).
 */
function withoutUsageChunk(body: ReadableStream<Uint8Array>, ops: RequestOps): ReadableStream<Uint8Array> {
  const sse = sseText();
  const encoder = new TextEncoder();
  let last: { id: string | null; usage: object } | null = null;
  /** `text` without the usage-only event; the latest usage noted. */
  const strip = (text: string): string => {
    if (!CHAT_USAGE.test(text)) return text;
    return text
      .split(AFTER_EVENT_END)
      .filter((event) => {
        const chunk = CHAT_USAGE.test(event) ? chatChunk(fields(event).data) : null;
        if (chunk) last = chunk;
        return !chunk?.usageOnly;
      })
      .join("");
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const whole = !sse.held();
        const text = sse.feed(chunk);
        const out = strip(text);
        if (out === text && whole && !sse.held()) controller.enqueue(chunk);
        else if (out) controller.enqueue(encoder.encode(out));
      },
      flush(controller) {
        const rest = strip(sse.end());
        if (rest) controller.enqueue(encoder.encode(rest));
        if (last) count(ops, "chat", last.usage, last.id);
      },
    }),
  );
}
