import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { keyLedger } from "../../worker/cloudflare/key-limits-object.ts";
import type { Env } from "../../worker/env.ts";
import type { Platform } from "../../worker/router.ts";
import { SCRIPTED_KEY } from "../support/scripted-upstream.ts";
import { resetSeen, seen, withEnv } from "./bridge.ts";

// Requests passed through unchanged count toward a key's usage and tokens_per_day (their `usage` read as the answer
// goes by), and GET /v1/models lists only what a key's `models` globs allow.

const ALICE = "sk-alice-usage-0123456";
const BOB = "sk-bob-usage-0123456";
type Row = { model: string; requests: number; input_tokens: number; output_tokens: number; cached_tokens: number };

beforeEach(resetSeen);

function bridge(keys: Record<string, unknown>, vars: Partial<Env> = {}) {
  const run = crypto.randomUUID();
  const later: Array<Promise<unknown>> = [];
  const platform: Platform = { waitUntil: (p) => void later.push(p), ledgerFor: (name) => keyLedger(env.KEY_LIMITS, `${run}:${name}`) };
  const call = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY, PROXY_API_KEYS: JSON.stringify(keys), ...vars }, undefined, platform);
  const send = (key: string, path: string, body?: unknown) =>
    call(path, { method: body === undefined ? "GET" : "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return {
    send,
    usage: async (key: string) => {
      while (later.length) await Promise.all(later.splice(0));
      return ((await (await send(key, "/v1/usage")).json()) as { data: Row[] }).data;
    },
  };
}

const chunks = (sse: string) => sse.split("\n\n").filter((f) => f.startsWith("data: {")).map((f) => JSON.parse(f.slice(6)) as { choices: unknown[]; usage?: unknown });

describe("chat completions passed through to a chat upstream", () => {
  it("a stream without include_usage: usage asked for upstream and counted, its chunk not sent to the client", async () => {
    const b = bridge({ alice: ALICE });
    const res = await b.send(ALICE, "/v1/chat/completions", { model: "scripted-text", messages: [{ role: "user", content: "hi" }], stream: true });
    const text = await res.text();
    expect(text).toContain("data: [DONE]");
    const list = chunks(text);
    expect(list.length).toBeGreaterThan(2);
    expect(list.every((c) => c.choices.length === 1 && !c.usage)).toBe(true);
    expect(text.split("\n\n").filter(Boolean).every((f) => f.startsWith("data: "))).toBe(true);
    expect((await seen()).requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ model: "scripted-text", requests: 1, input_tokens: 11, output_tokens: 7 })]);
  });

  it("a stream with include_usage keeps its usage chunk; a JSON answer is counted too; the body is otherwise unchanged", async () => {
    const b = bridge({ alice: ALICE });
    const res = await b.send(ALICE, "/v1/chat/completions", { model: "scripted-text", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    expect(chunks(await res.text()).at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 11 } });
    const json = await b.send(ALICE, "/v1/chat/completions", { model: "scripted-text", messages: [{ role: "user", content: "hi" }] });
    expect(((await json.json()) as { usage: unknown }).usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    expect((await seen()).requests[1]!.body).toEqual({ model: "scripted-text", messages: [{ role: "user", content: "hi" }] });
    expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ requests: 2, input_tokens: 22, output_tokens: 14 })]);
  });

  it("pass-through tokens count toward tokens_per_day", async () => {
    const b = bridge({ alice: { key: ALICE, tokens_per_day: 30 } });
    const ask = () => b.send(ALICE, "/v1/chat/completions", { model: "scripted-text", messages: [{ role: "user", content: "hi" }] });
    expect((await ask()).status).toBe(200);
    await b.usage(ALICE);
    expect((await ask()).status).toBe(200);
    await b.usage(ALICE);
    const refused = await ask();
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("insufficient_quota");
  });
});

describe("POST /v1/responses forwarded to a Responses upstream", () => {
  it("SSE and JSON answers are counted from the upstream's usage, the stream forwarded as it came", async () => {
    const b = bridge({ alice: ALICE, bob: BOB }, { UPSTREAM_API: "responses" });
    const sse = await b.send(ALICE, "/v1/responses", { model: "gpt-5", input: "hi", stream: true });
    const text = await sse.text();
    expect(text).toContain("event: response.completed");
    expect((await b.send(ALICE, "/v1/responses", { model: "gpt-5", input: "hi" })).status).toBe(200);
    expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ model: "gpt-5", requests: 2, input_tokens: 22, output_tokens: 14, cached_tokens: 6 })]);
    // Every key pays for exactly its own.
    expect(await b.usage(BOB)).toEqual([]);
  });
});

describe("GET /v1/models", () => {
  it("lists only the models a key's globs allow; a key without globs sees the upstream's whole list", async () => {
    const b = bridge({ alice: { key: ALICE, models: ["scripted-te?t"] }, bob: BOB });
    const alice = (await (await b.send(ALICE, "/v1/models")).json()) as { object: string; data: Array<{ id: string }> };
    expect(alice.object).toBe("list");
    expect(alice.data.map((m) => m.id)).toEqual(["scripted-text"]);
    const bob = (await (await b.send(BOB, "/v1/models")).json()) as { data: Array<{ id: string }> };
    expect(bob.data.map((m) => m.id)).toEqual(["scripted-text", "scripted-tools"]);
  });
});
