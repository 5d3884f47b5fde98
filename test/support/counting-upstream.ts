import { createServer, type IncomingMessage, type Server } from "node:http";

/** What one chat-completions request brought: its size, how many `~` it held (the test's payload character), and its first bytes. */
export interface Arrival {
  bytes: number;
  tildes: number;
  head: string;
}

export interface CountingUpstream {
  url: string;
  server: Server;
  /** Every chat-completions request that reached this server, in order. */
  arrivals: Arrival[];
  close(): Promise<void>;
}

const TILDE = 0x7e;

/** Reads a request body chunk by chunk, keeping only counts and its first 64 bytes: a 30 MB body costs no more memory than a chunk. */
async function measure(req: IncomingMessage): Promise<Arrival> {
  const arrival: Arrival = { bytes: 0, tildes: 0, head: "" };
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (arrival.bytes < 64) arrival.head += chunk.subarray(0, 64 - arrival.bytes).toString("latin1");
    arrival.bytes += chunk.byteLength;
    for (let i = chunk.indexOf(TILDE); i !== -1; i = chunk.indexOf(TILDE, i + 1)) arrival.tildes++;
  }
  return arrival;
}

const sse = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-counting", object: "chat.completion.chunk", created: 1_761_000_000, model: "counting", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

/**
 * A Node chat-completions server (Node's own HTTP defaults: 5 s keep-alive) that answers every
 * request with a short text ("Got N bytes.") and counts what arrived, without holding any body.
 * `arrivals` is the upstream's side of the count: a request the bridge lost never appears there.
 */
export async function countingUpstream(): Promise<CountingUpstream> {
  const arrivals: Arrival[] = [];
  const server = createServer(async (req, res) => {
    if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
      // wrangler dev's readiness probe (GET /v1/models) and anything else.
      for await (const _ of req);
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"object":"list","data":[]}');
    }
    const arrival = await measure(req);
    arrivals.push(arrival);
    const text = `Got ${arrival.bytes} bytes.`;
    if (req.headers.accept === "text/event-stream") {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(sse({ role: "assistant", content: "" }));
      res.write(sse({ content: text }));
      res.write(sse({}, "stop"));
      return res.end("data: [DONE]\n\n");
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: "chatcmpl-counting", object: "chat.completion", created: 1_761_000_000, model: "counting", choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    arrivals,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A request body streamed in 64 KB pieces as it is sent, never held whole: `{"…":…,"input":` + `input` + `}`. */
export function streamedBody(fields: Record<string, unknown>, input: Iterable<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const parts = (function* () {
    yield `${JSON.stringify(fields).slice(0, -1)},"input":`;
    yield* input;
    yield "}";
  })();
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = parts.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
  });
}

/** `n` characters of `~` in 64 KB pieces (the JSON string's contents, without quotes). */
export function* tildes(n: number): Generator<string> {
  const piece = "~".repeat(65_536);
  for (let left = n; left > 0; left -= piece.length) yield left >= piece.length ? piece : piece.slice(0, left);
}
