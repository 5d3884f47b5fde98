// Internal: what a request passed through unchanged tells the operator side (the id it created, the tokens it cost), read as its answer goes by.
import { createParser, type EventSourceMessage } from "eventsource-parser";
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

/** A usage object of either API into the key's usage, once per request. */
function count(ops: RequestOps, shape: "responses" | "chat", u: unknown, responseId: string | null, status?: "completed" | "incomplete" | "failed"): void {
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

const TERMINAL = /^response\.(completed|incomplete|failed)$/;
/** The `type` of a Responses event, from its `event:` name or (servers that send none) the head of its data. */
function typeOf(msg: EventSourceMessage): string | null {
  if (msg.event) return msg.event;
  const m = /^\{\s*"type"\s*:\s*"([^"]+)"/.exec(msg.data.slice(0, 80));
  return m ? m[1]! : null;
}

/**
 * A streamed answer, forwarded chunk by chunk as it arrives (nothing is held back but the one chunk that
 * carries `response.created`, until its id is remembered: the client can continue from it at once). Only
 * the events that matter are parsed: `response.created` and the terminal event (Responses), the chunk
 * with `usage` (chat; each other chunk costs one substring test).
 */
export function observeStream(body: ReadableStream<Uint8Array>, ops: RequestOps, watch: Watch): ReadableStream<Uint8Array> {
  if (watch.hideUsageChunk) return withoutUsageChunk(body, ops);
  const decoder = new TextDecoder();
  let pending: Promise<void> | null = null;
  let created = false;
  let counted = false;
  const onEvent = (msg: EventSourceMessage) => {
    if (counted || msg.data === "[DONE]") return;
    if (watch.usage === "chat") {
      if (!msg.data.includes('"usage":{')) return;
      const chunk = JSON.parse(msg.data) as { id?: string; usage?: unknown };
      if (chunk.usage) (counted = true), count(ops, "chat", chunk.usage, chunk.id ?? null);
      return;
    }
    const type = typeOf(msg);
    const isCreated = type === "response.created" && watch.creates && !created;
    const terminal = type !== null && TERMINAL.test(type);
    if (!isCreated && !terminal) return;
    const event = JSON.parse(msg.data) as { response?: { id?: unknown; usage?: unknown; status?: "completed" | "incomplete" | "failed" } };
    const id = typeof event.response?.id === "string" ? event.response.id : null;
    if (isCreated && id) (created = true), (pending = rememberCreated(ops, id));
    if (terminal && watch.usage) (counted = true), count(ops, "responses", event.response?.usage, id, event.response?.status);
  };
  const parser = createParser({
    onEvent: (msg) => {
      try {
        onEvent(msg);
      } catch {
        // An event that is not JSON is the client's to see, not ours to count.
      }
    },
  });
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      async transform(chunk, controller) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        if (pending) {
          const p = pending;
          pending = null;
          await p;
        }
        controller.enqueue(chunk);
      },
    }),
  );
}

/** The usage-only chunk (`choices: []`) of a chat stream: counted, then left out of what the client gets. */
function usageOnly(data: string, ops: RequestOps): boolean {
  if (!data.includes('"usage":{') || !data.includes('"choices":[]')) return false;
  try {
    const chunk = JSON.parse(data) as { id?: string; choices?: unknown[]; usage?: unknown };
    if (!Array.isArray(chunk.choices) || chunk.choices.length || !chunk.usage) return false;
    count(ops, "chat", chunk.usage, chunk.id ?? null);
    return true;
  } catch {
    return false;
  }
}

/**
 * A chat stream the bridge asked for usage on the client's behalf: forwarded event by event (only the one
 * event still arriving is held, never the stream), each as its bytes came but the usage-only chunk, which
 * the client did not ask for. A usage on a chunk that also has choices (some servers) is counted and kept.
 */
function withoutUsageChunk(body: ReadableStream<Uint8Array>, ops: RequestOps): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let carry = "";
  let counted = false;
  const pass = (event: string): boolean => {
    if (counted) return true;
    const data = event.split(/\r?\n/).find((l) => l.startsWith("data:"))?.slice(5).trim() ?? "";
    if (usageOnly(data, ops)) return !(counted = true);
    if (data.includes('"usage":{')) {
      try {
        const chunk = JSON.parse(data) as { id?: string; usage?: unknown };
        if (chunk.usage) (counted = true), count(ops, "chat", chunk.usage, chunk.id ?? null);
      } catch {
        // Not JSON: the client's to see.
      }
    }
    return true;
  };
  const drain = (text: string, controller: TransformStreamDefaultController<Uint8Array>) => {
    let out = "";
    let at = 0;
    for (const m of text.matchAll(/\r?\n\r?\n/g)) {
      const end = m.index + m[0].length;
      const event = text.slice(at, end);
      if (pass(event)) out += event;
      at = end;
    }
    carry = text.slice(at);
    if (out) controller.enqueue(encoder.encode(out));
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        drain(carry + decoder.decode(chunk, { stream: true }), controller);
      },
      flush(controller) {
        const rest = carry + decoder.decode();
        if (rest && pass(rest)) controller.enqueue(encoder.encode(rest));
      },
    }),
  );
}
