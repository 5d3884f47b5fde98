/**
 * The Worker under benchmark and what it is measured against, in one script so
 * that all of them run in the same workerd, in the same run. Each path
 * isolates one thing:
 *
 * - `POST /v1/responses`: the product Worker, unchanged (with its store binding,
 *   so the default `store: true` writes the finished response as deployed);
 *   with `background: true` the run's own object runs it and logs its events, the client reading them;
 * - `POST /bench/identity`: the target's baseline, a do-nothing `TransformStream`
 *   proxy (`pipeThrough`) of the upstream body;
 * - `POST /bench/native`: native pass-through, `new Response(upstream.body)`: no
 *   JavaScript per chunk at all, the runtime copies bytes socket to socket;
 * - `POST /bench/floor-pull`: a pull `ReadableStream` that reads the upstream
 *   itself and enqueues each read untouched, the shell this Worker uses,
 *   without any conversion: what one read and one enqueue per chunk cost;
 * - `POST /bench/floor-codec`: the same, decoding each read and encoding it again
 *   (the `TextDecoder`/`TextEncoder` crossings);
 * - `POST /bench/floor-parse`: the same, also `JSON.parse` of each chunk: the least
 *   any converter must do per chunk;
 * - `POST /bench/floor-native-out`: the pull floor's loop writing into a native
 *   `IdentityTransformStream` instead, so workerd reads the response body without
 *   calling back into JavaScript: whether the output side's plumbing is the cost;
 * - `GET /bench/ops/<op>?n=`: one operation in a hot loop, n times (see ops.ts).
 *
 * Every streaming path sends the Worker's event-stream headers: they change how
 * workerd writes to the socket (each enqueue at once), and so its CPU.
 */
import bridge, { type Env } from "../../worker/index.ts";
import { EVENT_STREAM_HEADERS } from "../../worker/http.ts";
import { OPS, runOp } from "./ops.ts";

export { BackgroundRunObject, ResponseStoreObject } from "../../worker/index.ts";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/bench/ops/")) return ops(path.slice("/bench/ops/".length), request);
    if (!path.startsWith("/bench/")) return bridge.fetch(request, env, ctx);
    const upstream = await fetch(`${env.UPSTREAM_BASE_URL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", "accept-encoding": "identity" },
      body: await request.text(),
    });
    const body = upstream.body!;
    switch (path) {
      case "/bench/identity":
        return new Response(body.pipeThrough(new TransformStream()), { headers: EVENT_STREAM_HEADERS });
      case "/bench/native":
        return new Response(body, { headers: EVENT_STREAM_HEADERS });
      case "/bench/floor-pull":
      case "/bench/floor-codec":
      case "/bench/floor-parse":
        return new Response(pullFloor(body, path.slice("/bench/floor-".length) as "pull" | "codec" | "parse"), { headers: EVENT_STREAM_HEADERS });
      case "/bench/floor-native-out":
        return new Response(nativeOut(body), { headers: EVENT_STREAM_HEADERS });
      default:
        return new Response("unknown bench path", { status: 404 });
    }
  },
} satisfies ExportedHandler<Env>;

/** The pull shell with no conversion: one upstream read and one enqueue per chunk, plus what `step` adds. */
function pullFloor(upstream: ReadableStream<Uint8Array>, step: "pull" | "codec" | "parse"): ReadableStream<Uint8Array> {
  const source = upstream.getReader();
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        const { value, done } = await source.read();
        if (done) return c.close();
        if (step === "pull") return c.enqueue(value);
        const text = dec.decode(value, { stream: true });
        if (step === "parse") {
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
}

/** The pull floor's reads written from a loop into a native `IdentityTransformStream`: no JavaScript on the output side. */
function nativeOut(upstream: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const source = upstream.getReader();
  const { readable, writable } = new IdentityTransformStream();
  const writer = writable.getWriter();
  (async () => {
    for (;;) {
      const { value, done } = await source.read();
      if (done) break;
      await writer.write(value);
    }
    await writer.close();
  })().catch((e) => writer.abort(e));
  return readable;
}

async function ops(op: string, request: Request): Promise<Response> {
  if (!OPS.includes(op)) return new Response(`unknown op; one of ${OPS.join(", ")}`, { status: 404 });
  const n = Number(new URL(request.url).searchParams.get("n") ?? 100_000);
  // The result is returned so the loop cannot be optimized away.
  return Response.json({ op, n, result: await runOp(op, n) });
}
