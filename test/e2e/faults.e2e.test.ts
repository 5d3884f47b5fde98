import { createServer, type Server } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkInvariants } from "../support/invariants.ts";
import { startWorker } from "../support/start-worker.ts";

// The real Worker (`wrangler dev`, workerd) in front of a real HTTP server that misbehaves the way
// networks do: it resets its TCP connection mid-stream, stalls, or sends only comments for a while.
// The `openai` SDK must get the text that arrived and then an APIError with the cause, or the whole answer.

const IDLE_MS = 1_500;
let server: Server;
let worker: Awaited<ReturnType<typeof startWorker>>;
let client: OpenAI;
const open = new Set<import("node:net").Socket>();
/** Stalled upstream requests the bridge hung up on. */
let stallsClosed = 0;

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1_761_000_000, model: "faulty", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    if (!req.url?.endsWith("/chat/completions")) {
      // wrangler dev readiness probe (GET /v1/models).
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"object":"list","data":[]}');
    }
    const model = (JSON.parse(body) as { model: string }).model;
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(chunk({ role: "assistant", content: "" }));
    res.write(chunk({ content: "Hello" }));
    res.write(chunk({ content: " wor" }));
    await wait(100);
    if (model === "reset") {
      // A crashed server or a load balancer dropping the connection: RST, no clean end.
      req.socket.resetAndDestroy();
    } else if (model === "stall") {
      // Headers and some text, then nothing (until the bridge gives up and hangs up).
      res.on("close", () => stallsClosed++);
    } else {
      // A model thinking for longer than the idle timeout, saying so with comments only.
      const until = Date.now() + IDLE_MS * 2;
      while (Date.now() < until) {
        res.write(": keep-alive\n\n");
        await wait(200);
      }
      res.write(chunk({ content: "ld." }, "stop"));
      res.end("data: [DONE]\n\n");
    }
  });
  server.on("connection", (s) => {
    open.add(s);
    s.on("close", () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  worker = await startWorker(`http://127.0.0.1:${port}`, undefined, { UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS) });
  client = new OpenAI({ apiKey: "sk-client", baseURL: `${worker.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await worker?.stop();
  for (const s of open) s.destroy();
  await new Promise((r) => server?.close(r));
});

/** Streams a response with the SDK; returns the text deltas that arrived and how it ended. */
async function attempt(model: string) {
  const stream = client.responses.stream({ model, input: "hi" });
  const deltas: string[] = [];
  stream.on("response.output_text.delta", (e) => deltas.push(e.delta));
  const result = await stream.finalResponse().then(
    (final) => ({ final, error: null }),
    (error: unknown) => ({ final: null, error }),
  );
  return { text: deltas.join(""), ...result };
}

describe("faults between wrangler dev and its upstream", () => {
  it("a TCP reset mid-stream: the text that arrived, then an APIError saying the upstream connection failed", async () => {
    const r = await attempt("reset");
    expect(r.text).toBe("Hello wor");
    expect(r.error).toBeInstanceOf(OpenAI.APIError);
    const e = r.error as InstanceType<typeof OpenAI.APIError>;
    expect(e.code).toBe("upstream_disconnected");
    expect(e.message).toMatch(/Upstream connection failed mid-stream/);
  });

  it("a stall: the text that arrived, then an APIError naming the idle timeout", async () => {
    const r = await attempt("stall");
    expect(r.text).toBe("Hello wor");
    const e = r.error as InstanceType<typeof OpenAI.APIError>;
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect(e.code).toBe("upstream_idle_timeout");
    expect(e.message).toMatch(/idle timeout/);
    // The upstream request was cancelled, not left hanging.
    await expect.poll(() => stallsClosed, { timeout: 5_000 }).toBeGreaterThan(0);
  });

  it("comments for longer than the idle timeout: kept alive, the full answer", async () => {
    const r = await attempt("comments");
    expect(r.error).toBeNull();
    expect(r.final?.output_text).toBe("Hello world.");
    expect(r.final?.status).toBe("completed");
  });

  it.each([
    ["reset", "failed"],
    ["stall", "failed"],
    ["comments", "completed"],
  ])("the raw stream for %s holds every protocol invariant and ends %s", async (model, status) => {
    const res = await fetch(`${worker.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, input: "hi", stream: true }) });
    const final = checkInvariants(await res.text(), undefined, { obfuscated: true });
    expect(final.status).toBe(status);
    expect(final.output[0]).toMatchObject({ type: "message", content: [{ text: model === "comments" ? "Hello world." : "Hello wor" }] });
  });

  it("the comments reach the client as SSE comments, fewer than the upstream sent", async () => {
    const res = await fetch(`${worker.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "comments", input: "hi", stream: true }) });
    const raw = await res.text();
    const comments = raw.split("\n\n").filter((f) => f.startsWith(":"));
    expect(comments.length).toBeGreaterThanOrEqual(1);
    // The upstream sent about 15 over 3 s; the Worker passes on at most one per 5 s.
    expect(comments.length).toBeLessThanOrEqual(2);
    expect(raw.endsWith("data: [DONE]\n\n")).toBe(true);
  });
});
