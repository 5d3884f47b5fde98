import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { ResponseResource } from "../../src/index.ts";
import type { StoredTurn } from "../../src/server.ts";
import { configFromEnv } from "../../worker/config.ts";
import type { Env } from "../../worker/env.ts";
import { durableStore, partitionOf, sendTurn, shardOf } from "../../worker/cloudflare/durable-store.ts";
import { CHUNK_CHARS, type ResponseStoreObject } from "../../worker/cloudflare/response-store-object.ts";
import { handle } from "../../worker/router.ts";

const BRIDGE = "http://bridge.test";
const UPSTREAM = "http://upstream.test";
const KEY_A = "sk-client-a";
const KEY_B = "sk-client-b";

type Body = Record<string, unknown>;
interface Seen {
  requests: Array<{ body: { messages: Array<{ role: string; content: unknown; tool_calls?: unknown[] }> } }>;
}

async function seen(): Promise<Seen> {
  return (await (await fetch(`${UPSTREAM}/__seen`)).json()) as Seen;
}

/**
 * The Worker's handler with the Durable Object namespace of wrangler.toml and
 * a `waitUntil` the test can drain, so "stored after the answer" is observable
 * without sleeping.
 */
function bridge(vars: Partial<Env> = {}) {
  const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, UPSTREAM_API_KEY: "sk-upstream", ...vars });
  const pending: Array<Promise<unknown>> = [];
  const call = (method: string, path: string, key: string | null, body?: unknown) =>
    handle(
      new Request(`${BRIDGE}${path}`, { method, headers: key ? { authorization: `Bearer ${key}` } : {}, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
      config,
      (input, init) => fetch(input, init),
      { waitUntil: (p) => void pending.push(p), storeFor: (credential) => durableStore(env.RESPONSES_STORE, credential, config.retentionMs) },
    );
  return {
    call,
    /** Every write started so far has landed. */
    settled: async () => {
      while (pending.length) await pending.shift();
    },
    async create(body: Body, key: string | null = KEY_A): Promise<ResponseResource> {
      const res = await call("POST", "/v1/responses", key, body);
      expect(res.status, await res.clone().text()).toBe(200);
      if (body.stream !== true) return (await res.json()) as ResponseResource;
      return terminalOf(await res.text());
    },
  };
}

function terminalOf(sse: string): ResponseResource {
  const last = sse
    .split("\n\n")
    .filter((f) => f.startsWith("event: response."))
    .map((f) => JSON.parse(f.split("\n")[1]!.slice(6)) as { type: string; response: ResponseResource })
    .at(-1)!;
  return last.response;
}

const messagesSeen = async (n: number) => (await seen()).requests[n]!.body.messages.map((m) => [m.role, m.content ?? m.tool_calls]);

beforeEach(async () => {
  await fetch(`${UPSTREAM}/__reset`);
});

describe("storing", () => {
  it("a streamed response is stored (store absent = stored, as OpenAI) and retrieved as the client received it", async () => {
    const b = bridge();
    const streamed = await b.create({ model: "scripted-text", input: "hi", stream: true });
    expect(streamed).toMatchObject({ status: "completed", store: true });
    await b.settled();
    const got = await b.call("GET", `/v1/responses/${streamed.id}`, KEY_A);
    expect(got.status).toBe(200);
    expect(await got.json()).toEqual(streamed);
  });

  it("a non-streamed response too; and through the deployed Worker's own binding, continued at once", async () => {
    const first = (await (await exports.default.fetch(`${BRIDGE}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify({ model: "scripted-reasoning", input: "hi" }) })).json()) as ResponseResource;
    expect(first).toMatchObject({ status: "completed", store: true });
    // No waiting: the write left before the answer did, and the continuation goes to the same object.
    const next = await exports.default.fetch(`${BRIDGE}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify({ model: "scripted-text", previous_response_id: first.id, input: "again" }) });
    expect(next.status).toBe(200);
    expect(await messagesSeen(1)).toEqual([
      ["user", "hi"],
      ["assistant", "Hello from the scripted upstream."],
      ["user", "again"],
    ]);
    const got = await exports.default.fetch(`${BRIDGE}/v1/responses/${first.id}`, { headers: { authorization: `Bearer ${KEY_A}` } });
    expect(await got.json()).toEqual(first);
    // Streamed: the write leaves with the terminal event, so a continuation sent on [DONE] finds it.
    const streamed = terminalOf(await (await exports.default.fetch(`${BRIDGE}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify({ model: "scripted-text", previous_response_id: first.id, input: "streamed", stream: true }) })).text());
    const third = await exports.default.fetch(`${BRIDGE}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify({ model: "scripted-text", previous_response_id: streamed.id, input: "third" }) });
    expect(third.status).toBe(200);
    expect((await messagesSeen(3)).map(([role]) => role)).toEqual(["user", "assistant", "user", "assistant", "user"]);
  });

  it("a non-streamed response asking for encrypted reasoning is stored sealed, exactly as the client got it", async () => {
    const b = bridge();
    const r = await b.create({ model: "scripted-reasoning", input: "hi", include: ["reasoning.encrypted_content"] });
    expect(r.output[0]).toMatchObject({ type: "reasoning", encrypted_content: expect.stringMatching(/^rb1\./) });
    await b.settled();
    expect(await (await b.call("GET", `/v1/responses/${r.id}`, KEY_A)).json()).toEqual(r);
  });

  it("a compaction item is stored as sent, still sealed: input_items never shows the summary, and the chain still carries it", async () => {
    const b = bridge();
    const compacted = (await (await b.call("POST", "/v1/responses/compact", KEY_A, { model: "scripted-text", input: "Remember the code word PERIWINKLE." })).json()) as { output: Array<{ type: string; encrypted_content?: string }> };
    const cmp = compacted.output.at(-1)!;
    expect(cmp.type).toBe("compaction");
    const first = await b.create({ model: "scripted-text", input: [cmp, { role: "user", content: "go on" }] });
    await b.settled();
    const listed = await (await b.call("GET", `/v1/responses/${first.id}/input_items?order=asc`, KEY_A)).text();
    expect(listed).not.toContain("Summary of the earlier part");
    expect((JSON.parse(listed) as { data: Array<{ type: string; encrypted_content?: string }> }).data[0]).toMatchObject({ type: "compaction", encrypted_content: cmp.encrypted_content });
    await fetch(`${UPSTREAM}/__reset`);
    await b.create({ model: "scripted-text", previous_response_id: first.id, input: "and now?" });
    expect(String((await seen()).requests[0]!.body.messages[0]!.content)).toMatch(/^Summary of the earlier part/);
  });

  it("store: false stores nothing, and says so", async () => {
    const b = bridge();
    const r = await b.create({ model: "scripted-text", input: "hi", store: false, stream: true });
    expect(r.store).toBe(false);
    await b.settled();
    expect((await b.call("GET", `/v1/responses/${r.id}`, KEY_A)).status).toBe(404);
    const next = await b.call("POST", "/v1/responses", KEY_A, { model: "scripted-text", previous_response_id: r.id, input: "x" });
    expect(next.status).toBe(400);
    expect(((await next.json()) as { error: { code: string } }).error.code).toBe("previous_response_not_found");
  });

  it("a failed response is stored as failed, with what arrived before the failure", async () => {
    const b = bridge();
    const r = await b.create({ model: "scripted-midstream-error", input: "x", stream: true });
    expect(r.status).toBe("failed");
    await b.settled();
    const got = (await (await b.call("GET", `/v1/responses/${r.id}`, KEY_A)).json()) as ResponseResource;
    expect(got).toMatchObject({ status: "failed", error: { code: "rate_limit_exceeded" }, output: [{ type: "message", status: "incomplete" }] });
  });

  it("a response the client walked away from is stored as cancelled", async () => {
    const b = bridge();
    const res = await b.call("POST", "/v1/responses", KEY_A, { model: "scripted-hang", input: "x", stream: true });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("output_text.delta")) text += new TextDecoder().decode((await reader.read()).value);
    const id = /"id":"(resp_[0-9a-f]+)"/.exec(text)![1]!;
    await reader.cancel();
    await b.settled();
    const got = (await (await b.call("GET", `/v1/responses/${id}`, KEY_A)).json()) as ResponseResource;
    expect(got).toMatchObject({ id, status: "cancelled", error: null, output: [{ type: "message", status: "incomplete" }] });
  });

  it("a long history is split across values, never truncated", async () => {
    const b = bridge();
    const long = "é".repeat(CHUNK_CHARS) + "x".repeat(CHUNK_CHARS) + "end";
    const r = await b.create({ model: "scripted-text", input: long });
    await b.settled();
    const page = (await (await b.call("GET", `/v1/responses/${r.id}/input_items`, KEY_A)).json()) as { data: Array<{ content: Array<{ text: string }> }> };
    expect(page.data[0]!.content[0]!.text).toBe(long);
    const parts = await runInDurableObject(env.RESPONSES_STORE.get(env.RESPONSES_STORE.idFromName(`${await partitionOf(KEY_A)}:${shardOf(r.id)}`)), (_o, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM item_chunks").one().n);
    expect(parts).toBeGreaterThanOrEqual(3);
  });
});

describe("continuing", () => {
  it("a three-turn chain: the upstream receives the whole history each turn", async () => {
    const b = bridge();
    const one = await b.create({ model: "scripted-text", instructions: "Be brief.", input: "My name is Ada.", stream: true });
    await b.settled();
    const two = await b.create({ model: "scripted-text", previous_response_id: one.id, input: "What is my name?", stream: true });
    await b.settled();
    const three = await b.create({ model: "scripted-text", previous_response_id: two.id, input: [{ role: "user", content: "Spell it." }] });
    const answer = "Hello from the scripted upstream.";
    expect(await messagesSeen(2)).toEqual([
      ["user", "My name is Ada."],
      ["assistant", answer],
      ["user", "What is my name?"],
      ["assistant", answer],
      ["user", "Spell it."],
    ]);
    expect(three.previous_response_id).toBe(two.id);
    // One conversation, one Durable Object: the shard travels in every id of the chain.
    expect(new Set([one.id, two.id, three.id, ...three.output.map((o) => o.id)].map(shardOf)).size).toBe(1);
  });

  it("a tool loop by previous_response_id sends only the new function_call_output", async () => {
    const b = bridge();
    const tools = [{ type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
    const call = await b.create({ model: "scripted-tools", tools, input: "Weather in Paris?", stream: true });
    const fc = call.output[0] as { type: string; call_id: string };
    expect(fc.type).toBe("function_call");
    await b.settled();
    const done = await b.create({ model: "scripted-tools", tools, previous_response_id: call.id, input: [{ type: "function_call_output", call_id: fc.call_id, output: "sunny" }], stream: true });
    expect(done.output[0]).toMatchObject({ type: "message", content: [{ text: "The tool said: sunny" }] });
    expect(await messagesSeen(1)).toEqual([
      ["user", "Weather in Paris?"],
      ["assistant", [{ id: fc.call_id, type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]],
      ["tool", "sunny"],
    ]);
  });

  it("item_reference resolves to the stored item; an unknown one is a 400 naming it", async () => {
    const b = bridge();
    const first = await b.create({ model: "scripted-reasoning", input: "hi", stream: true });
    await b.settled();
    const [reasoning, message] = first.output;
    const r = await b.create({
      model: "scripted-text",
      input: [{ role: "user", content: "hi" }, { type: "item_reference", id: reasoning!.id }, { type: "item_reference", id: message!.id }, { role: "user", content: "more" }],
    });
    expect(r.status).toBe("completed");
    expect(await messagesSeen(1)).toEqual([
      ["user", "hi"],
      ["assistant", "Hello from the scripted upstream."],
      ["user", "more"],
    ]);
    // An id the client gave its own item carries no shard; it resolves within the chain being continued.
    const own = await b.create({ model: "scripted-text", input: [{ type: "message", id: "msg_mine", role: "user", content: "mine" }] });
    await b.settled();
    await fetch(`${UPSTREAM}/__reset`);
    const again = await b.create({ model: "scripted-text", previous_response_id: own.id, input: [{ type: "item_reference", id: "msg_mine" }] });
    expect(again.status).toBe("completed");
    expect((await messagesSeen(0)).map(([, content]) => content)).toEqual(["mine", "Hello from the scripted upstream.", "mine"]);
    const bad = await b.call("POST", "/v1/responses", KEY_A, { model: "scripted-text", input: [{ type: "item_reference", id: "msg_00000000000000000000000000000000" }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: { message: "Item with id 'msg_00000000000000000000000000000000' not found.", type: "invalid_request_error", param: "input[0].id", code: "item_not_found", request_id: expect.stringMatching(/^req_/) } });
  });

  it("an unknown previous_response_id is OpenAI's 400 previous_response_not_found, before any upstream call", async () => {
    const res = await bridge().call("POST", "/v1/responses", KEY_A, { model: "scripted-text", previous_response_id: "resp_0123456789abcdef0123456789abcdef", input: "x" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { message: "Previous response with id 'resp_0123456789abcdef0123456789abcdef' not found.", type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_found", request_id: expect.stringMatching(/^req_/) },
    });
    expect((await seen()).requests).toHaveLength(0);
  });
});

describe("the stored-response endpoints", () => {
  async function chain() {
    const b = bridge();
    const one = await b.create({ model: "scripted-text", input: "one" });
    await b.settled();
    const two = await b.create({ model: "scripted-text", previous_response_id: one.id, input: [{ role: "user", content: "two" }, { role: "user", content: "three" }] });
    await b.settled();
    return { b, one, two };
  }
  type Page = { object: string; data: Array<{ id: string; type: string; role: string; content: Array<{ text: string }> }>; first_id: string; last_id: string; has_more: boolean };
  const texts = (p: Page) => p.data.map((i) => i.content[0]!.text);

  it("input_items: the expanded input, newest first by default, paged with limit / after / order", async () => {
    const { b, two } = await chain();
    const list = async (query: string) => {
      const res = await b.call("GET", `/v1/responses/${two.id}/input_items${query}`, KEY_A);
      expect(res.status).toBe(200);
      return (await res.json()) as Page;
    };
    const all = await list("");
    expect(all).toMatchObject({ object: "list", has_more: false });
    expect(texts(all)).toEqual(["three", "two", "Hello from the scripted upstream.", "one"]);
    expect(all.data.every((i) => i.type === "message" && /^msg_/.test(i.id))).toBe(true);
    const first = await list("?limit=2");
    expect(texts(first)).toEqual(["three", "two"]);
    expect(first).toMatchObject({ has_more: true, first_id: all.data[0]!.id, last_id: all.data[1]!.id });
    const second = await list(`?limit=2&after=${first.last_id}`);
    expect(texts(second)).toEqual(["Hello from the scripted upstream.", "one"]);
    expect(second.has_more).toBe(false);
    expect(texts(await list("?order=asc&limit=3"))).toEqual(["one", "Hello from the scripted upstream.", "two"]);
    for (const [query, param] of [["?limit=0", "limit"], ["?limit=101", "limit"], ["?order=up", "order"], ["?after=msg_nope", "after"]] as const) {
      const res = await b.call("GET", `/v1/responses/${two.id}/input_items${query}`, KEY_A);
      expect(res.status, query).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
  });

  it("DELETE removes it: deleted: true, then 404 everywhere and an unknown previous_response_id", async () => {
    const { b, one, two } = await chain();
    const del = await b.call("DELETE", `/v1/responses/${one.id}`, KEY_A);
    expect(await del.json()).toEqual({ id: one.id, object: "response", deleted: true });
    for (const [method, path] of [["GET", `/v1/responses/${one.id}`], ["GET", `/v1/responses/${one.id}/input_items`], ["DELETE", `/v1/responses/${one.id}`]] as const) {
      const res = await b.call(method, path, KEY_A);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: { message: `Response with id '${one.id}' not found.`, type: "invalid_request_error", param: null, code: null, request_id: expect.stringMatching(/^req_/) } });
    }
    expect((await b.call("POST", "/v1/responses", KEY_A, { model: "scripted-text", previous_response_id: one.id, input: "x" })).status).toBe(400);
    // Later turns keep what they need of it: the chain after it still continues.
    expect((await b.call("POST", "/v1/responses", KEY_A, { model: "scripted-text", previous_response_id: two.id, input: "x" })).status).toBe(200);
  });

  it("isolation: another key does not see, continue, reference or delete it", async () => {
    const b = bridge();
    const mine = await b.create({ model: "scripted-text", input: "secret" }, KEY_A);
    await b.settled();
    expect((await b.call("GET", `/v1/responses/${mine.id}`, KEY_B)).status).toBe(404);
    expect((await b.call("GET", `/v1/responses/${mine.id}/input_items`, KEY_B)).status).toBe(404);
    expect((await b.call("DELETE", `/v1/responses/${mine.id}`, KEY_B)).status).toBe(404);
    expect((await b.call("GET", `/v1/responses/${mine.id}`, null)).status).toBe(404);
    const cont = await b.call("POST", "/v1/responses", KEY_B, { model: "scripted-text", previous_response_id: mine.id, input: "x" });
    expect(((await cont.json()) as { error: { code: string } }).error.code).toBe("previous_response_not_found");
    const ref = await b.call("POST", "/v1/responses", KEY_B, { model: "scripted-text", input: [{ type: "item_reference", id: mine.output[0]!.id }] });
    expect(ref.status).toBe(400);
    expect((await b.call("GET", `/v1/responses/${mine.id}`, KEY_A)).status).toBe(200);
    // The credential itself is nowhere in the object's name.
    expect(await partitionOf(KEY_A)).not.toContain(KEY_A);
  });

  it("paths: /responses without /v1 too; unknown ids are 404", async () => {
    const b = bridge();
    expect((await b.call("GET", "/responses/resp_nothing", KEY_A)).status).toBe(404);
    expect((await b.call("GET", "/v1/responses/resp_0123456789abcdef0123456789abcdef", KEY_A)).status).toBe(404);
  });
});

describe("retention", () => {
  const record = (id: string, text: string): StoredTurn => ({
    response: { id, object: "response", status: "completed", output: [] } as unknown as ResponseResource,
    previous: null,
    input: [{ type: "message", id: id.replace("resp_", "msg_"), role: "user", content: [{ type: "input_text", text }] }],
  });
  const put = async (stub: DurableObjectStub<ResponseStoreObject>, turn: StoredTurn, retentionMs: number) => stub.put(...(await sendTurn(turn)), retentionMs);

  it("an expired response is gone at once, and its alarm deletes it; what is still kept stays, with the next alarm set", async () => {
    const stub = env.RESPONSES_STORE.get(env.RESPONSES_STORE.idFromName("retention-test")) as DurableObjectStub<ResponseStoreObject>;
    await put(stub, record("resp_aaaaaaaaaaaaaaaa00000001", "old"), 1);
    await put(stub, record("resp_aaaaaaaaaaaaaaaa00000002", "new"), 3_600_000);
    await new Promise((r) => setTimeout(r, 5));
    expect(await stub.get("resp_aaaaaaaaaaaaaaaa00000001")).toBeUndefined();
    expect(await stub.getItem("msg_aaaaaaaaaaaaaaaa00000001")).toBeUndefined();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const left = await runInDurableObject(stub, async (_o, state) => ({
      ids: state.storage.sql.exec<{ id: string }>("SELECT id FROM turns").toArray().map((r) => r.id),
      rows: state.storage.sql.exec("SELECT COUNT(*) AS n FROM turn_items").one().n,
      alarm: await state.storage.getAlarm(),
    }));
    expect(left.ids).toEqual(["resp_aaaaaaaaaaaaaaaa00000002"]);
    // Its envelope and its one input item.
    expect(left.rows).toBe(2);
    expect(left.alarm).toBeGreaterThan(Date.now() + 3_000_000);
    expect(JSON.parse(((await stub.getItem("msg_aaaaaaaaaaaaaaaa00000002")) as string[])[0]!)).toMatchObject({ content: [{ text: "new" }] });
  });

  it("STORE_RETENTION_DAYS sets the retention of responses stored through the Worker; when all expire the object is emptied", async () => {
    const b = bridge({ STORE_RETENTION_DAYS: "0.00000001" });
    const r = await b.create({ model: "scripted-text", input: "short-lived" });
    await b.settled();
    await new Promise((res) => setTimeout(res, 5));
    expect((await b.call("GET", `/v1/responses/${r.id}`, KEY_A)).status).toBe(404);
    const stub = env.RESPONSES_STORE.get(env.RESPONSES_STORE.idFromName(`${await partitionOf(KEY_A)}:${shardOf(r.id)}`));
    // The alarm may already have fired on its own, a millisecond after the write; if not, it runs now.
    await runDurableObjectAlarm(stub);
    expect(await runInDurableObject(stub, async (_o, state) => [(await state.storage.list()).size, await state.storage.getAlarm()])).toEqual([0, null]);
  });
});
