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

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
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
