import { request as httpRequest } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scriptedUpstream } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// The operators' side through the real `wrangler dev` (workerd, the repository's wrangler.toml: the KEY_LIMITS
// Durable Object, [observability]): log lines on its output, 429s with their headers, /v1/usage, fail-closed.

const ALICE = "sk-alice-e2e-0123456789";
const BOB = "sk-bob-e2e-0123456789";
const CAROL = "sk-carol-e2e-0123456789";
let stack: Stack;

/** The scripted upstream and wrangler dev in front of it, printing the Worker's console.log lines (WRANGLER_LOG=log). */
const start = (vars: Record<string, string>): Promise<Stack> => startStack(vars, scriptedUpstream, { WRANGLER_LOG: "log" });

beforeAll(async () => {
  stack = await start({
    UPSTREAM_API_KEY: "sk-owner-e2e-0123456789",
    PROXY_API_KEYS: JSON.stringify({ alice: { key: ALICE, requests_per_minute: 4, models: ["scripted-*"] }, bob: BOB, carol: { key: CAROL, requests_per_minute: 1, models: ["scripted-text"] } }),
    // Port 9 (discard) refuses connections: the fallback on the live upstream answers.
    MODEL_MAP: JSON.stringify({ fast: { model: "scripted-text", base_url: "http://127.0.0.1:9/v1", fallback: ["scripted-reasoning"] } }),
  });
});
afterAll(async () => {
  await stack?.stop();
});

/** The structured lines wrangler printed so far. */
function lines(): Array<Record<string, unknown>> {
  return stack
    .output()
    .split("\n")
    .map((l) => l.slice(l.indexOf("{")))
    .filter((l) => l.startsWith('{"event":"response"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits (bounded) for what the Worker writes after the answer: its log line, its usage count. */
async function until<T>(f: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await f();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not show up:\n${stack.output().slice(-3000)}`);
}

describe("operators, through wrangler dev", () => {
  it("one JSON line per response on wrangler's output, with the key's name and the request id", async () => {
    const client = new OpenAI({ apiKey: BOB, baseURL: stack.baseURL, maxRetries: 0 });
    const { data, response } = await client.responses.create({ model: "scripted-text", input: "hi", stream: true }).withResponse();
    for await (const _ of data);
    const id = response.headers.get("x-request-id")!;
    expect(id).toMatch(/^req_[0-9a-f]{32}$/);
    const line = await until(() => lines().find((l) => l.request_id === id), "the log line");
    expect(line).toMatchObject({ event: "response", status: "completed", key: "bob", model: "scripted-text", transport: "sse", input_tokens: 11, output_tokens: 7, attempts: 1, error_code: null });
    expect(stack.output()).not.toContain(BOB);
  });

  it("requests_per_minute: parallel requests past the limit get OpenAI's 429 with retry-after and x-ratelimit-*", async () => {
    const post = () => fetch(`${stack.baseURL}/responses`, { method: "POST", headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json" }, body: JSON.stringify({ model: "scripted-text", input: "hi" }) });
    const answers = await Promise.all(Array.from({ length: 6 }, post));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(4);
    const limited = answers.filter((r) => r.status === 429);
    expect(limited).toHaveLength(2);
    for (const r of limited) {
      expect((await r.json()) as unknown).toMatchObject({ error: { type: "requests", code: "rate_limit_exceeded", param: null } });
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(r.headers.get("x-ratelimit-limit-requests")).toBe("4");
      expect(r.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(r.headers.get("x-ratelimit-reset-requests")).toMatch(/s$/);
    }
    // The SDK reads the same answer as a RateLimitError.
    const sdk = new OpenAI({ apiKey: ALICE, baseURL: stack.baseURL, maxRetries: 0 });
    const error = await sdk.responses.create({ model: "scripted-text", input: "hi" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get("x-request-id")).toMatch(/^req_/);
    await until(() => (lines().filter((l) => l.key === "alice" && l.error_code === "rate_limit_exceeded").length >= 3 ? true : undefined), "three rate-limited lines");
  });

  it("GET /v1/usage: the key's own rows", async () => {
    const usage = async (key: string) => (await (await fetch(`${stack.baseURL}/usage`, { headers: { authorization: `Bearer ${key}` } })).json()) as { object: string; data: Array<Record<string, unknown>> };
    const bob = await until(async () => {
      const u = await usage(BOB);
      return u.data.length ? u : undefined;
    }, "bob's usage");
    expect(bob).toMatchObject({ object: "list", data: [{ model: "scripted-text", requests: 1, input_tokens: 11, output_tokens: 7, cached_tokens: 0, reasoning_tokens: 0 }] });
    const alice = await usage(ALICE);
    expect(alice.data).toEqual([expect.objectContaining({ model: "scripted-text", requests: 4, input_tokens: 44, output_tokens: 28 })]);
  });

  it("fallback: a dead upstream, then the live one, before the first byte; the line shows every attempt", async () => {
    const res = await fetch(`${stack.baseURL}/responses`, { method: "POST", headers: { authorization: `Bearer ${BOB}`, "content-type": "application/json", "x-request-id": "e2e-fallback" }, body: JSON.stringify({ model: "fast", input: "hi", stream: true }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("response.completed");
    const line = await until(() => lines().find((l) => l.request_id === "e2e-fallback"), "the fallback's line");
    // The dead one once (a small body is not sent to it again: it may have arrived), then the live one.
    expect(line).toMatchObject({ model: "fast", upstream_model: "scripted-reasoning", attempts: 2, status: "completed" });
  });

  it("the WebSocket: limits as error frames with status and code, the socket still usable, a line per frame", async () => {
    const ws = new WebSocket(`${stack.baseURL.replace("http", "ws")}/responses`, { headers: { authorization: `Bearer ${CAROL}` } } as never);
    const inbox: Array<Record<string, unknown>> = [];
    ws.onmessage = (e) => inbox.push(JSON.parse(String(e.data)) as Record<string, unknown>);
    await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
    const turn = async (frame: Record<string, unknown>) => {
      ws.send(JSON.stringify({ type: "response.create", store: false, input: "hi", ...frame }));
      return until(() => {
        const i = inbox.findIndex((m) => m.type === "error" || m.type === "response.completed" || m.type === "response.failed");
        return i < 0 ? undefined : inbox.splice(0, i + 1).at(-1)!;
      }, "a terminal frame");
    };
    try {
      expect(await turn({ model: "scripted-text" })).toMatchObject({ type: "response.completed" });
      expect(await turn({ model: "scripted-reasoning" })).toMatchObject({ type: "error", status: 404, error: { code: "model_not_found" } });
      const limited = await turn({ model: "scripted-text" });
      expect(limited).toMatchObject({ type: "error", status: 429, error: { code: "rate_limit_exceeded" }, headers: { "x-ratelimit-limit-requests": "1" } });
      expect(limited.request_id).toMatch(/^req_/);
      expect(await turn({ model: "scripted-text", generate: false })).toMatchObject({ type: "response.completed" });
      const mine = await until(() => {
        const l = lines().filter((x) => x.key === "carol");
        return l.length >= 4 ? l : undefined;
      }, "carol's lines");
      expect(mine.map((l) => [l.transport, l.error_code])).toEqual([
        ["websocket", null],
        ["websocket", "model_not_found"],
        ["websocket", "rate_limit_exceeded"],
        ["websocket", null],
      ]);
    } finally {
      ws.close();
    }
  });

  it("fail closed: the owner's key without PROXY_API_KEYS serves loopback, and refuses a client from elsewhere", async () => {
    const open = await start({ UPSTREAM_API_KEY: "sk-owner-e2e-0123456789" });
    try {
      const local = await fetch(`${open.baseURL}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "scripted-text", input: "hi" }) });
      expect(local.status).toBe(200);
      // As a deployed Worker sees a stranger: another host name, and Cloudflare's cf-connecting-ip.
      const port = Number(new URL(open.url).port);
      const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: "127.0.0.1", port, path: "/v1/models", headers: { host: "bridge.example.com", "cf-connecting-ip": "203.0.113.7" } }, (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode!, body }));
        });
        req.on("error", reject);
        req.end();
      });
      expect(status.status).toBe(401);
      expect(status.body).toContain("PROXY_API_KEYS");
    } finally {
      await open.stop();
    }
  });
});
