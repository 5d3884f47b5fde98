import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { analyticsSink } from "../../worker/cloudflare/analytics.ts";
import { keyLedger } from "../../worker/cloudflare/key-limits-object.ts";
import type { Env } from "../../worker/env.ts";
import worker from "../../worker/index.ts";
import { ConfigError, configFromEnv } from "../../worker/config.ts";
import type { Fetch, Platform } from "../../worker/router.ts";
import type { KeyLedger, ResponseLine } from "../../worker/ops/types.ts";
import { upstreamTag } from "../../src/convert/reasoning-origin.ts";
import { createResponsesReader, type ResponsesReaderOptions } from "../../src/index.ts";
import { clockFirstBatch } from "../../worker/ops/fallback.ts";
import { newTrace } from "../../worker/ops/request.ts";
import { events, seen, UPSTREAM, withEnv } from "./bridge.ts";

// Operators' side of the Worker (issue 19): log lines, analytics, named keys with limits counted
// on a Durable Object per key, usage, request ids, fail-closed, MODEL_MAP fallbacks.

type Json = Record<string, unknown>;
const ALICE = "sk-alice-0123456789";
const BOB = "sk-bob-0123456789";
const DAVE = "sk-dave-0123456789";

let logged: ResponseLine[] = [];
beforeEach(() => {
  logged = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    const text = String(args[0]);
    if (text.startsWith('{"event":"response"')) logged.push(JSON.parse(text) as ResponseLine);
  });
});
afterEach(() => vi.restoreAllMocks());

/**
 * The handler with named keys, over the real KEY_LIMITS Durable Objects (each test its own key
 * names, so counters never meet), counting every call to them, and keeping `waitUntil` work.
 */
function bridge(vars: Partial<Env>, fetchUpstream?: Fetch, ledger?: (name: string) => KeyLedger) {
  const run = crypto.randomUUID();
  const calls = { admit: 0, record: 0, usage: 0 };
  const later: Array<Promise<unknown>> = [];
  const points: ResponseLine[] = [];
  const platform: Platform = {
    waitUntil: (p) => void later.push(p),
    ledgerFor: (name) => {
      const real = ledger?.(name) ?? keyLedger(env.KEY_LIMITS, `${run}:${name}`);
      return {
        admit: (l) => (calls.admit++, real.admit(l)),
        record: (e) => (calls.record++, real.record(e)),
        usage: () => (calls.usage++, real.usage()),
        remember: (ids) => real.remember(ids),
        owned: (ids) => real.owned(ids),
      };
    },
    analytics: (line) => void points.push(line),
  };
  const call = withEnv(vars, fetchUpstream, platform);
  return {
    calls,
    points,
    /** Work left for after the answer (usage counting). */
    settle: async () => {
      while (later.length) await Promise.all(later.splice(0));
    },
    post: (body: Json, key?: string, headers: Record<string, string> = {}) =>
      call("/v1/responses", { method: "POST", headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers }, body: JSON.stringify(body) }),
    get: (path: string, key?: string) => call(path, { headers: key ? { authorization: `Bearer ${key}` } : {} }),
    call,
  };
}

const keys = (o: Json) => ({ PROXY_API_KEYS: JSON.stringify(o) });

describe("one JSON log line per response", () => {
  it("SSE: every field, the key's name (never the key), tokens, timings, the request id of the answer", async () => {
    const b = bridge(keys({ alice: ALICE }));
    const res = await b.post({ model: "scripted-reasoning", input: "hi", stream: true }, ALICE);
    const list = events(await res.text());
    expect(list.at(-1)!.type).toBe("response.completed");
    expect(logged).toHaveLength(1);
    const line = logged[0]!;
    expect(Object.keys(line).sort()).toEqual(
      ["event", "response_id", "status", "key", "model", "upstream_model", "upstream", "transport", "endpoint", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens", "ttft_ms", "duration_ms", "attempts", "error_code", "http_status", "dropped_fields", "upstream_provider", "request_id"].sort(),
    );
    expect(line).toMatchObject({ event: "response", status: "completed", key: "alice", model: "scripted-reasoning", upstream_model: "scripted-reasoning", upstream: `${UPSTREAM}/v1`, transport: "sse", endpoint: "responses", input_tokens: 11, output_tokens: 7, attempts: 1, error_code: null });
    expect(line.response_id).toBe((list.at(-1) as unknown as { response: { id: string } }).response.id);
    expect(line.request_id).toBe(res.headers.get("x-request-id"));
    expect(line.request_id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(typeof line.ttft_ms).toBe("number");
    expect(line.ttft_ms!).toBeGreaterThanOrEqual(0);
    expect(line.ttft_ms!).toBeLessThanOrEqual(line.duration_ms);
    expect(JSON.stringify(logged)).not.toContain(ALICE);
    // The same facts went to Analytics Engine.
    expect(b.points).toEqual(logged);
  });

  it("JSON: transport json, no ttft; the client's x-request-id is kept, answered and sent upstream", async () => {
    const b = bridge(keys({ alice: ALICE }));
    const res = await b.post({ model: "scripted-text", input: "hi" }, ALICE, { "x-request-id": "my-trace-42" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("my-trace-42");
    expect(logged).toEqual([expect.objectContaining({ transport: "json", status: "completed", ttft_ms: null, request_id: "my-trace-42", input_tokens: 11, output_tokens: 7 })]);
    const up = (await seen()).requests.filter((r) => r.headers["x-request-id"] === "my-trace-42");
    expect(up).toHaveLength(1);
  });

  it("compaction: endpoint compact, transport json", async () => {
    const b = bridge({ ...keys({ alice: ALICE }), BRIDGE_SECRET: "s3cret" });
    const res = b.call("/v1/responses/compact", { method: "POST", headers: { authorization: `Bearer ${ALICE}` }, body: JSON.stringify({ model: "scripted-text", input: [{ role: "user", content: "hello" }] }) });
    expect((await res).status).toBe(200);
    expect(logged).toEqual([expect.objectContaining({ endpoint: "compact", transport: "json", status: "completed", key: "alice" })]);
  });

  it("remote compaction (a compaction_trigger request) is one line too, with the summary call's tokens", async () => {
    const b = bridge({ ...keys({ alice: ALICE }), BRIDGE_SECRET: "s3cret" });
    const res = await b.post({ model: "scripted-text", input: [{ role: "user", content: "hello" }, { type: "compaction_trigger" }], stream: true }, ALICE);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('"type":"compaction"');
    expect(logged).toEqual([expect.objectContaining({ transport: "sse", status: "completed", key: "alice", input_tokens: 11, output_tokens: 7, error_code: null })]);
    expect(logged[0]!.response_id).toMatch(/^resp_/);
  });

  it("a failure before the response began is a line too: status failed, the error's code and status; the body carries the request id", async () => {
    const b = bridge(keys({ alice: ALICE }));
    const res = await b.post({ model: "scripted-429", input: "hi", stream: true }, ALICE);
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: { request_id: string } };
    expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
    expect(logged).toEqual([expect.objectContaining({ status: "failed", error_code: "rate_limit_exceeded", http_status: 429, response_id: null, model: "scripted-429", attempts: 1, request_id: body.error.request_id })]);
  });

  it("a failure after it began: the line says failed with the stream's error code", async () => {
    const b = bridge(keys({ alice: ALICE }));
    await (await b.post({ model: "scripted-midstream-error", input: "hi", stream: true }, ALICE)).text();
    expect(logged).toEqual([expect.objectContaining({ status: "failed", error_code: "rate_limit_exceeded", http_status: null, attempts: 1 })]);
    expect(logged[0]!.response_id).toMatch(/^resp_/);
  });

  it("time to first token: the first batch is clocked, then the reader's options are as before (nothing per token)", async () => {
    const chunk = (content: string) => `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]}\n\n`;
    const end = 'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n';
    // One upstream read per chunk, so one batch each.
    const body = () => new ReadableStream<Uint8Array>({ start: (c) => [...["a", "b", "c"].map(chunk), end].forEach((t, i, all) => (c.enqueue(new TextEncoder().encode(t)), i === all.length - 1 && c.close())) });
    for (const inner of [undefined, vi.fn()]) {
      const trace = newTrace("responses", "sse");
      const options: ResponsesReaderOptions = inner ? { beforeFlush: inner } : {};
      clockFirstBatch(options, trace);
      const reader = createResponsesReader(body(), options);
      const sink = { event: () => {} };
      await reader.pull(sink);
      expect(trace.firstAt).toBeGreaterThan(0);
      expect(options.beforeFlush).toBe(inner);
      while (await reader.pull(sink));
      if (inner) expect(inner.mock.calls.length).toBeGreaterThan(1);
    }
  });

  it("Analytics Engine: one data point, fixed columns, the key as index", () => {
    const written: AnalyticsEngineDataPoint[] = [];
    const sink = analyticsSink({ writeDataPoint: (p) => void written.push(p!) } as AnalyticsEngineDataset);
    const line: ResponseLine = { event: "response", response_id: "resp_1", status: "completed", key: "alice", model: "fast", upstream_model: "qwen3", upstream: "http://10.0.0.5:8000/v1", transport: "sse", endpoint: "responses", input_tokens: 100, output_tokens: 20, cached_tokens: 64, reasoning_tokens: 5, ttft_ms: 321, duration_ms: 900, attempts: 2, error_code: null, http_status: null, dropped_fields: [], upstream_provider: null, request_id: "req_1" };
    sink(line);
    sink({ ...line, transport: "json", ttft_ms: null, key: null });
    expect(written[0]).toEqual({
      indexes: ["alice"],
      blobs: ["alice", "fast", "qwen3", "sse", "completed", "", "http://10.0.0.5:8000/v1", "responses", "req_1", "resp_1"],
      doubles: [100, 20, 64, 5, 321, 900, 2, 0],
    });
    expect(written[1]!.doubles![4]).toBe(-1);
    expect(written[1]!.indexes).toEqual(["anonymous"]);
  });
});

describe("named keys with limits", () => {
  it("requests_per_minute: 10 parallel requests against a limit of 3, exactly 3 pass; the rest are OpenAI's 429 with its headers", async () => {
    const b = bridge(keys({ alice: { key: ALICE, requests_per_minute: 3 } }));
    const answers = await Promise.all(Array.from({ length: 10 }, () => b.post({ model: "scripted-text", input: "hi" }, ALICE)));
    const ok = answers.filter((r) => r.status === 200);
    const limited = answers.filter((r) => r.status === 429);
    expect(ok).toHaveLength(3);
    expect(limited).toHaveLength(7);
    for (const r of limited) {
      const body = (await r.json()) as { error: Json };
      expect(body.error).toMatchObject({ type: "requests", code: "rate_limit_exceeded", param: null });
      expect(body.error.message).toMatch(/^Rate limit reached for key alice on requests per min \(RPM\): Limit 3, Used 3, Requested 1\. Please try again in (\d+m)?[\d.]+s\.$/);
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(Number(r.headers.get("retry-after"))).toBeLessThanOrEqual(60);
      expect(r.headers.get("x-ratelimit-limit-requests")).toBe("3");
      expect(r.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(r.headers.get("x-ratelimit-reset-requests")).toMatch(/^(\d+m)?\d+(\.\d)?s$|^\d+ms$/);
    }
    await Promise.all(ok.map((r) => r.text()));
    expect(b.calls.admit).toBe(10);
    expect(logged.filter((l) => l.error_code === "rate_limit_exceeded")).toHaveLength(7);
  });

  it("the count is the Durable Object's: two Workers (isolates) with the same key share it", async () => {
    const run = crypto.randomUUID();
    const shared = (name: string) => keyLedger(env.KEY_LIMITS, `${run}:${name}`);
    const a = bridge(keys({ alice: { key: ALICE, requests_per_minute: 2 } }), undefined, shared);
    const c = bridge(keys({ alice: { key: ALICE, requests_per_minute: 2 } }), undefined, shared);
    const statuses = await Promise.all([a, c, a, c].map(async (w) => (await w.post({ model: "scripted-text", input: "hi" }, ALICE)).status));
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2);
  });

  it("tokens_per_day: counted after each response; once today's input + output reach the budget, 429 insufficient_quota", async () => {
    const b = bridge(keys({ alice: { key: ALICE, tokens_per_day: 30 } }));
    expect((await b.post({ model: "scripted-text", input: "hi" }, ALICE)).status).toBe(200);
    await b.settle();
    // 18 of 30 used: still allowed.
    await (await b.post({ model: "scripted-text", input: "hi", stream: true }, ALICE)).text();
    await b.settle();
    const over = await b.post({ model: "scripted-text", input: "hi" }, ALICE);
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: Json }).error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota", param: null });
    expect(over.headers.get("x-ratelimit-limit-tokens")).toBe("30");
    expect(over.headers.get("x-ratelimit-remaining-tokens")).toBe("0");
  });

  it("tokens_per_day counts chat completions answered from a Responses upstream too (streamed and not), with their own log line", async () => {
    const b = bridge({ ...keys({ alice: { key: ALICE, tokens_per_day: 30 } }), UPSTREAM_API: "responses" });
    const chat = (stream: boolean) => b.call("/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${ALICE}` }, body: JSON.stringify({ model: "scripted-text", stream, messages: [{ role: "user", content: "hi" }] }) });
    expect((await chat(false)).status).toBe(200);
    await b.settle();
    await (await chat(true)).text();
    await b.settle();
    const over = await chat(false);
    expect(over.status).toBe(429);
    expect(((await over.json()) as { error: Json }).error).toMatchObject({ code: "insufficient_quota" });
    expect(logged.filter((l) => l.status === "completed").map((l) => [l.endpoint, l.input_tokens, l.output_tokens])).toEqual([
      ["chat_completions", 11, 7],
      ["chat_completions", 11, 7],
    ]);
  });

  it("models: a model outside the globs is OpenAI's 404 model_not_found, before any upstream call", async () => {
    const b = bridge(keys({ alice: { key: ALICE, models: ["scripted-t*", "exact-one"] } }));
    expect((await b.post({ model: "scripted-text", input: "hi" }, ALICE)).status).toBe(200);
    const res = await b.post({ model: "scripted-reasoning", input: "hi" }, ALICE, { "x-request-id": "models-check" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: Json }).error).toEqual({ message: "The model `scripted-reasoning` does not exist or you do not have access to it.", type: "invalid_request_error", param: null, code: "model_not_found", request_id: "models-check" });
    expect((await seen()).requests.filter((r) => r.headers["x-request-id"] === "models-check")).toHaveLength(0);
    // Pass-through chat completions obey it too.
    const chat = await b.call("/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${ALICE}` }, body: JSON.stringify({ model: "gpt-4o", messages: [] }) });
    expect(chat.status).toBe(404);
    // And so do chat completions converted for a Responses upstream (the reverse direction), before any upstream call.
    const reverse = bridge({ ...keys({ alice: { key: ALICE, models: ["scripted-t*"] } }), UPSTREAM_API: "responses" });
    const refused = await reverse.call("/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${ALICE}`, "x-request-id": "reverse-models" }, body: JSON.stringify({ model: "gpt-5-pro", messages: [{ role: "user", content: "hi" }] }) });
    expect(refused.status).toBe(404);
    expect(((await refused.json()) as { error: Json }).error).toMatchObject({ code: "model_not_found" });
    expect((await seen()).requests.filter((r) => r.headers["x-request-id"] === "reverse-models")).toHaveLength(0);
  });

  it("a key without limits costs no Durable Object call on the way; its usage is counted after the answer", async () => {
    // A ledger whose writes never finish: the answers must not wait for them.
    const never: KeyLedger = { admit: () => new Promise(() => {}), record: () => new Promise(() => {}), usage: async () => [], remember: () => new Promise(() => {}), owned: () => new Promise(() => {}) };
    const b = bridge({ PROXY_API_KEYS: `${DAVE}, ${BOB}` }, undefined, () => never);
    const res = await b.post({ model: "scripted-text", input: "hi", stream: true }, DAVE);
    expect(events(await res.text()).at(-1)!.type).toBe("response.completed");
    expect((await b.post({ model: "scripted-text", input: "hi" }, DAVE)).status).toBe(200);
    expect(b.calls.admit).toBe(0);
    expect(b.calls.record).toBe(2);
    // The comma form has no names: a short hash of the key stands in.
    expect(logged.map((l) => l.key)).toEqual([expect.stringMatching(/^key_[0-9a-f]{12}$/), logged[0]!.key]);
    expect(logged[0]!.key).not.toContain(DAVE);
  });
});

describe("GET /v1/usage", () => {
  it("a key's own rows per date and model; totals equal the sum of its responses; no other key's", async () => {
    const b = bridge(keys({ alice: ALICE, bob: { key: BOB, requests_per_minute: 100 } }));
    await (await b.post({ model: "scripted-text", input: "hi", stream: true }, ALICE)).text();
    await (await b.post({ model: "scripted-text", input: "hi" }, ALICE)).text();
    await (await b.post({ model: "scripted-reasoning", input: "hi" }, ALICE)).text();
    await (await b.post({ model: "scripted-text", input: "hi" }, BOB)).text();
    await b.settle();
    const today = new Date().toISOString().slice(0, 10);
    const usage = async (key: string) => {
      const res = await b.get("/v1/usage", key);
      expect(res.status).toBe(200);
      return (await res.json()) as { object: string; data: Array<Json> };
    };
    const alice = await usage(ALICE);
    expect(alice).toEqual({
      object: "list",
      data: [
        { date: today, model: "scripted-reasoning", requests: 1, input_tokens: 11, output_tokens: 7, cached_tokens: 0, reasoning_tokens: 0 },
        { date: today, model: "scripted-text", requests: 2, input_tokens: 22, output_tokens: 14, cached_tokens: 0, reasoning_tokens: 0 },
      ],
    });
    const mine = logged.filter((l) => l.key === "alice");
    const sum = (f: "input_tokens" | "output_tokens") => mine.reduce((n, l) => n + l[f], 0);
    expect(alice.data.reduce((n, r) => n + (r.input_tokens as number), 0)).toBe(sum("input_tokens"));
    expect(alice.data.reduce((n, r) => n + (r.output_tokens as number), 0)).toBe(sum("output_tokens"));
    expect((await usage(BOB)).data).toEqual([{ date: today, model: "scripted-text", requests: 1, input_tokens: 11, output_tokens: 7, cached_tokens: 0, reasoning_tokens: 0 }]);
    expect((await b.get("/v1/usage", "sk-nobody")).status).toBe(401);
    expect((await b.get("/v1/usage")).status).toBe(401);
  });

  it("without PROXY_API_KEYS there is no key to report on: 400", async () => {
    const res = await bridge({}).get("/v1/usage");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: Json }).error).toMatchObject({ code: "usage_requires_keys" });
  });
});

describe("request ids", () => {
  it("every answer carries x-request-id: errors before routing, pass-through; the upstream gets it too", async () => {
    const b = bridge(keys({ alice: ALICE }));
    for (const res of [await b.get("/v1/nowhere", ALICE), await b.get("/v1/models", "sk-wrong"), await b.get("/v1/models", ALICE)]) {
      expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
    }
    const models = await b.call("/v1/models", { headers: { authorization: `Bearer ${ALICE}`, "x-request-id": "models-req" } });
    expect(models.headers.get("x-request-id")).toBe("models-req");
    expect((await seen()).requests.filter((r) => r.headers["x-request-id"] === "models-req")).toHaveLength(1);
  });
});

/** A minimal Responses WebSocket client over the handler. */
async function socket(b: ReturnType<typeof bridge>, key: string) {
  const res = await b.call("/v1/responses", { headers: { upgrade: "websocket", authorization: `Bearer ${key}` } });
  expect(res.status).toBe(101);
  expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  const ws = res.webSocket!;
  ws.accept();
  const inbox: Json[] = [];
  ws.addEventListener("message", (e) => void inbox.push(JSON.parse(e.data as string) as Json));
  const turn = async (frame: Json): Promise<Json[]> => {
    ws.send(JSON.stringify({ type: "response.create", ...frame }));
    const out: Json[] = [];
    const deadline = Date.now() + 10_000;
    for (;;) {
      while (!inbox.length) {
        if (Date.now() > deadline) throw new Error("no terminal frame in time");
        await new Promise((r) => setTimeout(r, 20));
      }
      const m = inbox.shift()!;
      out.push(m);
      if (m.type === "response.completed" || m.type === "response.failed" || m.type === "error") return out;
    }
  };
  return { ws, turn };
}

describe("limits on the WebSocket", () => {
  it("the same answers as error frames with status, code, headers and request_id; the socket stays usable", async () => {
    const b = bridge(keys({ alice: { key: ALICE, requests_per_minute: 2, models: ["scripted-*"] } }));
    const { ws, turn } = await socket(b, ALICE);
    expect((await turn({ model: "scripted-text", input: "1" })).at(-1)!.type).toBe("response.completed");
    const denied = (await turn({ model: "gpt-4o", input: "2" })).at(-1)!;
    expect(denied).toMatchObject({ type: "error", status: 404, error: { code: "model_not_found", message: "The model `gpt-4o` does not exist or you do not have access to it." } });
    expect(denied.request_id).toMatch(/^req_/);
    expect((await turn({ model: "scripted-text", input: "3" })).at(-1)!.type).toBe("response.completed");
    const limited = (await turn({ model: "scripted-text", input: "4" })).at(-1)!;
    expect(limited).toMatchObject({ type: "error", status: 429, error: { type: "requests", code: "rate_limit_exceeded" }, headers: { "x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0" } });
    expect((limited.error as Json).request_id).toBe(limited.request_id);
    // Still open: a prewarm (no upstream call, not counted) completes.
    expect((await turn({ model: "scripted-text", input: "5", generate: false })).at(-1)!.type).toBe("response.completed");
    // One line per frame, each with its own request id, transport websocket.
    expect(logged.map((l) => [l.transport, l.status, l.error_code])).toEqual([
      ["websocket", "completed", null],
      ["websocket", "failed", "model_not_found"],
      ["websocket", "completed", null],
      ["websocket", "failed", "rate_limit_exceeded"],
      ["websocket", "completed", null],
    ]);
    expect(new Set(logged.map((l) => l.request_id)).size).toBe(5);
    expect(logged[0]!.ttft_ms).toEqual(expect.any(Number));
    ws.close();
  });

  it("with a Responses upstream too: a key with limits gets its frames relayed one by one, each admitted", async () => {
    const b = bridge({ ...keys({ alice: { key: ALICE, requests_per_minute: 5, models: ["scripted-*"] } }), UPSTREAM_API: "responses" });
    const { ws, turn } = await socket(b, ALICE);
    expect((await turn({ model: "scripted-text", input: "1" })).at(-1)!.type).toBe("response.completed");
    const denied = (await turn({ model: "gpt-5-pro", input: "2" })).at(-1)!;
    expect(denied).toMatchObject({ type: "error", status: 404, error: { code: "model_not_found" } });
    expect(b.calls.admit).toBe(1);
    ws.close();
  });
});

describe("fail closed", () => {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  const holding = { ...env, ALLOW_ANONYMOUS: undefined, PROXY_API_KEYS: undefined, UPSTREAM_API_KEY: "sk-owner-0123456789" } as Env;
  const ask = (url: string, e: Env, headers: Record<string, string> = {}) => worker.fetch(new Request(url, { headers }), e, ctx);

  it("holding UPSTREAM_API_KEY without PROXY_API_KEYS: a client from outside loopback gets 401 naming PROXY_API_KEYS", async () => {
    const res = await ask("https://bridge.example.com/v1/models", holding, { "cf-connecting-ip": "203.0.113.7", "x-request-id": "outside" });
    expect(res.status).toBe(401);
    expect(res.headers.get("x-request-id")).toBe("outside");
    const error = ((await res.json()) as { error: { message: string; code: string; request_id: string } }).error;
    expect(error.message).toContain("PROXY_API_KEYS");
    expect(error).toMatchObject({ code: "invalid_api_key", request_id: "outside" });
    expect((await seen()).requests.filter((r) => r.headers["x-request-id"] === "outside")).toHaveLength(0);
    // Addressed as localhost but connected from elsewhere (Cloudflare says so): refused too.
    expect((await ask("http://localhost:8787/v1/models", holding, { "cf-connecting-ip": "203.0.113.7" })).status).toBe(401);
  });

  it("loopback keeps serving; ALLOW_ANONYMOUS=true or PROXY_API_KEYS open it on purpose; without UPSTREAM_API_KEY nothing is lent", async () => {
    expect((await ask("http://127.0.0.1:8787/v1/models", holding)).status).toBe(200);
    expect((await ask("http://localhost:8787/v1/models", holding, { "cf-connecting-ip": "127.0.0.1" })).status).toBe(200);
    expect((await ask("http://[::1]:8787/v1/models", holding)).status).toBe(200);
    const outside = { "cf-connecting-ip": "203.0.113.7" };
    expect((await ask("https://bridge.example.com/v1/models", { ...holding, ALLOW_ANONYMOUS: "true" }, outside)).status).toBe(200);
    expect((await ask("https://bridge.example.com/v1/models", { ...holding, PROXY_API_KEYS: ALICE }, { ...outside, authorization: `Bearer ${ALICE}` })).status).toBe(200);
    expect((await ask("https://bridge.example.com/v1/models", { ...holding, UPSTREAM_API_KEY: undefined }, { ...outside, authorization: "Bearer sk-client" })).status).toBe(200);
  });

  it("an owner's key held only in MODEL_MAP (api_key) closes it just the same", async () => {
    const mapOnly = { ...holding, UPSTREAM_API_KEY: undefined, MODEL_MAP: JSON.stringify({ "*": { model: "scripted-text", api_key: "sk-owner-in-map" } }) } as Env;
    expect((await ask("https://bridge.example.com/v1/models", mapOnly, { "cf-connecting-ip": "203.0.113.7" })).status).toBe(401);
    expect((await ask("http://127.0.0.1:8787/v1/models", mapOnly)).status).toBe(200);
  });
});

describe("a MODEL_MAP route's own api_key", () => {
  it("goes to that route's upstream on every path (responses, chat pass-through, a Responses upstream), never UPSTREAM_API_KEY", async () => {
    const routes = { MODEL_MAP: JSON.stringify({ fast: { model: "scripted-text", base_url: `${UPSTREAM}/v1`, api_key: "sk-route-own" }, g: { model: "scripted-text", base_url: `${UPSTREAM}/v1`, api: "responses", api_key: "sk-route-g" } }) };
    const b = bridge({ ...keys({ alice: ALICE }), ...routes });
    const sent = async (id: string) => (await seen()).requests.filter((r) => r.headers["x-request-id"] === id).map((r) => r.headers.authorization);
    await (await b.post({ model: "fast", input: "hi" }, ALICE, { "x-request-id": "route-key-1" })).text();
    await (await b.call("/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${ALICE}`, "x-request-id": "route-key-2" }, body: JSON.stringify({ model: "fast", messages: [{ role: "user", content: "hi" }] }) })).text();
    await (await b.call("/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${ALICE}`, "x-request-id": "route-key-3" }, body: JSON.stringify({ model: "g", messages: [{ role: "user", content: "hi" }] }) })).text();
    expect(await sent("route-key-1")).toEqual(["Bearer sk-route-own"]);
    expect(await sent("route-key-2")).toEqual(["Bearer sk-route-own"]);
    expect(await sent("route-key-3")).toEqual(["Bearer sk-route-g"]);
  });
});

describe("MODEL_MAP fallback", () => {
  const DEAD = "http://dead.test/v1";
  /** The scripted upstream, except that dead.test refuses connections. */
  const net: Fetch = (input, init) => (new URL(String(input instanceof Request ? input.url : input)).host === "dead.test" ? Promise.reject(new TypeError("connect ECONNREFUSED")) : fetch(input, init));
  const map = (fallback: unknown[]) => ({ MODEL_MAP: JSON.stringify({ fast: { model: "scripted-text", base_url: DEAD, fallback } }) });

  it("from a dead upstream past a 5xx to a live one, before the first byte; the log shows attempts and the upstream used", async () => {
    const b = bridge({ ...keys({ alice: { key: ALICE, requests_per_minute: 10 } }), ...map([{ model: "scripted-500", base_url: `${UPSTREAM}/v1`, api_key: "sk-second-provider" }, "scripted-reasoning"]) }, net);
    const res = await b.post({ model: "fast", input: "hi", stream: true }, ALICE, { "x-request-id": "fallback-1" });
    expect(res.status).toBe(200);
    const list = events(await res.text());
    expect(list.at(-1)!.type).toBe("response.completed");
    expect(logged).toEqual([expect.objectContaining({ model: "fast", upstream_model: "scripted-reasoning", upstream: `${UPSTREAM}/v1`, attempts: 3, status: "completed" })]);
    // Three upstream attempts (a small body that may have reached the dead one is not sent to it again), one request against the key's limit.
    expect(b.calls.admit).toBe(1);
    const asked = (await seen()).requests.filter((r) => r.headers["x-request-id"] === "fallback-1");
    expect(asked.map((r) => r.body.model)).toEqual(["scripted-500", "scripted-reasoning"]);
    // A fallback object's own key goes to it; the default upstream gets the Worker's (none here: the proxy key is never sent).
    expect(asked.map((r) => r.headers.authorization)).toEqual(["Bearer sk-second-provider", undefined]);
    // Reasoning is tagged with the upstream that produced it, so it goes back there.
    const done = list.at(-1) as unknown as { response: { output: Array<{ type: string; id: string }> } };
    const reasoning = done.response.output.find((o) => o.type === "reasoning")!;
    expect(reasoning.id.endsWith(upstreamTag(`${UPSTREAM}/v1 scripted-reasoning`))).toBe(true);
  });

  it("reasoning round trips follow the upstream actually used", async () => {
    const b = bridge(map(["scripted-reasoning"]), net);
    const first = (await (await b.post({ model: "fast", input: "hi", store: false }, undefined)).json()) as { output: Array<Json> };
    await b.post({ model: "fast", input: [{ role: "user", content: "hi" }, ...first.output, { role: "user", content: "again" }], store: false }, undefined, { "x-request-id": "fallback-2" });
    const second = (await seen()).requests.filter((r) => r.headers["x-request-id"] === "fallback-2")[0]!;
    const assistant = (second.body.messages as Array<Json>).find((m) => m.role === "assistant")!;
    expect(assistant.reasoning_content).toBe("The user wants a greeting. Keep it short.");
  });

  it("a 429 moves on too; an answer that has begun is never retried; without fallbacks the error is the client's", async () => {
    const b = bridge({ ...keys({ alice: ALICE }), ...map(["scripted-text"]) }, net);
    const limited = bridge({ MODEL_MAP: JSON.stringify({ fast: { model: "scripted-429", fallback: ["scripted-text"] } }) });
    expect((await limited.post({ model: "fast", input: "hi" })).status).toBe(200);
    expect(logged.at(-1)).toMatchObject({ attempts: 2, upstream_model: "scripted-text" });
    const begun = bridge({ MODEL_MAP: JSON.stringify({ fast: { model: "scripted-midstream-error", fallback: ["scripted-text"] } }) });
    const list = events(await (await begun.post({ model: "fast", input: "hi", stream: true }, undefined, { "x-request-id": "begun" })).text());
    expect(list.at(-1)!.type).toBe("response.failed");
    expect((await seen()).requests.filter((r) => r.headers["x-request-id"] === "begun")).toHaveLength(1);
    expect(logged.at(-1)).toMatchObject({ attempts: 1, upstream_model: "scripted-midstream-error", status: "failed" });
    const dead = await b.post({ model: "fast", input: "hi" }, ALICE);
    expect(dead.status).toBe(200);
    const alone = bridge({ MODEL_MAP: JSON.stringify({ fast: { model: "scripted-text", base_url: DEAD } }) }, net);
    const refused = await alone.post({ model: "fast", input: "hi" });
    expect(refused.status).toBe(502);
    expect(((await refused.json()) as { error: Json }).error).toMatchObject({ code: "upstream_unreachable" });
  });

  it("a template's own 500 (llama.cpp) is that route asking for another shape: answered and learned there, not a reason to fall back", async () => {
    const local = `scripted-template-nosystem-fb-${crypto.randomUUID().slice(0, 8)}`;
    const b = bridge({ ...keys({ alice: ALICE }), MODEL_MAP: JSON.stringify({ local: { model: local, base_url: `${UPSTREAM}/v1`, fallback: ["scripted-reasoning"] } }) });
    const res = await b.post({ model: "local", instructions: "Be brief.", input: "hi" }, ALICE, { "x-request-id": "template-fb" });
    expect(res.status).toBe(200);
    const models = (await seen()).requests.filter((r) => r.headers["x-request-id"] === "template-fb").map((r) => (r.body as { model: string }).model);
    expect(models).toEqual([local, local]);
  });

  it("remote compaction through a fallback: the envelope is still the client's request, and the summary run is not logged as a response of its own", async () => {
    const body = { instructions: "Be Codex", input: [{ role: "user", content: "hello" }, { type: "compaction_trigger" }] };
    const direct = (await (await bridge({ ...keys({ alice: ALICE }), BRIDGE_SECRET: "s3cret" }).post({ model: "scripted-text", ...body }, ALICE)).json()) as Json;
    logged = [];
    const b = bridge({ ...keys({ alice: ALICE }), BRIDGE_SECRET: "s3cret", ...map(["scripted-text"]) }, net);
    const res = await b.post({ model: "fast", ...body }, ALICE);
    expect(res.status).toBe(200);
    const compacted = (await res.json()) as Json;
    expect(compacted).toMatchObject({ store: direct.store, instructions: "Be Codex", output: [{ type: "compaction" }] });
    // The dead route once (a small body is not sent again to it: it may have arrived), then the fallback.
    expect(logged).toEqual([expect.objectContaining({ status: "completed", attempts: 2 })]);
  });
});

describe("configuration mistakes name the variable", () => {
  const config = (vars: Partial<Env>) => () => configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, ...vars });
  it.each([
    [{ PROXY_API_KEYS: "{not json" }, /PROXY_API_KEYS starts with \{ but is not valid JSON/],
    [{ PROXY_API_KEYS: JSON.stringify({ a: { key: "k", requests_per_min: 5 } }) }, /unknown field "requests_per_min"/],
    [{ PROXY_API_KEYS: JSON.stringify({ a: { key: "k", tokens_per_day: 1.5 } }) }, /PROXY_API_KEYS\["a"\]\.tokens_per_day must be a positive integer/],
    [{ PROXY_API_KEYS: JSON.stringify({ a: { requests_per_minute: 5 } }) }, /PROXY_API_KEYS\["a"\]\.key must be a non-empty string/],
    [{ PROXY_API_KEYS: JSON.stringify({ a: "same", b: "same" }) }, /same key to two names/],
    [{ PROXY_API_KEYS: JSON.stringify({ a: { key: "k", models: "deepseek-*" } }) }, /models must be a list/],
    [{ MODEL_MAP: JSON.stringify({ fast: { model: "m", fallback: "other" } }) }, /MODEL_MAP\["fast"\]\.fallback must be a list/],
    [{ MODEL_MAP: JSON.stringify({ fast: { model: "m", fallback: [{ base_url: "http://x/v1" }] } }) }, /fallback\[0\] must be a model name or an object with "model"/],
  ])("%j", (vars, message) => {
    expect(config(vars)).toThrow(ConfigError);
    expect(config(vars)).toThrow(message);
  });

  it("a fallback's own api_key is sent to it, and redacted like UPSTREAM_API_KEY", () => {
    const c = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, MODEL_MAP: JSON.stringify({ fast: { model: "m", fallback: [{ model: "q", base_url: "http://10.0.0.5:8000/v1/", api_key: "sk-second-provider" }, "b"] } }) });
    expect(c.route("fast").fallback).toEqual([{ model: "q", baseUrl: "http://10.0.0.5:8000/v1", apiKey: "sk-second-provider" }, { model: "b", baseUrl: `${UPSTREAM}/v1` }]);
    expect(c.extraSecrets).toEqual(["sk-second-provider"]);
  });
});
