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
import { chatToResponsesSse } from "../../src/index.ts";
import { EventPump } from "../../src/streams/event-pump.ts";
import { SseSink } from "../../src/streams/sse-sink.ts";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path === "/bench/nostore") {
      const body = { ...((await request.json()) as object), store: false };
      return bridge.fetch(new Request(new URL("/v1/responses", request.url), { method: "POST", headers: request.headers, body: JSON.stringify(body) }), env, ctx);
    }
    if (path.startsWith("/bench/shape/")) return shape(path.slice("/bench/shape/".length), request, env);
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

/** The floors of a pull shell (BENCH_SHAPES), for profiling what each step costs. */
async function shape(kind: string, request: Request, env: Env): Promise<Response> {
  const upstream = await fetch(`${env.UPSTREAM_BASE_URL}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", "accept-encoding": "identity" },
    body: await request.text(),
  });
  return floor(kind, upstream);
}

/**
 * What a pull shell costs before any conversion, step by step: the same pull stream
 * forwarding the upstream bytes untouched (`floor-pull`), then also decoding and
 * re-encoding them (`floor-codec`), then also `JSON.parse` of each frame (`floor-parse`).
 */
function floor(kind: string, upstream: Response): Response {
  if (kind.startsWith("its-")) return nativeSink(kind, upstream);
  if (kind === "sse-min") return new Response(chatToResponsesSse(upstream), { headers: EVENT_STREAM_HEADERS });
  if (kind === "pump-pull") {
    const src = upstream.body!.getReader();
    const pump = new EventPump();
    const sink = new SseSink();
    return new Response(
      new ReadableStream<Uint8Array>(
        {
          async pull(c) {
            const { value, done } = await src.read();
            if (done) {
              pump.end();
              pump.flush(sink);
              sink.done();
              const b = sink.take();
              if (b) c.enqueue(b);
              return c.close();
            }
            pump.feed(value);
            pump.flush(sink);
            const b = sink.take();
            if (b) c.enqueue(b);
          },
        },
        { highWaterMark: 0 },
      ),
      { headers: EVENT_STREAM_HEADERS },
    );
  }
  const source = upstream.body!.getReader();
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const { value, done } = await source.read();
        if (done) return c.close();
        if (kind.startsWith("floor-pull")) return c.enqueue(value);
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
    { highWaterMark: kind === "floor-pull-hwm1" ? 1 : 0 },
  );
  return new Response(stream, { headers: EVENT_STREAM_HEADERS });
}

/**
 * The same floors written from a loop into a native `IdentityTransformStream`
 * (the Response body is then a native stream: workerd reads it without calling back into JS).
 */
function nativeSink(kind: string, upstream: Response): Response {
  const source = upstream.body!.getReader();
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  (async () => {
    for (;;) {
      const { value, done } = await source.read();
      if (done) break;
      if (kind === "its-pull") {
        await writer.write(value);
        continue;
      }
      const text = dec.decode(value, { stream: true });
      if (kind === "its-parse") {
        for (let at = 0, end = text.indexOf("\n\n"); end >= 0; at = end + 2, end = text.indexOf("\n\n", at)) {
          if (text.startsWith("data: {", at)) JSON.parse(text.slice(at + 6, end));
        }
      }
      await writer.write(enc.encode(text));
    }
    await writer.close();
  })().catch((e) => writer.abort(e));
  return new Response(readable, { headers: EVENT_STREAM_HEADERS });
}
