import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ResponseResource } from "../../src/index.ts";
import type { ConversationItem, ResponseStore } from "../../src/server.ts";
import { configFromEnv } from "../../worker/config.ts";
import { durableStore, partitionOf } from "../../worker/cloudflare/durable-store.ts";
import { CHUNK_CHARS, SCHEMA_VERSION } from "../../worker/cloudflare/response-store-object.ts";
import { handle } from "../../worker/router.ts";
import { BRIDGE, resetSeen, seen, storeObjectOf, UPSTREAM } from "./bridge.ts";

/**
 * Stored conversations that last (issue 17): each item stored once, chains of hundreds of turns,
 * items and histories past SQLite's and RPC's size limits, forks, delete in the middle, retention
 * per response, the upgrade from the whole-record format, and a write that fails.
 */

const KEY = "sk-linear-a";
const ANSWER = "Hello from the scripted upstream.";

/** The Worker's handler over the Durable Object namespace, with a `waitUntil` the test drains, and a store the test may wrap. */
function bridge(wrap: (store: ResponseStore) => ResponseStore = (s) => s) {
  const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, UPSTREAM_API_KEY: "sk-upstream" });
  const pending: Array<Promise<unknown>> = [];
  const call = (method: string, path: string, body?: unknown) =>
    handle(
      new Request(`${BRIDGE}${path}`, { method, headers: { authorization: `Bearer ${KEY}` }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
      config,
      (input, init) => fetch(input, init),
      { waitUntil: (p) => void pending.push(p), storeFor: (credential) => wrap(durableStore(env.RESPONSES_STORE, credential, config.retentionMs)) },
    );
  return {
    call,
    settled: async () => {
      while (pending.length) await pending.shift();
    },
    async create(body: Record<string, unknown>): Promise<ResponseResource> {
      const res = await call("POST", "/v1/responses", body);
      expect(res.status, res.status === 200 ? "" : await res.clone().text()).toBe(200);
      if (body.stream !== true) return (await res.json()) as ResponseResource;
      const frames = (await res.text()).split("\n\n").filter((f) => f.startsWith("event: response."));
      return (JSON.parse(frames.at(-1)!.split("\n")[1]!.slice(6)) as { response: ResponseResource }).response;
    },
    async status(method: string, path: string, body?: unknown): Promise<number> {
      return (await call(method, path, body)).status;
    },
    async items(id: string, query = "?order=asc&limit=100"): Promise<{ data: Array<ConversationItem & { id: string }>; has_more: boolean; first_id: string; last_id: string }> {
      const res = await call("GET", `/v1/responses/${id}/input_items${query}`);
      expect(res.status).toBe(200);
      return (await res.json()) as never;
    },
  };
}

const objectOf = (id: string) => storeObjectOf(id, KEY);
const count = async (id: string, table: string) => runInDurableObject(await objectOf(id), (_o, state) => state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n);
const textOf = (item: ConversationItem) => {
  const content = (item as { content?: unknown }).content;
  return typeof content === "string" ? content : ((content as Array<{ text: string }>)[0]?.text ?? "");
};
const messagesSeen = async (n: number) => (await seen()).requests[n]!.body as { messages: Array<{ role: string; content: unknown }> };

beforeEach(resetSeen);
afterEach(() => void vi.restoreAllMocks());

describe("each item stored once", () => {
  it("a 200-turn chain: every turn continues with the whole conversation, and storage grows by one turn's rows per turn", { timeout: 120_000 }, async () => {
    const b = bridge();
    let previous: string | null = null;
    const ids: string[] = [];
    for (let n = 0; n < 200; n++) {
      const r = await b.create({ model: "scripted-text", input: `turn ${n}`, ...(previous ? { previous_response_id: previous } : {}) });
      previous = r.id;
      ids.push(r.id);
    }
    await b.settled();
    const last = (await messagesSeen(199)).messages;
    expect(last).toHaveLength(399);
    expect(last.map((m) => m.content)).toEqual(Array.from({ length: 399 }, (_, i) => (i % 2 ? ANSWER : `turn ${i / 2}`)));
    // Linear: one envelope, one input and one output row per turn (the whole-record format held 200·201 items).
    expect(await count(previous!, "turn_items")).toBe(600);
    // input_items pages through the whole conversation by index, both ways.
    const newest = await b.items(previous!, "?limit=3");
    expect(newest.data.map(textOf)).toEqual(["turn 199", ANSWER, "turn 198"]);
    expect(newest.has_more).toBe(true);
    const middle = await b.items(ids[100]!, "?order=asc&limit=2");
    expect(middle.data.map(textOf)).toEqual(["turn 0", ANSWER]);
    const after = await b.items(previous!, `?order=asc&limit=4&after=${middle.data[0]!.id}`);
    expect(after.data.map(textOf)).toEqual([ANSWER, "turn 1", ANSWER, "turn 2"]);
    const tail = await b.items(previous!, `?order=desc&limit=100&after=${(await b.items(previous!, "?order=asc&limit=3")).last_id}`);
    expect(tail.data.map(textOf)).toEqual([ANSWER, "turn 0"]);
    expect(tail.has_more).toBe(false);
    // Every turn is retrievable as it was answered.
    expect(await (await b.call("GET", `/v1/responses/${ids[57]}`)).json()).toMatchObject({ id: ids[57], previous_response_id: ids[56], output: [{ content: [{ text: ANSWER }] }] });
  });

  it("long instructions and tools, repeated every turn (as Codex sends them), are kept once; every turn still reads back exactly, key order included", async () => {
    const b = bridge();
    const instructions = "You are a coding agent. ".repeat(1000);
    const tools = Array.from({ length: 20 }, (_, i) => ({ type: "function", name: `tool_${i}`, description: "Does a thing. ".repeat(20), parameters: { type: "object", properties: { x: { type: "string" } } } }));
    const turns: ResponseResource[] = [];
    for (const word of ["one", "two", "three"]) turns.push(await b.create({ model: "scripted-text", instructions, tools, input: word, ...(turns.length ? { previous_response_id: turns.at(-1)!.id } : {}) }));
    await b.settled();
    expect(await count(turns[0]!.id, "shared")).toBe(1);
    for (const r of turns) expect(await (await b.call("GET", `/v1/responses/${r.id}`)).text()).toBe(JSON.stringify(r));
    for (const r of [...turns].reverse()) expect(await b.status("DELETE", `/v1/responses/${r.id}`)).toBe(200);
    expect(await count(turns[0]!.id, "shared")).toBe(0);
  });

  it("forks share their ancestors' rows; each branch continues with its own history", async () => {
    const b = bridge();
    const root = await b.create({ model: "scripted-text", input: "root" });
    const left = await b.create({ model: "scripted-text", previous_response_id: root.id, input: "left" });
    const right = await b.create({ model: "scripted-text", previous_response_id: root.id, input: "right", stream: true });
    await b.settled();
    expect(await count(root.id, "turn_items")).toBe(9);
    await resetSeen();
    await b.create({ model: "scripted-text", previous_response_id: left.id, input: "left again" });
    await b.create({ model: "scripted-text", previous_response_id: right.id, input: "right again" });
    expect((await messagesSeen(0)).messages.map((m) => m.content)).toEqual(["root", ANSWER, "left", ANSWER, "left again"]);
    expect((await messagesSeen(1)).messages.map((m) => m.content)).toEqual(["root", ANSWER, "right", ANSWER, "right again"]);
    // Deleting one branch leaves the other and the root whole.
    expect(await b.status("DELETE", `/v1/responses/${left.id}`)).toBe(200);
    expect((await b.items(right.id)).data.map(textOf)).toEqual(["root", ANSWER, "right"]);
    expect(await b.status("GET", `/v1/responses/${root.id}`)).toBe(200);
  });
});

describe("lookups by index", () => {
  it("a turn referring to every earlier item (the AI SDK's way) resolves them in one batch per object, in order", async () => {
    const calls = { getItem: 0, getItems: 0 };
    const b = bridge((store) => ({
      ...store,
      getItem: (id) => (calls.getItem++, store.getItem(id)),
      getItems: (ids) => (calls.getItems++, store.getItems!(ids)),
    }));
    const items: Array<{ type: "item_reference"; id: string }> = [];
    for (const word of ["one", "two", "three", "four"]) {
      const r = await b.create({ model: "scripted-text", input: [...items, { role: "user", content: word }] });
      await b.settled();
      const inputs = (await b.items(r.id)).data;
      items.splice(0, items.length, ...[...inputs, ...r.output].map((i) => ({ type: "item_reference" as const, id: i.id! })));
    }
    await resetSeen();
    await b.create({ model: "scripted-text", input: [...items, { role: "user", content: "five" }] });
    expect((await messagesSeen(0)).messages.map((m) => m.content)).toEqual(["one", ANSWER, "two", ANSWER, "three", ANSWER, "four", ANSWER, "five"]);
    expect(calls).toEqual({ getItem: 0, getItems: 4 });
  });
});

describe("delete and retention keep their meaning", () => {
  it("deleting the middle of a chain: it is unknown at once, later turns keep their whole history, its rows go with the last turn needing them", async () => {
    const b = bridge();
    const turns: ResponseResource[] = [];
    for (const word of ["one", "two", "three", "four", "five"]) turns.push(await b.create({ model: "scripted-text", input: word, ...(turns.length ? { previous_response_id: turns.at(-1)!.id } : {}) }));
    await b.settled();
    const [, two, three, four, five] = turns as [ResponseResource, ResponseResource, ResponseResource, ResponseResource, ResponseResource];
    expect(await b.status("DELETE", `/v1/responses/${three.id}`)).toBe(200);
    expect(await b.status("GET", `/v1/responses/${three.id}`)).toBe(404);
    expect(await b.status("GET", `/v1/responses/${three.id}/input_items`)).toBe(404);
    expect(await b.status("DELETE", `/v1/responses/${three.id}`)).toBe(404);
    const cont = await b.call("POST", "/v1/responses", { model: "scripted-text", previous_response_id: three.id, input: "x" });
    expect(cont.status).toBe(400);
    expect(((await cont.json()) as { error: { code: string } }).error.code).toBe("previous_response_not_found");
    // Five still has everything, three's items included; three's answer is still referable (five's conversation holds it).
    expect((await b.items(five.id)).data.map(textOf)).toEqual(["one", ANSWER, "two", ANSWER, "three", ANSWER, "four", ANSWER, "five"]);
    await resetSeen();
    const six = await b.create({ model: "scripted-text", previous_response_id: five.id, input: [{ type: "item_reference", id: three.output[0]!.id }] });
    expect((await messagesSeen(0)).messages.map((m) => m.content)).toEqual(["one", ANSWER, "two", ANSWER, "three", ANSWER, "four", ANSWER, "five", ANSWER, ANSWER]);
    await b.settled();
    // Once nothing continues it, it is collected with the deleted turns after it; what is still known stays.
    for (const r of [six, five, four]) expect(await b.status("DELETE", `/v1/responses/${r.id}`)).toBe(200);
    const left = await runInDurableObject(await objectOf(two.id), (_o, state) => state.storage.sql.exec<{ id: string }>("SELECT id FROM turns").toArray().map((r) => r.id));
    expect(left.sort()).toEqual([turns[0]!.id, two.id].sort());
    expect(await count(two.id, "turn_items")).toBe(6);
  });

  it("retention is per response: an expired turn is unknown while the turns continuing it keep its items; the last expiry empties the object", async () => {
    const store = durableStore(env.RESPONSES_STORE, KEY, 3_600_000);
    const shortLived = durableStore(env.RESPONSES_STORE, KEY, 1);
    const ids = store.ids!(null);
    const message = (text: string): ConversationItem => ({ type: "message", id: ids("msg"), role: "user", content: [{ type: "input_text", text }] });
    const response = (id: string) => ({ id, object: "response", status: "completed", output: [] }) as unknown as ResponseResource;
    const first = ids("resp");
    const second = ids("resp");
    expect(await shortLived.put({ response: response(first), previous: null, input: [message("first")] })).toBe(true);
    expect(await store.put({ response: response(second), previous: first, input: [message("second")] })).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(await store.get(first)).toBeUndefined();
    expect(await runDurableObjectAlarm(await objectOf(first))).toBe(true);
    const history: ConversationItem[] = [];
    for await (const item of (await store.history(second))!) history.push(item);
    expect(history.map(textOf)).toEqual(["first", "second"]);
    expect(await count(first, "turns")).toBe(2);
    // The second expires too (a retention shorter than the wait): both go, and nothing is left billed.
    await runInDurableObject(await objectOf(first), (_o, state) => void state.storage.sql.exec("UPDATE turns SET expires_at = 0"));
    await runDurableObjectAlarm(await objectOf(first));
    expect(await runInDurableObject(await objectOf(first), async (_o, state) => [(await state.storage.list()).size, await state.storage.getAlarm()])).toEqual([0, null]);
  });
});

describe("no size cliff", () => {
  it("an item past SQLite's 2 MB value limit is split into chunks and comes back whole, by retrieve, input_items and continuation", { timeout: 60_000 }, async () => {
    const b = bridge();
    const big = "é".repeat(CHUNK_CHARS) + "x".repeat(3 * CHUNK_CHARS) + "🙂 the end";
    const r = await b.create({ model: "scripted-measure", input: big });
    await b.settled();
    expect(await count(r.id, "item_chunks")).toBe(5);
    const page = await b.items(r.id);
    expect(textOf(page.data[0]!)).toBe(big);
    await resetSeen();
    await b.create({ model: "scripted-measure", previous_response_id: r.id, input: "and?" });
    const seenBody = (await seen()).requests[0]!.body as { messages: Array<{ length: number; tail: string }> };
    expect(seenBody.messages.map((m) => m.length)).toEqual([big.length, ANSWER.length, 4]);
    expect(seenBody.messages[0]!.tail).toBe(big.slice(-24));
  });

  it("a history longer than one RPC page is read page by page, in order, nothing skipped or repeated", { timeout: 60_000 }, async () => {
    const store = durableStore(env.RESPONSES_STORE, KEY, 3_600_000);
    const ids = store.ids!(null);
    let previous: string | null = null;
    // 30 turns of 400k characters: under the value limit (whole rows), 12M in all, past one inline page.
    for (let n = 0; n < 30; n++) {
      const id = ids("resp");
      const input: ConversationItem = { type: "message", id: ids("msg"), role: "user", content: [{ type: "input_text", text: `${n}:`.padEnd(400_000, "x") }] };
      expect(await store.put({ response: { id, object: "response", status: "completed", output: [] } as unknown as ResponseResource, previous, input: [input] })).toBe(true);
      previous = id;
    }
    const seenTexts: string[] = [];
    for await (const item of (await store.history(previous!))!) seenTexts.push(textOf(item).split(":")[0]!);
    expect(seenTexts).toEqual(Array.from({ length: 30 }, (_, n) => String(n)));
  });

  it("a conversation past RPC's 32 MiB limit: stored turn by turn, continued through the Worker, every turn retrievable", { timeout: 180_000 }, async () => {
    const store = durableStore(env.RESPONSES_STORE, KEY, 3_600_000);
    const ids = store.ids!(null);
    const turns: string[] = [];
    const size = 4_500_000;
    for (let n = 0; n < 8; n++) {
      const id = ids("resp");
      const input: ConversationItem = { type: "message", id: ids("msg"), role: "user", content: [{ type: "input_text", text: String(n).repeat(size) }] };
      const output = [{ type: "message", id: ids("msg"), role: "assistant", status: "completed", content: [{ type: "output_text", text: `answer ${n}`, annotations: [] }] }];
      const response = { id, object: "response", status: "completed", previous_response_id: turns.at(-1) ?? null, output } as unknown as ResponseResource;
      expect(await store.put({ response, previous: turns.at(-1) ?? null, input: [input] })).toBe(true);
      turns.push(id);
    }
    const b = bridge();
    const next = await b.create({ model: "scripted-measure", previous_response_id: turns.at(-1), input: "still there?", stream: true });
    expect(next.store).toBe(true);
    const body = (await seen()).requests[0]!.body as { bytes: number; messages: Array<{ role: string; length: number }> };
    expect(body.bytes).toBeGreaterThan(36_000_000);
    expect(body.messages.map((m) => m.length)).toEqual([...Array.from({ length: 8 }, (_, n) => [size, `answer ${n}`.length]).flat(), "still there?".length]);
    await b.settled();
    for (const id of [...turns, next.id]) expect(await b.status("GET", `/v1/responses/${id}`)).toBe(200);
    const newest = await b.items(next.id, "?limit=3");
    expect(newest.data.map((i) => textOf(i).length)).toEqual(["still there?".length, "answer 7".length, size]);
    expect(newest.has_more).toBe(true);
  });
});

describe("upgrade from the whole-record format (schema 1)", () => {
  it("records written by the old format are migrated in place on first use: retrieved, listed, referenced and continued", async () => {
    const shard = "0123456789abcdef";
    const id = `resp_${shard}00000000000000000000000000000001`;
    const oldIds = { user: `msg_${shard}0000000000000000000000000000000a`, answer: `msg_${shard}0000000000000000000000000000000b`, next: `msg_${shard}0000000000000000000000000000000c` };
    const response = { id, object: "response", status: "completed", previous_response_id: null, store: true, model: "scripted-text", output: [{ type: "message", id: oldIds.answer, role: "assistant", status: "completed", content: [{ type: "output_text", text: "old answer", annotations: [] }] }] };
    const record = JSON.stringify({ response, input: [{ type: "message", id: oldIds.user, role: "user", content: [{ type: "input_text", text: "old question" }] }] });
    const stub = env.RESPONSES_STORE.get(env.RESPONSES_STORE.idFromName(`${await partitionOf(KEY)}:${shard}`));
    // Exactly what the previous code wrote: a record split into parts, its items indexed.
    await runInDurableObject(stub, (_o, state) => {
      const sql = state.storage.sql;
      sql.exec(`CREATE TABLE responses (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, parts INTEGER NOT NULL);
        CREATE INDEX responses_by_expiry ON responses (expires_at);
        CREATE TABLE parts (response_id TEXT NOT NULL, n INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (response_id, n));
        CREATE TABLE items (item_id TEXT NOT NULL, response_id TEXT NOT NULL, PRIMARY KEY (item_id, response_id));`);
      sql.exec("INSERT INTO responses (id, expires_at, parts) VALUES (?, ?, 2)", id, Date.now() + 3_600_000);
      sql.exec("INSERT INTO parts (response_id, n, data) VALUES (?, 0, ?), (?, 1, ?)", id, record.slice(0, 100), id, record.slice(100));
      for (const item of [oldIds.user, oldIds.answer]) sql.exec("INSERT INTO items (item_id, response_id) VALUES (?, ?)", item, id);
    });
    const b = bridge();
    expect(await (await b.call("GET", `/v1/responses/${id}`)).json()).toEqual(response);
    expect((await b.items(id)).data.map(textOf)).toEqual(["old question"]);
    const next = await b.create({ model: "scripted-text", previous_response_id: id, input: [{ type: "item_reference", id: oldIds.answer }, { type: "message", id: oldIds.next, role: "user", content: "new question" }] });
    expect((await messagesSeen(0)).messages.map((m) => m.content)).toEqual(["old question", "old answer", "old answer", "new question"]);
    await b.settled();
    expect((await b.items(next.id)).data.map(textOf)).toEqual(["old question", "old answer", "old answer", "new question"]);
    const schema = await runInDurableObject(stub, (_o, state) => ({
      version: state.storage.sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'schema'").one().value,
      tables: state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('responses', 'parts', 'items')").toArray().length,
      parent: state.storage.sql.exec<{ parent: string }>("SELECT parent FROM turns WHERE id = ?", next.id).one().parent,
    }));
    expect(schema).toEqual({ version: SCHEMA_VERSION, tables: 0, parent: id });
  });
});

describe("nothing lost silently", () => {
  const failing = (failures: number) => {
    let calls = 0;
    const wrap = (store: ResponseStore): ResponseStore => ({
      ...store,
      async put(turn) {
        calls++;
        if (calls <= failures) throw new Error(`Serialized RPC arguments or return values are limited to 32MiB (attempt ${calls})`);
        return store.put(turn);
      },
    });
    return { wrap, calls: () => calls };
  };

  it("a write that fails twice: the response is still delivered, its terminal event and JSON say store: false, one log line says why", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const fault = failing(Infinity);
    const b = bridge(fault.wrap);
    const streamed = await b.create({ model: "scripted-text", input: "hi", stream: true });
    expect(streamed).toMatchObject({ status: "completed", store: false, output: [{ content: [{ text: ANSWER }] }] });
    expect(fault.calls()).toBe(2);
    const json = await b.create({ model: "scripted-text", input: "hi" });
    expect(json).toMatchObject({ status: "completed", store: false });
    expect(errors).toHaveBeenCalledTimes(2);
    expect(String(errors.mock.calls[0]![0])).toMatch(new RegExp(`storing ${streamed.id} failed twice .*limited to 32MiB.*store: false`));
    await b.settled();
    expect(await b.status("GET", `/v1/responses/${streamed.id}`)).toBe(404);
  });

  it("a write that fails once is retried: stored, and the envelope keeps store: true", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const fault = failing(1);
    const b = bridge(fault.wrap);
    const r = await b.create({ model: "scripted-text", input: "hi", stream: true });
    expect(r.store).toBe(true);
    expect(fault.calls()).toBe(2);
    expect(errors).not.toHaveBeenCalled();
    expect(await (await b.call("GET", `/v1/responses/${r.id}`)).json()).toEqual(r);
  });

  it("rows left by an interrupted streamed write neither block its retry nor stay: the retry replaces them, the alarm sweeps the others", async () => {
    const store = durableStore(env.RESPONSES_STORE, KEY, 3_600_000);
    const ids = store.ids!(null);
    const [retried, abandoned] = [ids("resp"), ids("resp")];
    const stub = await objectOf(retried);
    await store.put({ response: { id: ids("resp"), object: "response", status: "completed", output: [] } as unknown as ResponseResource, previous: null, input: [] });
    await runInDurableObject(stub, (_o, state) => {
      for (const turn of [retried, abandoned]) state.storage.sql.exec("INSERT INTO turn_items (turn, pos, item_id, parts, size, data) VALUES (?, 0, NULL, 0, 2, '{}')", turn);
    });
    const input: ConversationItem = { type: "message", id: ids("msg"), role: "user", content: [{ type: "input_text", text: "again" }] };
    expect(await store.put({ response: { id: retried, object: "response", status: "completed", output: [] } as unknown as ResponseResource, previous: null, input: [input] })).toBe(true);
    expect((await store.list(retried, { limit: 10, order: "asc" }))!.data).toEqual([input]);
    // The next alarm (nothing expired yet) sweeps the abandoned rows and keeps everything else.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const turnsWithRows = await runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ turn: string }>("SELECT DISTINCT turn FROM turn_items").toArray().map((r) => r.turn));
    expect(turnsWithRows).not.toContain(abandoned);
    expect(turnsWithRows).toContain(retried);
  });

  it("a continuation of a response the store does not hold (deleted meanwhile) is stored whole, not lost", async () => {
    const b = bridge();
    const one = await b.create({ model: "scripted-text", input: "one" });
    // The continuation resolves its history, then the response it continued is deleted before the write.
    let deleted = false;
    const racing = bridge((store) => ({
      ...store,
      async put(turn) {
        if (!deleted) {
          deleted = true;
          await store.delete(one.id);
        }
        return store.put(turn);
      },
    }));
    const two = await racing.create({ model: "scripted-text", previous_response_id: one.id, input: "two" });
    expect(two.store).toBe(true);
    expect((await b.items(two.id)).data.map(textOf)).toEqual(["one", ANSWER, "two"]);
  });
});
