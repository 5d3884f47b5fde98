// Internal: what the operator side knows of one request (its id, the key, the response's timings), carried on the context.
import type { ErrorPayload } from "../../src/index.ts";
import type { Fetch } from "../upstream.ts";
import type { KeyIdentity } from "./keys.ts";
import type { KeyLedger, ResponseLine } from "./types.ts";

/** The facts of one response as it runs; read once when it ends, for its log line. */
export interface Trace {
  /** When the request (or the WebSocket frame) arrived. */
  start: number;
  /** When the first batch of events was ready (the upstream's first streamed bytes); 0 before, or for a JSON answer. */
  firstAt: number;
  /** Requests sent upstream for this response (retries and fallbacks included). */
  attempts: number;
  transport: "sse" | "json" | "websocket" | null;
  endpoint: ResponseLine["endpoint"];
  /** The model as requested, once known. */
  model: string | null;
  /** The route actually used (after fallbacks), once an upstream answered. */
  upstream: { model: string; baseUrl: string } | null;
  /** Already counted against the key's requests per minute (a reasoning retry or a fallback is the same request). */
  admitted: boolean;
  /** A response writes one line, however it ends. */
  logged: boolean;
  /** Request fields left out for this upstream (it refused them, or MODEL_MAP omits them). */
  dropped: string[];
}

/** The operator side of a request: on the context as `ops` (absent where the host does none of it). */
export interface RequestOps {
  requestId: string;
  /** The presented key, when the bridge has PROXY_API_KEYS; null otherwise. */
  key: KeyIdentity | null;
  /** The key's counters (a Durable Object); null without a named key or without the binding. */
  ledger: KeyLedger | null;
  trace: Trace;
  /** Where each line goes besides the log (Analytics Engine), if anywhere. */
  sink?: ((line: ResponseLine) => void) | undefined;
  waitUntil(promise: Promise<unknown>): void;
}

export function newTrace(endpoint: Trace["endpoint"], transport: Trace["transport"] = null): Trace {
  return { start: Date.now(), firstAt: 0, attempts: 0, transport, endpoint, model: null, upstream: null, admitted: false, logged: false, dropped: [] };
}

/** A client's own id is kept when it is a sane header value; else `req_` and 32 hex digits. */
export function requestIdOf(headers: Headers): string {
  const own = headers.get("x-request-id") ?? headers.get("x-client-request-id");
  if (own && own.length <= 200 && /^[\x21-\x7e]+$/.test(own)) return own;
  return newRequestId();
}

function newRequestId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let s = "req_";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** A WebSocket frame is a request of its own: its own id, its own trace, the connection's key. */
export function nextTurn(ops: RequestOps): RequestOps {
  return { ...ops, requestId: newRequestId(), trace: newTrace("responses", "websocket") };
}

/** The upstream fetch of this request: counts attempts and sends the request id along. One closure per upstream call, nothing per token. */
export function tracedFetch(fetchUpstream: Fetch, ops: RequestOps | undefined): Fetch {
  if (!ops) return fetchUpstream;
  return (input, init) => {
    ops.trace.attempts++;
    const headers = new Headers(init?.headers);
    headers.set("x-request-id", ops.requestId);
    return fetchUpstream(input, { ...init, headers });
  };
}

/** An error body's payload with the request's id in it (`{"error": {…, "request_id": "req_…"}}`). */
export function withRequestId<T extends ErrorPayload | { message: string; type: string }>(payload: T, requestId: string): T & { request_id: string } {
  return { ...payload, request_id: requestId };
}
