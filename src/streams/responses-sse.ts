import { createResponsesReader, type ResponsesReaderOptions, type UpstreamBody } from "./responses-reader.ts";
import { SseSink } from "./sse-sink.ts";

/**
 * The upstream chat-completions `Response` (or its body) → the Responses SSE
 * byte stream, as a pull `ReadableStream`: it reads the upstream only when
 * its consumer reads, one upstream read per pull, one encode and one
 * `enqueue` per batch.
 *
 * Unlike `body.pipeThrough(new ChatToResponsesStream())` it sees the
 * upstream fail: a reset or error mid-stream, an idle upstream, an empty or
 * missing body all end in `error` + `response.failed` after everything that
 * arrived. Cancelling it cancels the upstream.
 */
export function chatToResponsesSse(upstream: UpstreamBody, options: ResponsesReaderOptions = {}): ReadableStream<Uint8Array> {
  const reader = createResponsesReader(upstream, options);
  const sink = new SseSink();
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      // `then` rather than an async function: one promise less per upstream read.
      pull: (controller) =>
        reader.pull(sink).then((more) => {
          if (cancelled) return;
          if (!more) sink.done();
          const bytes = sink.take();
          if (bytes) controller.enqueue(bytes);
          if (!more) controller.close();
        }),
      cancel(reason) {
        cancelled = true;
        return reader.cancel(reason);
      },
    },
    // At most one batch read ahead of the consumer (so the upstream is read while the last
    // batch is being written, as a pipe would); backpressure still reaches the upstream.
    { highWaterMark: 1 },
  );
}
