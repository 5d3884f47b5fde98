import type { ErrorPayload } from "../src/index.ts";
import type { BridgeConfig } from "./config.ts";
import { redact } from "./upstream.ts";

/** Headers that keep an event stream flowing: no caching, no compression holding events back, no proxy buffering. */
export const STREAM_HEADERS = { "cache-control": "no-cache", "content-encoding": "identity", "x-accel-buffering": "no" } as const;

export const EVENT_STREAM_HEADERS = { ...STREAM_HEADERS, "content-type": "text/event-stream; charset=utf-8" } as const;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

export function errorResponse(status: number, error: ErrorPayload, headers: Record<string, string> = {}): Response {
  return json(status, { error }, headers);
}

/** A bug, not an input problem: one log line without secrets, and for the client the API's error shape. */
export function unexpectedError(e: unknown, config: BridgeConfig): ErrorPayload {
  console.error(`responses-bridge: unexpected error: ${redact(String((e as Error)?.stack ?? e), config)}`);
  return { message: "The bridge failed unexpectedly; see the Worker's logs.", type: "server_error", param: null, code: "server_error" };
}
