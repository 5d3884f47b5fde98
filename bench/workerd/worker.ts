/**
 * The Worker under benchmark, plus the two baselines it is measured against,
 * in one script so all three run in the same workerd, same run:
 *
 * - `POST /v1/responses`: the product Worker, unchanged;
 * - `POST /bench/identity`: a do-nothing `TransformStream` proxy of the upstream stream;
 * - `POST /bench/native`: native pass-through, `new Response(upstream.body)`.
 *
 * The baselines send the same event-stream headers as the Worker (they change
 * how workerd writes to the socket, and so its CPU).
 */
import bridge, { type Env } from "../../worker/index.ts";
import { EVENT_STREAM_HEADERS } from "../../worker/http.ts";
import { createResponsesReader, type ResponsesRequest } from "../../src/index.ts";
import { SseSink } from "../../src/streams/sse-sink.ts";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/bench/shape/")) return shape(path.slice("/bench/shape/".length), request, env, ctx);
    if (path !== "/bench/identity" && path !== "/bench/native") return bridge.fetch(request, env, ctx);
    const upstream = await fetch(`${env.UPSTREAM_BASE_URL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", "accept-encoding": "identity" },
      body: await request.text(),
    });
    const body = path === "/bench/native" ? upstream.body : upstream.body!.pipeThrough(new TransformStream());
    return new Response(body, { headers: EVENT_STREAM_HEADERS });
  },
} satisfies ExportedHandler<Env>;

/** Stream shapes tried for the Worker's SSE body (BENCH_SHAPES=1), all over the same reader core. */
async function shape(kind: string, request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const body = await request.text();
  const upstream = await fetch(`${env.UPSTREAM_BASE_URL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", "accept-encoding": "identity" },
    body,
  });
  if (kind.startsWith("floor-")) return floor(kind, upstream);
  const reader = createResponsesReader(upstream, { request: JSON.parse(body) as ResponsesRequest });
  const sink = new SseSink();
  const next = async (): Promise<Uint8Array | null> => {
    const more = await reader.pull(sink);
    if (!more) sink.done();
    return sink.take();
  };
  if (kind === "identity-writer") {
    // Pushed into workerd's native IdentityTransformStream, read by the runtime without JS.
    const { readable, writable } = new IdentityTransformStream();
    const writer = writable.getWriter();
    ctx.waitUntil(
      (async () => {
        try {
          while (!reader.ended) {
            const bytes = await next();
            if (bytes) await writer.write(bytes);
          }
          await writer.close();
        } catch (e) {
          await reader.cancel(e);
          writer.abort(e).catch(() => {});
        }
      })(),
    );
    return new Response(readable, { headers: EVENT_STREAM_HEADERS });
  }
  if (kind === "bytes") {
    const stream = new ReadableStream({
      type: "bytes",
      async pull(c) {
        const bytes = await next();
        if (bytes) c.enqueue(bytes);
        if (reader.ended) c.close();
      },
      cancel: (r) => reader.cancel(r),
    });
    return new Response(stream, { headers: EVENT_STREAM_HEADERS });
  }
  // "default": the library's pull stream with highWaterMark 1 instead of 0.
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      const bytes = await next();
      if (bytes) c.enqueue(bytes);
      if (reader.ended) c.close();
    },
    cancel: (r) => reader.cancel(r),
  });
  return new Response(stream, { headers: EVENT_STREAM_HEADERS });
}

/**
 * What a pull shell costs before any conversion, step by step: the same pull stream
 * forwarding the upstream bytes untouched (`floor-pull`), then also decoding and
 * re-encoding them (`floor-codec`), then also `JSON.parse` of each frame (`floor-parse`).
 */
function floor(kind: string, upstream: Response): Response {
  const source = upstream.body!.getReader();
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const { value, done } = await source.read();
        if (done) return c.close();
        if (kind === "floor-pull") return c.enqueue(value);
        const text = dec.decode(value, { stream: true });
        if (kind === "floor-parse") {
          for (let at = 0, end = text.indexOf("\n\n"); end >= 0; at = end + 2, end = text.indexOf("\n\n", at)) {
            if (text.startsWith("data: {", at)) JSON.parse(text.slice(at + 6, end));
          }
        }
        c.enqueue(enc.encode(text));
      },
      cancel: (r) => source.cancel(r),
    },
    { highWaterMark: 0 },
  );
  return new Response(stream, { headers: EVENT_STREAM_HEADERS });
}
