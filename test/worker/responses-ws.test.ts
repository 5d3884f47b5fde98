import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { checkInvariants } from "../support/invariants.ts";
import { configFromEnv } from "../../worker/config.ts";
import { type Fetch, handle } from "../../worker/router.ts";
import { MemoryResponseStore } from "../../src/server.ts";
import { BRIDGE, events, post, resetSeen, seen, UPSTREAM, withEnv } from "./bridge.ts";

type Message = { type: string; status?: number; error?: { type: string; code: string; message: string; param: string | null }; headers?: Record<string, string>; response?: { id: string; status: string; output: Array<{ type: string }>; previous_response_id: string | null }; [k: string]: unknown };

const TERMINAL = new Set(["response.completed", "response.failed", "response.incomplete"]);

/** The client side of one Responses WebSocket, with a bounded wait for every read. */
class Client {
  private readonly inbox: Message[] = [];
  private wake: (() => void) | null = null;
  closed: { code: number; reason: string } | null = null;
  readonly ws: WebSocket;
  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.accept();
    ws.addEventListener("message", (e) => {
      this.inbox.push(JSON.parse(e.data as string) as Message);
      this.wake?.();
    });
    ws.addEventListener("close", (e) => {
      this.closed = { code: e.code, reason: e.reason };
      this.wake?.();
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  create(body: Record<string, unknown>): void {
    this.send({ type: "response.create", ...body });
  }

  async next(timeoutMs = 10_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for a message`);
      if (Date.now() > deadline) throw new Error("no message within the time allowed");
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    return this.inbox.shift()!;
  }

  /** Messages up to and including a terminal event or an error frame (with a status: a request-level error). */
  async turn(): Promise<Message[]> {
    const out: Message[] = [];
    for (;;) {
      const m = await this.next();
      out.push(m);
      if (TERMINAL.has(m.type) || (m.type === "error" && typeof m.status === "number")) return out;
    }
  }

  async untilClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (!this.closed) throw new Error("the socket was not closed");
    return this.closed;
  }
}

async function connect(open: (init: RequestInit) => Promise<Response> = (init) => exports.default.fetch(`${BRIDGE}/v1/responses`, init), headers: Record<string, string> = {}): Promise<Client> {
  const res = await open({ headers: { upgrade: "websocket", ...headers } });
  expect(res.status).toBe(101);
  return new Client(res.webSocket!);
}

const terminal = (turn: Message[]) => turn.at(-1)!;
const upstreamMessages = async (i: number) => (await seen()).requests[i]!.body.messages as Array<{ role: string; content: unknown; tool_calls?: Array<{ id: string }>; tool_call_id?: string }>;
const WEATHER_TOOL = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

beforeEach(resetSeen);

describe("Responses WebSocket: one response after another on one connection", () => {
  it("frames every event of the SSE stream, in the same order and shapes, for each response.create", async () => {
    const sse = events(await (await post("/v1/responses", { model: "scripted-reasoning", input: "hi", stream: true })).text());
    const client = await connect();
    for (const input of ["first", "second", "third"]) {
      // Codex sends stream: true on the socket although the spec says not to: accepted and ignored.
      client.create({ model: "scripted-reasoning", input, stream: true, stream_options: { include_usage: true } });
      const turn = await client.turn();
      expect(turn.map((m) => m.type)).toEqual(sse.map((e) => e.type));
      checkInvariants(null, turn as never);
      expect(terminal(turn).response!.status).toBe("completed");
    }
    const requests = (await seen()).requests.slice(1);
    expect(requests.map((r) => (r.body.messages as Array<{ content: string }>).at(-1)!.content)).toEqual(["first", "second", "third"]);
    expect(requests.every((r) => r.body.stream === true)).toBe(true);
    client.ws.close();
  });

  it("a response.create sent while one runs waits its turn: answers arrive whole and in order", async () => {
    const client = await connect();
    client.create({ model: "scripted-text", input: "one" });
    client.create({ model: "scripted-refusal", input: "two" });
    const first = await client.turn();
    const second = await client.turn();
    expect(first[0]!.type).toBe("response.created");
    expect(first.filter((m) => TERMINAL.has(m.type))).toHaveLength(1);
    expect(JSON.stringify(second)).toContain("I can't help with that.");
    expect(terminal(second).response!.id).not.toBe(terminal(first).response!.id);
    client.ws.close();
  });

  it("beyond 16 waiting frames the next gets a 429 error frame in its turn, after the running response's terminal event, and the socket goes on", async () => {
    const client = await connect();
    client.create({ model: "scripted-slow", input: "slow" });
    // 16 frames that wait and do nothing (Codex's acknowledgements), then one too many.
    for (let i = 0; i < 16; i++) client.send({ type: "response.processed" });
    client.create({ model: "scripted-text", input: "one too many" });
    const first = await client.turn();
    expect(first[0]!.type).toBe("response.created");
    expect(terminal(first).response!.status).toBe("completed");
    expect(first.some((m) => m.type === "error")).toBe(false);
    expect(await client.next()).toMatchObject({ type: "error", status: 429, error: { code: "too_many_requests" } });
    client.create({ model: "scripted-text", input: "after" });
    expect(terminal(await client.turn()).response!.status).toBe("completed");
    expect((await seen()).requests).toHaveLength(2);
    client.ws.close();
  });

  it("the connection's signal does not gather a listener per response (each response links its own, and unlinks it)", async () => {
    // Counts live "abort" listeners per signal, across the isolate, while three responses run on one socket.
    const live = new Map<EventTarget, number>();
    const add = AbortSignal.prototype.addEventListener;
    const remove = AbortSignal.prototype.removeEventListener;
    AbortSignal.prototype.addEventListener = function (this: AbortSignal, ...args: Parameters<typeof add>) {
      if (args[0] === "abort") live.set(this, (live.get(this) ?? 0) + 1);
      return add.apply(this, args);
    } as typeof add;
    AbortSignal.prototype.removeEventListener = function (this: AbortSignal, ...args: Parameters<typeof remove>) {
      if (args[0] === "abort") live.set(this, (live.get(this) ?? 0) - 1);
      return remove.apply(this, args);
    } as typeof remove;
    try {
      const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1` });
      const client = await connect((init) => handle(new Request(`${BRIDGE}/v1/responses`, init), config, (input, i) => fetch(input, i)));
      for (const input of ["one", "two", "three"]) {
        client.create({ model: "scripted-text", store: false, input });
        expect(terminal(await client.turn()).response!.status).toBe("completed");
      }
      expect(Math.max(...live.values())).toBeLessThanOrEqual(1);
      client.ws.close();
    } finally {
      AbortSignal.prototype.addEventListener = add;
      AbortSignal.prototype.removeEventListener = remove;
    }
  });
});

describe("connection-local continuation", () => {
  it("a prewarm (generate: false) answers created … completed without calling the upstream, and the real turn continues from it", async () => {
    const client = await connect(undefined, { originator: "codex_exec", "openai-beta": "responses_websockets=2026-02-06" });
    const tools = [WEATHER_TOOL];
    client.create({ model: "scripted-text", generate: false, store: false, stream: true, instructions: "Be brief.", tools, input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "<environment_context>cwd=/tmp</environment_context>" }] }] });
    const prewarm = await client.turn();
    expect(prewarm.map((m) => m.type)).toEqual(["response.created", "response.in_progress", "response.completed"]);
    expect(terminal(prewarm).response!.output).toEqual([]);
    expect((await seen()).requests).toHaveLength(0);

    const id = terminal(prewarm).response!.id;
    client.create({ model: "scripted-text", store: false, stream: true, instructions: "Be brief.", tools, previous_response_id: id, input: [{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }] });
    const turn = await client.turn();
    expect(terminal(turn).response).toMatchObject({ status: "completed", previous_response_id: id });
    const messages = await upstreamMessages(0);
    expect(messages.map((m) => [m.role, m.content])).toEqual([
      ["system", "Be brief."],
      // The prewarm's input and the turn's, one user turn (consecutive user messages are joined).
      ["user", "<environment_context>cwd=/tmp</environment_context>\n\nhi"],
    ]);
    client.ws.close();
  });

  it("a prewarm is never stored, even without store: false (nothing vouched for it); the connection still continues it", async () => {
    const client = await connect();
    client.create({ model: "scripted-text", generate: false, input: "warm" });
    const prewarm = terminal(await client.turn()).response!;
    client.create({ model: "scripted-text", previous_response_id: prewarm.id, input: "hi" });
    const real = terminal(await client.turn()).response!;
    expect(real.status).toBe("completed");
    // The real turn's write started before its terminal event; once it is readable, the prewarm's would be too.
    const deadline = Date.now() + 5_000;
    while ((await exports.default.fetch(`${BRIDGE}/v1/responses/${real.id}`)).status !== 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await exports.default.fetch(`${BRIDGE}/v1/responses/${real.id}`)).status).toBe(200);
    expect((await exports.default.fetch(`${BRIDGE}/v1/responses/${prewarm.id}`)).status).toBe(404);
    client.ws.close();
  });

  it("a tool loop with store: false sends only the new items; the upstream gets the whole chain each turn", async () => {
    const client = await connect();
    client.create({ model: "scripted-tools", store: false, tools: [WEATHER_TOOL], input: "Weather in Paris?" });
    const first = terminal(await client.turn()).response!;
    const call = first.output[0] as unknown as { type: string; call_id: string };
    expect(call.type).toBe("function_call");

    client.create({ model: "scripted-tools", store: false, tools: [WEATHER_TOOL], previous_response_id: first.id, input: [{ type: "function_call_output", call_id: call.call_id, output: "18°C" }] });
    const second = terminal(await client.turn()).response!;
    expect(JSON.stringify(second.output)).toContain("The tool said: 18°C");
    const messages = await upstreamMessages(1);
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
    expect(messages[1]!.tool_calls![0]!.id).toBe(call.call_id);
    expect(messages[2]!.tool_call_id).toBe(call.call_id);

    // And a third turn continues from the second: the chain keeps growing.
    client.create({ model: "scripted-text", store: false, previous_response_id: second.id, input: "Thanks!" });
    expect(terminal(await client.turn()).response!.status).toBe("completed");
    expect((await upstreamMessages(2)).map((m) => m.role)).toEqual(["user", "assistant", "tool", "assistant", "user"]);
    client.ws.close();
  });

  it("a stored response (another connection's, or HTTP's) is continued from the store when the connection does not know it", async () => {
    const store = new MemoryResponseStore();
    const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1` });
    const open = (init: RequestInit) => handle(new Request(`${BRIDGE}/v1/responses`, init), config, (i, r) => fetch(i, r), { storeFor: () => store });
    const stored = (await (await open({ method: "POST", body: JSON.stringify({ model: "scripted-text", input: "Remember PERIWINKLE." }) })).json()) as { id: string };
    const client = await connect(open);
    client.create({ model: "scripted-text", previous_response_id: stored.id, input: "What was the word?" });
    expect(terminal(await client.turn()).response!.status).toBe("completed");
    expect((await upstreamMessages(1)).map((m) => m.content)).toEqual(["Remember PERIWINKLE.", "Hello from the scripted upstream.", "What was the word?"]);
    client.ws.close();
  });

  it("a store write that fails twice: the terminal frame says store: false, one log line says why, and the connection still continues it", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const store = new MemoryResponseStore();
    store.put = async () => {
      throw new Error("storage unavailable");
    };
    const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1` });
    const client = await connect((init) => handle(new Request(`${BRIDGE}/v1/responses`, init), config, (i, r) => fetch(i, r), { storeFor: () => store }));
    client.create({ model: "scripted-text", input: "hi" });
    const first = terminal(await client.turn()).response! as unknown as { id: string; status: string; store: boolean };
    expect(first).toMatchObject({ status: "completed", store: false });
    expect(errors).toHaveBeenCalledTimes(1);
    expect(String(errors.mock.calls[0]![0])).toContain(`storing ${first.id} failed twice (storage unavailable; then storage unavailable)`);
    client.create({ model: "scripted-text", previous_response_id: first.id, input: "again" });
    expect(terminal(await client.turn()).response!.status).toBe("completed");
    client.ws.close();
    errors.mockRestore();
  });

  it("after a reconnect the id is unknown: error frame 400 previous_response_not_found, and the socket stays usable", async () => {
    const first = await connect();
    first.create({ model: "scripted-text", store: false, input: "hi" });
    const id = terminal(await first.turn()).response!.id;
    first.ws.close();

    const second = await connect();
    second.create({ model: "scripted-text", store: false, previous_response_id: id, input: "again" });
    expect(await second.turn()).toEqual([
      { type: "error", status: 400, error: { type: "invalid_request_error", code: "previous_response_not_found", message: `Previous response with id '${id}' not found.`, param: "previous_response_id", request_id: expect.stringMatching(/^req_/) }, request_id: expect.stringMatching(/^req_/) },
    ]);
    // What Codex then does: the whole history, no previous_response_id.
    second.create({ model: "scripted-text", store: false, input: [{ role: "user", content: "hi" }, { role: "user", content: "again" }] });
    expect(terminal(await second.turn()).response!.status).toBe("completed");
    expect((await seen()).requests).toHaveLength(2);
    second.ws.close();
  });

  it("a continuation that fails evicts the response it continued (upstream HTTP error, or a failure mid-stream)", async () => {
    const client = await connect();
    for (const failing of ["scripted-429", "scripted-midstream-error"]) {
      client.create({ model: "scripted-text", store: false, input: "hi" });
      const id = terminal(await client.turn()).response!.id;
      client.create({ model: failing, store: false, previous_response_id: id, input: "next" });
      const failed = terminal(await client.turn());
      if (failing === "scripted-429") {
        // The upstream's status and back-off headers, as Codex reads them from an error frame.
        expect(failed).toMatchObject({ type: "error", status: 429, error: { code: "rate_limit_exceeded" }, headers: { "retry-after": "7" } });
      } else {
        expect(failed.type).toBe("response.failed");
      }
      client.create({ model: "scripted-text", store: false, previous_response_id: id, input: "retry" });
      expect(terminal(await client.turn())).toMatchObject({ type: "error", status: 400, error: { code: "previous_response_not_found" } });
    }
    client.ws.close();
  });
});

describe("errors are frames, and the connection stays usable", () => {
  it("bad frames and bad requests each get an error frame; the next request succeeds", async () => {
    const client = await connect();
    const cases: Array<[unknown, Partial<NonNullable<Message["error"]>>]> = [
      ["{not json", { code: "invalid_json" }],
      ["[1,2]", { code: "invalid_frame" }],
      [{ type: "session.update" }, { code: "invalid_value", param: "type" }],
      [{ type: "response.create", input: "no model" }, { code: "missing_required_parameter", param: "model" }],
      [{ type: "response.create", model: "scripted-text", input: "x", background: true }, { code: "unsupported_parameter", param: "background" }],
      [{ type: "response.create", model: "scripted-text", input: [{ type: "compaction", encrypted_content: "rb1.forged" }] }, { code: "invalid_encrypted_content" }],
      // An error with no code of its own still has one in the frame: the spec's WebSocketErrorEvent requires a string.
      [{ type: "response.create", model: "scripted-text", input: "x", tools: [{ type: "namespace" }] }, { code: "invalid_request_error", param: "tools[0]" }],
      [{ type: "response.create", model: "scripted-text", input: "x", previous_response_id: 42 }, { code: "invalid_type", param: "previous_response_id" }],
    ];
    for (const [frame, error] of cases) {
      client.send(frame);
      const [reply] = await client.turn();
      expect(reply).toMatchObject({ type: "error", status: 400, error: { type: "invalid_request_error", ...error } });
    }
    client.ws.send(new Uint8Array([1, 2, 3]));
    expect(await client.next()).toMatchObject({ type: "error", status: 400, error: { code: "invalid_frame" } });
    expect((await seen()).requests).toHaveLength(0);

    client.create({ model: "scripted-text", input: "now a good one" });
    expect(terminal(await client.turn()).response!.status).toBe("completed");
    client.ws.close();
  });

  it("response.processed acknowledgements (Codex) are accepted silently", async () => {
    const client = await connect();
    client.send({ type: "response.processed", response_id: "resp_x" });
    client.create({ model: "scripted-text", input: "hi" });
    expect((await client.turn())[0]!.type).toBe("response.created");
    client.ws.close();
  });

  it("the upstream key never reaches the client in an error frame", async () => {
    const client = await connect();
    client.create({ model: "scripted-midstream-error-echo", input: "hi" });
    const turn = await client.turn();
    expect(terminal(turn).type).toBe("response.failed");
    expect(JSON.stringify(turn)).not.toContain("sk-upstream-secret");
    expect(JSON.stringify(turn)).toContain("[redacted]");
    client.ws.close();
  });
});

describe("the connection itself", () => {
  it("GET without an upgrade is 426; the upgrade needs a proxy key when PROXY_API_KEYS is set", async () => {
    const plain = await exports.default.fetch(`${BRIDGE}/v1/responses`);
    expect(plain.status).toBe(426);
    expect(await plain.json()).toMatchObject({ error: { code: "upgrade_required" } });
    const locked = withEnv({ PROXY_API_KEYS: "pk-1" });
    const denied = await locked("/v1/responses", { headers: { upgrade: "websocket" } });
    expect(denied.status).toBe(401);
    const client = await connect((init) => locked("/responses", init), { authorization: "Bearer pk-1" });
    client.create({ model: "scripted-text", input: "hi" });
    expect(terminal(await client.turn()).response!.status).toBe("completed");
    client.ws.close();
  });

  it("closing the socket cancels the running upstream request", async () => {
    // An upstream that sends the start of an answer, then holds the stream open; it records what the bridge does to it.
    // (Miniflare's outbound service does not pass a cancel on to the scripted server, so it is observed here, at the fetch.)
    const upstream = { cancelled: false, aborted: false };
    const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1` });
    const chunk = (delta: Record<string, unknown>) => new TextEncoder().encode(`data: ${JSON.stringify({ created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`);
    const fetchUpstream: Fetch = async (_input, init) => {
      init?.signal?.addEventListener("abort", () => (upstream.aborted = true));
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(chunk({ role: "assistant", content: "" }));
          c.enqueue(chunk({ content: "partial" }));
        },
        cancel() {
          upstream.cancelled = true;
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const client = await connect((init) => handle(new Request(`${BRIDGE}/v1/responses`, init), config, fetchUpstream));
    client.create({ model: "m", input: "hi" });
    while ((await client.next()).type !== "response.output_text.delta");
    client.ws.close(1000, "bye");
    const deadline = Date.now() + 8_000;
    while (!upstream.cancelled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(upstream).toEqual({ cancelled: true, aborted: true });
  }, 15_000);

  it("an idle connection is closed after WS_IDLE_TIMEOUT_MS; a running response keeps it open", async () => {
    const open = withEnv({ WS_IDLE_TIMEOUT_MS: "300" });
    const client = await connect((init) => open("/v1/responses", init));
    // A response that takes longer than the idle time (the upstream waits 2 s) is not cut off.
    client.create({ model: "scripted-slow", input: "hi" });
    expect(terminal(await client.turn()).response!.status).toBe("completed");
    expect(client.closed).toBeNull();
    const closed = await client.untilClosed();
    expect(closed.code).toBe(1000);
    expect(closed.reason).toMatch(/idle/);
  });
});

describe("compaction over the WebSocket", () => {
  it("a chain can start from a compacted history, and its continuation still carries the summary", async () => {
    const compacted = (await (await post("/v1/responses/compact", { model: "scripted-text", input: [{ role: "user", content: "Plan a trip" }, { role: "assistant", content: "Paris, then Lyon." }] })).json()) as { output: unknown[] };
    await resetSeen();
    const client = await connect();
    client.create({ model: "scripted-text", store: false, input: [...compacted.output, { role: "user", content: "How long in Lyon?" }] });
    const id = terminal(await client.turn()).response!.id;
    client.create({ model: "scripted-text", store: false, previous_response_id: id, input: "And in Paris?" });
    expect(terminal(await client.turn()).response!.status).toBe("completed");
    for (const i of [0, 1]) {
      const messages = await upstreamMessages(i);
      expect(messages[0]!.content).toMatch(/\n\nSummary of the earlier part of this conversation[\s\S]*Hello from the scripted upstream\./);
    }
    expect((await upstreamMessages(1)).map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    client.ws.close();
  });
});
