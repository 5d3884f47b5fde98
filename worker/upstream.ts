import { normalizeUpstreamError, ResponsesError } from "../src/index.ts";
import type { BridgeConfig } from "./config.ts";

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
  return key && key.length >= 4 ? text.split(key).join("[redacted]") : text;
}

/**
 * An upstream's HTTP error, in the API's shape, keeping its status and the
 * headers a client needs to back off (`Retry-After`, `x-ratelimit-*`).
 */
export class UpstreamHttpError extends ResponsesError {
  readonly headers: Record<string, string>;
  constructor(status: number, payload: ConstructorParameters<typeof ResponsesError>[1], headers: Record<string, string>) {
    super(status, payload);
    this.headers = headers;
  }
}

export interface UpstreamCall {
  target: string;
  method: string;
  body: string | null;
  stream: boolean;
  /** `Authorization` to send, or null. */
  auth: string | null;
  clientSignal?: AbortSignal | undefined;
  contentType?: string | null;
}

/**
 * One request to the upstream. Unreachable → 502, no headers within the
 * timeout → 504 (`ResponsesError`s); HTTP errors come back as responses.
 */
export async function callUpstream(call: UpstreamCall, config: BridgeConfig, fetchUpstream: Fetch): Promise<Response> {
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
    return await fetchUpstream(call.target, { method: call.method, headers, body: call.body, signal: controller.signal });
  } catch (e) {
    if (controller.signal.aborted && !clientSignal?.aborted) {
      throw new ResponsesError(504, { message: `Upstream did not answer within ${config.timeoutMs} ms.`, type: "upstream_error", code: "upstream_timeout" });
    }
    throw new ResponsesError(502, { message: `Upstream ${new URL(call.target).origin} could not be reached: ${String((e as Error)?.message ?? e)}`, type: "upstream_error", code: "upstream_unreachable" });
  } finally {
    // The timeout covers waiting for headers; a long generation streams past it.
    clearTimeout(timer);
  }
}

/** Reads an upstream error body (any shape) into an `UpstreamHttpError` with the upstream's status and words. */
export async function upstreamError(upstream: Response, headers: Record<string, string>, config: BridgeConfig): Promise<UpstreamHttpError> {
  const text = await upstream.text().catch(() => "");
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain text or an HTML page: normalizeUpstreamError keeps it as the message.
  }
  const error = normalizeUpstreamError(parsed, upstream.status);
  return new UpstreamHttpError(upstream.status, { ...error, message: redact(error.message, config) }, headers);
}
