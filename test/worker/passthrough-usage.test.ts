import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { keyLedger } from "../../worker/cloudflare/key-limits-object.ts";
import type { Env } from "../../worker/env.ts";
import type { ResponseLine } from "../../worker/ops/types.ts";
import type { Fetch, Platform } from "../../worker/router.ts";
import { SCRIPTED_KEY } from "../support/scripted-upstream.ts";
import { resetSeen, seen, withEnv } from "./bridge.ts";

// Requests passed through unchanged count toward a key's usage and tokens_per_day (their `usage` read as the answer
// goes by), and GET /v1/models lists only what a key's `models` globs allow.

const ALICE = "sk-alice-usage-0123456";
const BOB = "sk-bob-usage-0123456";
type Row = { model: string; requests: number; input_tokens: number; output_tokens: number; cached_tokens: number };

beforeEach(resetSeen);

function bridge(keys: Record<string, unknown>, vars: Partial<Env> = {}, fetchUpstream?: Fetch) {
  const run = crypto.randomUUID();
  const later: Array<Promise<unknown>> = [];
  const lines: ResponseLine[] = [];
  const platform: Platform = { waitUntil: (p) => void later.push(p), ledgerFor: (name) => keyLedger(env.KEY_LIMITS, `${run}:${name}`), analytics: (line) => void lines.push(line) };
  const call = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY, PROXY_API_KEYS: JSON.stringify(keys), ...vars }, fetchUpstream, platform);
  const send = (key: string, path: string, body?: unknown) =>
    call(path, { method: body === undefined ? "GET" : "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return {
    send,
    lines,
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
    // Its line says what was asked.
    expect(b.lines).toEqual([expect.objectContaining({ key: "alice", endpoint: "chat_completions", model: "scripted-text", input_tokens: 11, output_tokens: 7 })]);
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

describe("POST /v1/responses/compact forwarded to a Responses upstream", () => {
  it("its usage counts toward the key's, as OpenAI bills it", async () => {
    const compacted = { id: "resp_cmp1", object: "response.compaction", created_at: 1, output: [{ type: "compaction", id: "cmp_1", encrypted_content: "gAAA" }], usage: { input_tokens: 120, output_tokens: 30, total_tokens: 150, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } } };
    const fetchUpstream: Fetch = async () => Response.json(compacted);
    const b = bridge({ alice: ALICE, bob: BOB }, { UPSTREAM_API: "responses" }, fetchUpstream);
    const res = await b.send(ALICE, "/v1/responses/compact", { model: "gpt-5", input: "a long conversation" });
    expect(await res.json()).toEqual(compacted);
    expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ model: "gpt-5", requests: 1, input_tokens: 120, output_tokens: 30 })]);
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

// What observe.ts reads from a forwarded stream must not depend on how the upstream spaces its JSON, ends its lines
// or cuts its bytes. These upstreams answer with fixed SSE text, cut into small pieces.

/** JSON as Python's `json.dumps` writes it (`", "` and `": "`), as LiteLLM and many Python servers stream it. */
const spaced = (value: unknown): string => JSON.stringify(value).replace(/,"/g, ', "').replace(/":/g, '": ');
const chatChunk = (delta: Record<string, unknown>, usage?: unknown, choices = true) => ({ id: "chatcmpl-p", object: "chat.completion.chunk", model: "m", choices: choices ? [{ index: 0, delta, finish_reason: null }] : [], ...(usage === undefined ? {} : { usage }) });

/** An upstream answering every POST with `sse`, in pieces of `size` bytes; what it was sent is kept. */
function sseUpstream(sse: string, size: number) {
  const bodies: unknown[] = [];
  const fetchUpstream: Fetch = async (_input, init) => {
    bodies.push(JSON.parse(String(init?.body ?? "null")));
    const bytes = new TextEncoder().encode(sse);
    let at = 0;
    const body = new ReadableStream<Uint8Array>({ pull: (c) => (at < bytes.length ? c.enqueue(bytes.slice(at, (at += size))) : c.close()) });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  };
  return { fetchUpstream, bodies };
}

describe("usage read from a forwarded stream, however the upstream writes it", () => {
  const usageOf = (p: number, c: number) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });
  const ask = { model: "m", messages: [{ role: "user", content: "hi" }], stream: true };

  it('Python-spaced JSON ("usage": {), CRLF line endings, 7-byte pieces: counted, and the stream reaches the client byte for byte', async () => {
    const sse = [chatChunk({ role: "assistant", content: "" }), chatChunk({ content: "Hello" }), chatChunk({}, usageOf(31, 4), false)].map((c) => `data: ${spaced(c)}\r\n\r\n`).join("") + "data: [DONE]\r\n\r\n";
    expect(sse).toContain('"usage": {');
    const up = sseUpstream(sse, 7);
    const b = bridge({ alice: ALICE }, {}, up.fetchUpstream);
    const res = await b.send(ALICE, "/v1/chat/completions", { ...ask, stream_options: { include_usage: true } });
    expect(await res.text()).toBe(sse);
    expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ model: "m", requests: 1, input_tokens: 31, output_tokens: 4 })]);
  });

  it("usage asked for on the client's behalf: the spaced usage-only chunk is counted and left out, every other byte kept", async () => {
    const events = [chatChunk({ role: "assistant", content: "" }), chatChunk({ content: "Hel" }), chatChunk({ content: "lo" }), chatChunk({}, usageOf(40, 2), false)].map((c) => `data: ${spaced(c)}\n\n`);
    const up = sseUpstream(events.join("") + "data: [DONE]\n\n", 5);
    const b = bridge({ alice: ALICE }, {}, up.fetchUpstream);
    const res = await b.send(ALICE, "/v1/chat/completions", ask);
    expect(up.bodies[0]).toMatchObject({ stream_options: { include_usage: true } });
    expect(await res.text()).toBe(events.slice(0, 3).join("") + "data: [DONE]\n\n");
    expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ requests: 1, input_tokens: 40, output_tokens: 2 })]);
  });

  it("a server that repeats a running usage on every chunk is counted once, at its final total", async () => {
    const sse = [chatChunk({ content: "a" }, usageOf(12, 1)), chatChunk({ content: "b" }, usageOf(12, 2)), chatChunk({ content: "c" }, usageOf(12, 3))].map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + "data: [DONE]\n\n";
    for (const body of [{ ...ask, stream_options: { include_usage: true } }, ask]) {
      const b = bridge({ alice: ALICE }, {}, sseUpstream(sse, 64).fetchUpstream);
      // Chunks with choices keep their usage, whoever asked for it.
      expect(await (await b.send(ALICE, "/v1/chat/completions", body)).text()).toBe(sse);
      expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ requests: 1, input_tokens: 12, output_tokens: 3 })]);
    }
  });

  it("a last content chunk that carries the usage and 30 KB of logprobs is counted", async () => {
    const logprobs = { content: Array.from({ length: 300 }, (_, i) => ({ token: `t${i}`, logprob: -0.5, bytes: [116], top_logprobs: Array.from({ length: 3 }, () => ({ token: "x", logprob: -2, bytes: [120] })) })) };
    const last = { ...chatChunk({ content: "end" }, usageOf(77, 300)), choices: [{ index: 0, delta: { content: "end" }, logprobs, finish_reason: "stop" }] };
    const sse = `data: ${JSON.stringify(chatChunk({ content: "a" }))}\n\ndata: ${JSON.stringify(last)}\n\ndata: [DONE]\n\n`;
    expect(sse.length).toBeGreaterThan(30_000);
    const b = bridge({ alice: ALICE }, {}, sseUpstream(sse, 1000).fetchUpstream);
    expect(await (await b.send(ALICE, "/v1/chat/completions", { ...ask, stream_options: { include_usage: true } })).text()).toBe(sse);
    expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ requests: 1, input_tokens: 77, output_tokens: 300 })]);
  });

  it("a stream far longer than the tail it keeps: the usage at its end is counted, whatever the pieces' size", async () => {
    // Each chunk carries a running usage (as some servers send it), so only the tail in its true order counts 600.
    const content = Array.from({ length: 600 }, (_, i) => `data: ${JSON.stringify(chatChunk({ content: `${i} `.padEnd(200, "x") }, usageOf(5, i)))}\n\n`).join("");
    const end = content + `data: ${JSON.stringify(chatChunk({}, usageOf(5, 600), false))}\n\ndata: [DONE]\n\n`;
    // An SSE comment first, so that the ring wraps 100 bytes before the end: the final usage chunk straddles it.
    const sse = `: ${"p".repeat((65_536 - ((end.length + 4 - 100) % 65_536)) % 65_536)}\n\n` + end;
    expect(sse.length % 65_536).toBe(100);
    expect(sse.length).toBeGreaterThan(150_000);
    // Pieces that straddle the end of the 64 KiB ring, and pieces larger than the ring.
    for (const size of [777, 100_000]) {
      const b = bridge({ alice: ALICE }, {}, sseUpstream(sse, size).fetchUpstream);
      expect(await (await b.send(ALICE, "/v1/chat/completions", { ...ask, stream_options: { include_usage: true } })).text()).toBe(sse);
      expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ requests: 1, input_tokens: 5, output_tokens: 600 })]);
    }
  });

  it("a Responses stream without event: lines, spaced, in 5-byte pieces: its id is the key's and its usage counted", async () => {
    const response = (status: string, usage: unknown) => ({ id: "resp_spaced1", object: "response", status, model: "gpt-5", output: [], usage });
    const sse = [
      { type: "response.created", response: response("in_progress", null) },
      { type: "response.output_text.delta", delta: "response.completed is just text here" },
      { type: "response.completed", response: response("completed", { input_tokens: 9, output_tokens: 5, total_tokens: 14, input_tokens_details: { cached_tokens: 2 } }) },
    ].map((e) => `data: ${spaced(e)}\n\n`).join("");
    const up = sseUpstream(sse, 5);
    const b = bridge({ alice: ALICE, bob: BOB }, { UPSTREAM_API: "responses" }, up.fetchUpstream);
    expect(await (await b.send(ALICE, "/v1/responses", { model: "gpt-5", input: "hi", stream: true })).text()).toBe(sse);
    expect(await b.usage(ALICE)).toEqual([expect.objectContaining({ model: "gpt-5", requests: 1, input_tokens: 9, output_tokens: 5, cached_tokens: 2 })]);
    const stolen = await b.send(BOB, "/v1/responses", { model: "gpt-5", input: "hi", previous_response_id: "resp_spaced1" });
    // OpenAI's answer for a previous response that is not there, as for an id nobody created.
    expect(stolen.status).toBe(400);
    expect(((await stolen.json()) as { error: { param: string; message: string } }).error).toMatchObject({ param: "previous_response_id", message: expect.stringContaining("resp_spaced1") });
    expect(up.bodies).toHaveLength(1);
  });
});
