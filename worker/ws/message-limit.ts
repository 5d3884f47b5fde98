// Internal: the Responses WebSocket's message size limit: announced on the upgrade, enforced per frame.
import { ResponsesError } from "../../src/index.ts";
import { utf8Bytes } from "../utf8.ts";

/**
 * Codex (0.171 and later) reads this header from the upgrade response: the largest message, in
 * bytes, the server takes. It measures each `response.create` before sending it and sends a
 * larger one over HTTP instead (docs/worker.md, "The message size limit").
 */
const MAX_MESSAGE_HEADER = "x-codex-websocket-max-message-bytes";

/**
 * The header for an upgrade answer: this bridge's limit, or the upstream's when it announced a
 * smaller one (a pass-through socket relays frames to a Responses upstream as they are).
 */
export function maxMessageHeader(limit: number, upstream?: Headers): Record<string, string> {
  const theirs = Number(upstream?.get(MAX_MESSAGE_HEADER) ?? NaN);
  const bytes = Number.isInteger(theirs) && theirs > 0 ? Math.min(theirs, limit) : limit;
  return { [MAX_MESSAGE_HEADER]: String(bytes) };
}

/**
 * The error for a message over `limit` bytes (null when it fits): a 413 error frame, the socket kept
 * open. Only a message the runtime let through can get it: past the platform's own limit the
 * runtime closes the socket (1009) before the Worker sees the message, and the header is what
 * keeps Codex from sending one.
 */
export function tooLarge(data: unknown, limit: number): ResponsesError | null {
  let bytes: number;
  if (typeof data === "string") {
    // Cheap first: a string's UTF-8 size is between its length and three times it.
    if (data.length * 3 <= limit) return null;
    bytes = data.length > limit ? data.length : utf8Bytes(data);
  } else if (data instanceof ArrayBuffer) bytes = data.byteLength;
  else return null;
  if (bytes <= limit) return null;
  return new ResponsesError(413, {
    message: `Messages on this WebSocket are at most ${limit} bytes (${MAX_MESSAGE_HEADER}); this one is larger. Send the request over HTTP instead: POST /v1/responses.`,
    type: "invalid_request_error",
    code: "websocket_message_too_large",
  });
}
