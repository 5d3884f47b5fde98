/**
 * Internal to the run step.
 * The upstream request body. Small requests are one JSON string, as always. A request whose
 * messages hold more than `STREAM_FROM_CHARS` of text (a long stored conversation) is serialised
 * one message at a time into a stream instead: the Worker then holds the conversation once (as
 * items and the messages sharing their strings), never a second whole copy as one JSON string
 * and a third as its UTF-8 bytes, which is what lets a conversation of tens of megabytes fit in
 * an isolate's memory. Sent chunked (no Content-Length; see docs/stored-responses.md); a factory,
 * since a retried request needs a fresh stream.
 */

/** Above this much text in the messages, the body streams. */
export const STREAM_FROM_CHARS = 1_000_000;

/** Walks a value adding up its strings' lengths; stops as soon as the sum passes `limit`. */
function exceeds(value: unknown, limit: number): number {
  if (typeof value === "string") return value.length;
  if (typeof value !== "object" || value === null) return 0;
  let sum = 0;
  for (const v of Array.isArray(value) ? value : Object.values(value)) {
    sum += exceeds(v, limit - sum);
    if (sum > limit) break;
  }
  return sum;
}

/** The body for `request` (a chat-completions request object): a string, or a stream factory for a large one. */
export function requestBody(request: Record<string, unknown>): string | (() => ReadableStream<Uint8Array>) {
  const messages = request.messages;
  if (!Array.isArray(messages) || exceeds(messages, STREAM_FROM_CHARS) <= STREAM_FROM_CHARS) return JSON.stringify(request);
  return () => streamJson(request, messages);
}

/** `JSON.stringify(request)`, byte for byte, with `messages` serialised one element per pull. */
function streamJson(request: Record<string, unknown>, messages: unknown[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const { messages: _messages, ...rest } = request;
  // The other fields are small: everything before `messages` at once, everything after it at the end.
  const keys = Object.keys(request);
  const at = keys.indexOf("messages");
  // As JSON.stringify does: a field whose value is undefined is left out.
  const fields = (names: string[]) => names.flatMap((k) => (rest[k] === undefined ? [] : [`${JSON.stringify(k)}:${JSON.stringify(rest[k])}`]));
  const before = fields(keys.slice(0, at));
  const after = fields(keys.slice(at + 1));
  let i = -1;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i === -1) controller.enqueue(encoder.encode(`{${before.join(",")}${before.length ? "," : ""}"messages":[`));
      else if (i < messages.length) controller.enqueue(encoder.encode((i ? "," : "") + (JSON.stringify(messages[i]) ?? "null")));
      else {
        controller.enqueue(encoder.encode(`]${after.length ? "," : ""}${after.join(",")}}`));
        controller.close();
      }
      i++;
    },
  });
}
