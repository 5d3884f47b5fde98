import { readUpstreamError, ResponsesError } from "../src/index.ts";
import type { BridgeConfig } from "./config.ts";
import { bodySize, counted, cutShort, howFar, REDELIVER_AFTER_MS, type Sent } from "./delivery.ts";

export type Fetch = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** Upstream headers worth passing on: rate limits and retry hints, so clients back off correctly. */
const FORWARDED_RESPONSE_HEADERS = /^(retry-after|retry-after-ms|x-ratelimit-[a-z-]+|x-request-id|openai-processing-ms)$/i;

export function forwardedHeaders(from: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  from.forEach((v, k) => {
    if (FORWARDED_RESPONSE_HEADERS.test(k)) out[k] = v;
  });
  return out;
}

/** Never let the upstream key out, even when an upstream echoes it in an error message. */
export function redact(text: string, config: BridgeConfig): string {
  const key = config.upstreamApiKey;
  let out = key && key.length >= 4 ? text.split(key).join("[redacted]") : text;
  // MODEL_MAP's own upstream keys (fallback providers), when there are any.
  for (const k of config.extraSecrets ?? []) if (k.length >= 4) out = out.split(k).join("[redacted]");
  return out;
}

/**
 * An upstream's HTTP error, in the API's shape, keeping its status and the
 * headers a client needs to back off (`Retry-After`, `x-ratelimit-*`).
 */
export class UpstreamHttpError extends ResponsesError {
  readonly headers: Record<string, string>;
  /** The provider the body names (OpenRouter's `provider_name`, Google's envelope), for the log line; null when it names none. */
  readonly provider: string | null;
  constructor(status: number, payload: ConstructorParameters<typeof ResponsesError>[1], headers: Record<string, string>, provider: string | null = null) {
    super(status, payload);
    this.headers = headers;
    this.provider = provider;
  }
}

export interface UpstreamCall {
  target: string;
  method: string;
  /** A factory for a streamed body (each attempt gets a fresh stream). */
  body: string | (() => ReadableStream<Uint8Array>) | null;
  stream: boolean;
  /** `Authorization` to send, or null. */
  auth: string | null;
  clientSignal?: AbortSignal | undefined;
  contentType?: string | null;
}

/**
 * The request to the upstream, retried within `config.retry` while nothing has
 * reached the client yet: a failed connection, a 502 or 503, a 429 whose
 * `Retry-After` is short. Once an answer is handed on it is never retried.
 */
export async function callUpstream(call: UpstreamCall, config: BridgeConfig, fetchUpstream: Fetch): Promise<Response> {
  const { attempts, maxWaitMs } = config.retry;
  for (let attempt = 0; ; attempt++) {
    // A re-send by `deliver` counts as one of the UPSTREAM_RETRIES (the first try may always make one): the two never multiply.
    const sends = { n: 0, mayResend: attempt === 0 || attempt < attempts };
    let response: Response;
    try {
      response = await deliver(call, config, fetchUpstream, sends);
    } catch (e) {
      attempt += sends.n - 1;
      // Only an unreachable upstream (502) is worth another try; a timeout already waited long enough.
      if (attempt >= attempts || !(e instanceof ResponsesError) || e.payload.code !== "upstream_unreachable" || call.clientSignal?.aborted) throw e;
      await sleep(backoff(attempt, maxWaitMs));
      continue;
    }
    attempt += sends.n - 1;
    const wait = attempt >= attempts ? null : retryDelay(response, attempt, maxWaitMs);
    if (wait === null) return response;
    await response.body?.cancel().catch(() => {});
    await sleep(wait);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function backoff(attempt: number, maxWaitMs: number): number {
  return Math.min(maxWaitMs, 250 * 2 ** attempt);
}

/** `Retry-After-Ms`, or `Retry-After` in seconds or as an HTTP date; null when absent or unreadable. */
function retryAfterMs(headers: Headers): number | null {
  const ms = Number(headers.get("retry-after-ms") ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const ra = headers.get("retry-after");
  if (!ra) return null;
  const s = Number(ra);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(ra);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** How long to wait before asking again, or null when this answer is the one to hand on. */
function retryDelay(r: Response, attempt: number, maxWaitMs: number): number | null {
  if (r.status !== 429 && r.status !== 502 && r.status !== 503) return null;
  const after = retryAfterMs(r.headers);
  // A 429 without a short Retry-After is a quota, not a blip: the client should see it.
  if (r.status === 429) return after !== null && after <= maxWaitMs ? after : null;
  if (after === null) return backoff(attempt, maxWaitMs);
  return after <= maxWaitMs ? after : null;
}

/**
 * One request, delivered: when the connection fails before the upstream answered (no response
 * headers, so no response byte reached the bridge) while the runtime had not yet read the whole
 * body stream, the upstream cannot have had the request whole, so it cannot have begun on it: it is
 * sent once more with a fresh body, after a moment in which the runtime drops the other dead
 * connections it pooled (worker/delivery.ts says why this happens). A request that may have reached
 * the upstream whole (a string body, or a stream read to its end) is not sent again here: a chat
 * completion is not idempotent, and a second one is billed twice (UPSTREAM_RETRIES opts into that).
 * A failure says how far the body got on each attempt. A timeout or the client's own hang-up is not
 * retried; once the upstream has answered, nothing is. `sends` counts the attempts made (a re-send only when `mayResend`).
 */
async function deliver(call: UpstreamCall, config: BridgeConfig, fetchUpstream: Fetch, sends: { n: number; mayResend: boolean }): Promise<Response> {
  const first: Sent = { bytes: 0, done: false };
  sends.n = 1;
  try {
    return await attemptUpstream(call, config, fetchUpstream, first);
  } catch (e) {
    if (!undelivered(e) || call.clientSignal?.aborted) throw e;
    // Not sent again here; with UPSTREAM_RETRIES set, `callUpstream` retries it (the operator's consent), else the 502 says why not.
    if (!cutShort(call.body, first)) throw config.retry.attempts === 0 ? await deliveryFailed(call, [e.cause], [first]) : e;
    if (!sends.mayResend) throw e;
    const second: Sent = { bytes: 0, done: false };
    await sleep(REDELIVER_AFTER_MS);
    if (call.clientSignal?.aborted) throw e;
    sends.n = 2;
    try {
      return await attemptUpstream(call, config, fetchUpstream, second);
    } catch (again) {
      if (!undelivered(again) || call.clientSignal?.aborted) throw again;
      throw await deliveryFailed(call, [e.cause, again.cause], [first, second]);
    }
  }
}

/** A connection that failed before any answer (502 `upstream_unreachable`, thrown by `attemptUpstream`). */
function undelivered(e: unknown): e is ResponsesError & { cause: string } {
  return e instanceof ResponsesError && e.payload.code === "upstream_unreachable" && typeof e.cause === "string";
}

/** The 502 after one or two failed deliveries: what failed, the body's size and how far it got, attempt by attempt, and why it was not sent again. */
async function deliveryFailed(call: UpstreamCall, causes: string[], sent: Sent[]): Promise<ResponsesError> {
  const whole = sent.find((s) => s.done) ?? sent[0]!;
  const size = await bodySize(call.body, whole).catch(() => NaN);
  const n = causes.length;
  const attempts = causes.map((cause, i) => `attempt ${i + 1} of ${n}: ${cause.replace(/\.$/, "")}, ${howFar(call.body, sent[i]!, size)}`);
  const what =
    n === 2
      ? "The request was sent twice and no response byte arrived"
      : "No response byte arrived, and the request was not sent again: the upstream may have received it whole and begun on it, and a second one would be billed twice; UPSTREAM_RETRIES allows it";
  const message = `Upstream ${new URL(call.target).origin} could not be reached: ${causes[n - 1]!.replace(/\.?$/, ".")} ${what} (${attempts.join("; ")}).`;
  return new ResponsesError(502, { message, type: "upstream_error", code: "upstream_unreachable" });
}

/**
 * One request to the upstream. Unreachable → 502, no headers within the
 * timeout → 504 (`ResponsesError`s); HTTP errors come back as responses.
 * A streamed body is counted into `sent` as the runtime reads it.
 */
async function attemptUpstream(call: UpstreamCall, config: BridgeConfig, fetchUpstream: Fetch, sent: Sent): Promise<Response> {
  const headers: Record<string, string> = {
    accept: call.stream ? "text/event-stream" : "application/json",
    // An uncompressed body can be converted and forwarded chunk by chunk.
    "accept-encoding": "identity",
  };
  if (call.body !== null) headers["content-type"] = call.contentType ?? "application/json";
  if (call.auth) headers.authorization = call.auth;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("timeout", "TimeoutError")), config.timeoutMs);
  const clientSignal = call.clientSignal;
  const onClientAbort = () => controller.abort(clientSignal?.reason);
  clientSignal?.addEventListener("abort", onClientAbort);
  try {
    const body = typeof call.body === "function" ? counted(call.body(), sent) : call.body;
    return await fetchUpstream(call.target, { method: call.method, headers, body, signal: controller.signal });
  } catch (e) {
    // Nothing left to abort; a retry adds its own listener. (On success it stays: a client abort still cuts the body.)
    clientSignal?.removeEventListener("abort", onClientAbort);
    if (controller.signal.aborted && !clientSignal?.aborted) {
      throw new ResponsesError(504, { message: `Upstream did not answer within ${config.timeoutMs} ms.`, type: "upstream_error", code: "upstream_timeout" });
    }
    const cause = String((e as Error)?.message ?? e);
    const error = new ResponsesError(502, { message: `Upstream ${new URL(call.target).origin} could not be reached: ${cause}`, type: "upstream_error", code: "upstream_unreachable" });
    // The runtime's own words, for the message of a second failure.
    error.cause = cause;
    throw error;
  } finally {
    // The timeout covers waiting for headers; a long generation streams past it.
    clearTimeout(timer);
  }
}

/**
 * The most of an upstream's error body read: every provider's error fits in a few kilobytes, and one
 * that echoes a request of many megabytes (pydantic's `input`, a proxy's page) must not fill the isolate.
 */
export const MAX_ERROR_BODY_BYTES = 256 * 1024;

/** An error body's text, at most `MAX_ERROR_BODY_BYTES` of it (the rest cancelled, a note saying so); bytes that are not UTF-8 become U+FFFD. */
export async function errorText(upstream: Response): Promise<string> {
  if (!upstream.body) return "";
  const reader = upstream.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return text + decoder.decode();
    const room = MAX_ERROR_BODY_BYTES - bytes;
    bytes += value.byteLength;
    if (value.byteLength <= room) {
      text += decoder.decode(value, { stream: true });
      continue;
    }
    await reader.cancel().catch(() => {});
    return `${text}${decoder.decode(value.subarray(0, room))} … (the upstream's error body was cut at ${MAX_ERROR_BODY_BYTES} bytes)`;
  }
}

/** Reads an upstream error body (any shape; a bounded part of it) into an `UpstreamHttpError` with the upstream's status and words. */
export async function upstreamError(upstream: Response, headers: Record<string, string>, config: BridgeConfig): Promise<UpstreamHttpError> {
  const text = await errorText(upstream).catch(() => "");
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain text or an HTML page: readUpstreamError keeps it as the message.
  }
  const { error, provider } = readUpstreamError(parsed, upstream.status);
  return new UpstreamHttpError(upstream.status, { ...error, message: redact(error.message, config) }, headers, provider);
}
