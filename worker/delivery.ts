/**
 * Internal to `upstream.ts`: what a request body did on its way out, for the one
 * retry of a request that never reached the upstream and for the words of the
 * error when the retry fails too.
 *
 * Why the retry exists: the runtime (workerd's HTTP client) keeps idle upstream
 * connections for 5 s and takes the most recently used one for the next
 * request. An upstream that closes an idle connection (its keep-alive timeout,
 * a restart, a proxy's limit) while the isolate is busy, e.g. parsing and translating a
 * request of many megabytes, has its close noticed only once the isolate yields:
 * the request goes out on the dead connection and fails with "Network
 * connection lost" before the upstream sees a byte of it. A stream body cannot
 * be replayed by the runtime, so the bridge asks again with a fresh stream from
 * the body's factory, but only while the runtime had not read that body to its
 * end (`cutShort`): one that went out whole may have been read and begun on by
 * the upstream, and a second chat completion is billed twice
 * (docs/stored-responses.md, "Large request bodies").
 */

import { utf8Bytes } from "./utf8.ts";

/** How far one attempt's body got: bytes the runtime pulled, and whether it pulled them all. */
export interface Sent {
  bytes: number;
  done: boolean;
}

/** Time for the runtime to notice other closed idle connections before the retry takes one. */
export const REDELIVER_AFTER_MS = 20;

/**
 * True when the upstream cannot have had the whole request: a stream body the runtime had not read
 * to its end (no server starts on a JSON body it has not seen all of). A string body is handed to
 * the runtime whole, so how much of it left is not known.
 */
export function cutShort(body: string | (() => ReadableStream<Uint8Array>) | null, sent: Sent): boolean {
  return typeof body === "function" && !sent.done;
}

/** `source`, counting into `sent` what the runtime reads of it (it reads on demand: nothing is read ahead). */
export function counted(source: ReadableStream<Uint8Array>, sent: Sent): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { value, done } = await reader.read();
        if (done) {
          sent.done = true;
          controller.close();
          return;
        }
        sent.bytes += value.byteLength;
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/** The body's size in bytes: counted when it was sent whole, else measured (only on the error path: a fresh stream, read and dropped chunk by chunk). */
export async function bodySize(body: string | (() => ReadableStream<Uint8Array>) | null, sent: Sent): Promise<number> {
  if (body === null) return 0;
  if (typeof body === "string") return utf8Bytes(body);
  if (sent.done) return sent.bytes;
  let size = 0;
  for await (const chunk of body() as unknown as AsyncIterable<Uint8Array>) size += chunk.byteLength;
  return size;
}

/** What one failed attempt did, for the error's words: "after sending 65536 of the body's 20000093 bytes" (NaN: the size could not be measured). */
export function howFar(body: string | (() => ReadableStream<Uint8Array>) | null, sent: Sent, size: number): string {
  if (body === null) return "with no body";
  // A string body is handed to the runtime whole: how much of it left is not known.
  if (typeof body === "string") return `with a body of ${size} bytes`;
  return Number.isNaN(size) ? `after sending ${sent.bytes} bytes of the body` : `after sending ${sent.bytes} of the body's ${size} bytes`;
}
