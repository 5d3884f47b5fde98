import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { ResponseResource } from "../../src/index.ts";
import type { ConversationItem } from "../../src/server.ts";
import { durableConversations } from "../../worker/cloudflare/durable-conversations.ts";
import { allOf, durableStore, shardedIds, shardOf } from "../../worker/cloudflare/durable-store.ts";
import { CHUNK_CHARS, type HistoryPage } from "../../worker/cloudflare/response-store-object.ts";
import type { Answer } from "../../worker/cloudflare/store-rows.ts";
import { BRIDGE, resetSeen, seen, storeObjectOf } from "./bridge.ts";
import { connectWs } from "./ws-client.ts";

/**
 * A response made in a conversation carries the conversation before it (issue 24, item 5): its
 * `input_items` are the conversation's items as they were when it ran, then its own input, and
 * `previous_response_id` continues from all of that. The stored turn names the conversation's first
 * items; it never copies them.
 */

const KEY = "sk-conv-chain";
const ANSWER = "Hello from the scripted upstream.";

type Json = Record<string, unknown>;
type Page = { data: ConversationItem[]; first_id: string | null; last_id: string | null; has_more: boolean };

async function call(method: string, path: string, body?: unknown, key: string | null = KEY): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  return exports.default.fetch(`${BRIDGE}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

async function ok<T = Json>(res: Response): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as T;
}

const user = (text: string) => ({ type: "message", role: "user", content: text });
const assistant = (text: string) => ({ type: "message", role: "assistant", content: text });
const textOf = (item: ConversationItem) => (item as { content?: Array<{ text?: string }> }).content?.[0]?.text;
const textsOf = (items: ConversationItem[]) => items.map(textOf);

const newConversation = async (items: unknown[]) => ok<{ id: string }>(await call("POST", "/v1/conversations", { items }));
const create = async (body: Json) => ok<ResponseResource>(await call("POST", "/v1/responses", { model: "scripted-text", ...body }));

/** The chat messages the upstream received in request `n`, as [role, text]. */
async function messagesSeen(n: number): Promise<Array<[string, unknown]>> {
  const body = (await seen()).requests[n]!.body as { messages: Array<{ role: string; content: unknown }> };
  return body.messages.map((m) => [m.role, m.content]);
}

/** Every input item of a response through the API's pages of `limit`, in `order`. */
async function inputItems(id: string, order: "asc" | "desc", limit: number, key: string | null = KEY): Promise<{ items: ConversationItem[]; pages: number }> {
  const items: ConversationItem[] = [];
  let after: string | null = null;
  for (let pages = 1; pages < 1000; pages++) {
    const page: Page = await ok<Page>(await call("GET", `/v1/responses/${id}/input_items?order=${order}&limit=${limit}${after ? `&after=${after}` : ""}`, undefined, key));
    items.push(...page.data);
    expect(page.first_id).toBe(page.data[0]?.id ?? null);
    expect(page.last_id).toBe(page.data.at(-1)?.id ?? null);
    if (!page.has_more) return { items, pages };
    after = page.last_id;
  }
  throw new Error("too many pages");
}

const objectOf = (id: string, key: string | null = KEY) => storeObjectOf(id, key);

beforeEach(async () => {
  await resetSeen();
});

describe("a response run in a conversation, continued and listed", () => {
  it("previous_response_id continues the conversation before it, not only its own turn", async () => {
    const c = await newConversation([{ type: "message", role: "developer", content: "Be brief." }, user("My name is Ada."), assistant("Noted.")]);
    const r1 = await create({ input: "What is my name?", conversation: c.id });
    // Added to the conversation after r1 ran: not part of what r1 saw.
    await ok(await call("POST", `/v1/conversations/${c.id}/items`, { items: [user("later")] }));
    const r2 = await create({ input: "And again?", previous_response_id: r1.id });
    expect(r2.status).toBe("completed");
    expect(await messagesSeen(1)).toEqual([
      ["system", "Be brief."],
      ["user", "My name is Ada."],
      ["assistant", "Noted."],
      ["user", "What is my name?"],
      ["assistant", ANSWER],
      ["user", "And again?"],
    ]);
    // The chain goes on: a third turn sees the second's as well.
    await create({ input: "Third.", previous_response_id: r2.id });
    expect(await messagesSeen(2)).toHaveLength(8);
    // r2 and r3 are not in the conversation (they continued r1, not the conversation).
    const conv = await ok<Page>(await call("GET", `/v1/conversations/${c.id}/items?order=asc`));
    expect(textsOf(conv.data)).toEqual(["Be brief.", "My name is Ada.", "Noted.", "What is my name?", ANSWER, "later"]);
  });

  it("input_items lists the conversation's items as they were, then the response's own, in pages and in either order", async () => {
    const c = await newConversation([user("one"), assistant("two"), user("three")]);
    const r1 = await create({ input: [assistant("four"), user("five")], conversation: c.id });
    const r2 = await create({ input: "six", conversation: c.id });
    const expected1 = ["one", "two", "three", "four", "five"];
    for (const limit of [1, 2, 3, 100]) {
      const asc = await inputItems(r1.id, "asc", limit);
      expect(textsOf(asc.items)).toEqual(expected1);
      expect(asc.pages).toBe(Math.max(1, Math.ceil(expected1.length / limit)));
      expect(textsOf((await inputItems(r1.id, "desc", limit)).items)).toEqual([...expected1].reverse());
    }
    // The ids are those of the conversation's items (the same items, not copies).
    const convItems = (await ok<Page>(await call("GET", `/v1/conversations/${c.id}/items?order=asc`))).data;
    const listed = (await inputItems(r1.id, "asc", 100)).items;
    expect(listed.map((i) => i.id)).toEqual(convItems.slice(0, 5).map((i) => i.id));
    // r2 ran after r1 joined the conversation: it sees r1's input and output too.
    expect(textsOf((await inputItems(r2.id, "asc", 100)).items)).toEqual([...expected1, ANSWER, "six"]);
    // An `after` beyond what r1 saw (r2's own input) is not one of r1's input items.
    const six = convItems.find((i) => textOf(i) === "six");
    expect(six?.id).toBeTruthy();
    expect((await call("GET", `/v1/responses/${r1.id}/input_items?after=${six!.id}`)).status).toBe(400);
  });

  it("a deleted conversation item is gone from the response's history too; a deleted conversation leaves the responses their own turns", async () => {
    const c = await newConversation([user("keep"), user("secret"), assistant("ok")]);
    const r1 = await create({ input: "go on", conversation: c.id });
    const secret = (await ok<Page>(await call("GET", `/v1/conversations/${c.id}/items?order=asc`))).data[1]!;
    expect(textOf(secret)).toBe("secret");
    await ok(await call("DELETE", `/v1/conversations/${c.id}/items/${secret.id}`));
    expect(textsOf((await inputItems(r1.id, "asc", 2)).items)).toEqual(["keep", "ok", "go on"]);
    await create({ input: "next", previous_response_id: r1.id });
    expect(await messagesSeen(1)).toEqual([
      ["user", "keep"],
      ["assistant", "ok"],
      ["user", "go on"],
      ["assistant", ANSWER],
      ["user", "next"],
    ]);

    await ok(await call("DELETE", `/v1/conversations/${c.id}`));
    expect(textsOf((await inputItems(r1.id, "asc", 100)).items)).toEqual(["go on"]);
    expect((await ok<ResponseResource>(await call("GET", `/v1/responses/${r1.id}`))).output).toEqual(r1.output);
    await create({ input: "after all", previous_response_id: r1.id });
    expect(await messagesSeen(2)).toEqual([
      ["user", "go on"],
      ["assistant", ANSWER],
      ["user", "after all"],
    ]);
  });

  it("a turn stored before this change (a conversation response kept as its own turn) still reads as it was", async () => {
    const c = await newConversation([user("before")]);
    const store = durableStore(env.RESPONSES_STORE, KEY, 86_400_000);
    const ids = shardedIds(c.id);
    const id = ids("resp");
    const output = [{ type: "message", id: ids("msg"), role: "assistant", status: "completed", content: [{ type: "output_text", text: "old answer", annotations: [] }] }];
    const response = { id, object: "response", created_at: 1, status: "completed", model: "scripted-text", output, conversation: { id: c.id } } as unknown as ResponseResource;
    // As the old code stored it: no `conversation` on the turn.
    expect(await store.put({ response, previous: null, input: [{ type: "message", id: ids("msg"), role: "user", content: [{ type: "input_text", text: "old question" }] } as ConversationItem] })).toBe(true);
    expect(textsOf((await inputItems(id, "asc", 100)).items)).toEqual(["old question"]);
    await create({ input: "new", previous_response_id: id });
    expect(await messagesSeen(0)).toEqual([
      ["user", "old question"],
      ["assistant", "old answer"],
      ["user", "new"],
    ]);
  });

  it("an item deleted while the response ran does not move where its view of the conversation ends", async () => {
    const c = await newConversation([user("a"), user("b"), user("c")]);
    const [, b, third] = (await ok<Page>(await call("GET", `/v1/conversations/${c.id}/items?order=asc`))).data;
    const conversations = durableConversations(env.RESPONSES_STORE, KEY);
    const ids = shardedIds(c.id);
    const own = { type: "message", id: ids("msg"), role: "user", content: [{ type: "input_text", text: "own" }] } as ConversationItem;
    // The response read a, b, c; then its own input joined the conversation, and b was deleted before the turn was stored.
    expect(await conversations.append(c.id, [own])).toBe(true);
    expect(await conversations.deleteItem(c.id, b!.id as string)).toBe(true);
    const response = { id: ids("resp"), object: "response", created_at: 1, status: "completed", model: "scripted-text", output: [], conversation: { id: c.id } } as unknown as ResponseResource;
    const store = durableStore(env.RESPONSES_STORE, KEY, 86_400_000);
    expect(await store.put({ response, previous: null, input: [own], conversation: { id: c.id, items: 3, last: third!.id as string } })).toBe(true);
    expect(textsOf((await inputItems(response.id, "asc", 100)).items)).toEqual(["a", "c", "own"]);
  });

  it("a history read in pages goes on where it stopped, even when a conversation item it already read is deleted in between", async () => {
    const big = (c: string) => c.repeat(CHUNK_CHARS + 1000);
    const c = await newConversation([user(big("a")), assistant("small"), user(big("b"))]);
    const r1 = await create({ input: "go", conversation: c.id });
    const object = await objectOf(c.id);
    // A chunked row is a page of its own.
    const first = (await object.history(r1.id)) as HistoryPage;
    expect((await allOf(first.items as Answer)).map((i) => textOf(i)?.slice(0, 3))).toEqual(["aaa"]);
    expect(first.next).not.toBeNull();
    const conv = (await ok<Page>(await call("GET", `/v1/conversations/${c.id}/items?order=asc&limit=1`))).data[0]!;
    await ok(await call("DELETE", `/v1/conversations/${c.id}/items/${conv.id}`));
    const rest: ConversationItem[] = [];
    for (let page: HistoryPage | undefined = (await object.history(r1.id, first.next!)) as HistoryPage, n = 0; page && n < 10; n++) {
      rest.push(...(await allOf(page.items as Answer)));
      page = page.next === null ? undefined : ((await object.history(r1.id, page.next)) as HistoryPage);
    }
    expect(rest.map((i) => textOf(i)?.slice(0, 5))).toEqual(["small", "bbbbb", "go", ANSWER.slice(0, 5)]);
  });

  it("HTTP and the WebSocket agree: a conversation response continued on a socket, from its memory or from the store, sees what HTTP sees", async () => {
    const c = await newConversation([user("Remember 42."), assistant("OK.")]);
    const ws = await connectWs((init) => exports.default.fetch(`${BRIDGE}/v1/responses`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${KEY}` } }));
    ws.create({ model: "scripted-text", input: [user("Which number?")], conversation: c.id });
    const r1 = (await ws.turn()).at(-1)!.response!;
    expect(r1.status).toBe("completed");
    // On the same socket (its memory), on a new socket (the store), and over HTTP.
    ws.create({ model: "scripted-text", input: [user("Sure?")], previous_response_id: r1.id });
    expect((await ws.turn()).at(-1)!.type).toBe("response.completed");
    ws.ws.close();
    const other = await connectWs((init) => exports.default.fetch(`${BRIDGE}/v1/responses`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${KEY}` } }));
    other.create({ model: "scripted-text", input: [user("Sure?")], previous_response_id: r1.id });
    expect((await other.turn()).at(-1)!.type).toBe("response.completed");
    other.ws.close();
    await create({ input: [user("Sure?")], previous_response_id: r1.id });
    const expected = [
      ["user", "Remember 42."],
      ["assistant", "OK."],
      ["user", "Which number?"],
      ["assistant", ANSWER],
      ["user", "Sure?"],
    ];
    for (const n of [1, 2, 3]) expect(await messagesSeen(n)).toEqual(expected);
    expect(textsOf((await inputItems(r1.id, "asc", 100)).items)).toEqual(["Remember 42.", "OK.", "Which number?"]);
  });
});

describe("a long conversation, continued by previous_response_id", () => {
  it("a 10,000-item conversation: the response's turn names it (no copy), and its continuation and input_items see all of it", async () => {
    const c = await newConversation([user("item 0")]);
    const conversations = durableConversations(env.RESPONSES_STORE, KEY);
    // Alternating roles, so the upstream sees one message per item (adjacent user messages are joined).
    const item = (n: number) => {
      const role = n % 2 ? "assistant" : "user";
      const content = [{ type: n % 2 ? "output_text" : "input_text", text: `item ${n}`, ...(n % 2 ? { annotations: [] } : {}) }];
      return { type: "message", role, content, id: `msg_${shardOf(c.id)}${String(n).padStart(8, "0")}`, status: "completed" } as ConversationItem;
    };
    for (let base = 1; base < 10_000; base += 500) expect(await conversations.append(c.id, Array.from({ length: Math.min(500, 10_000 - base) }, (_, i) => item(base + i)))).toBe(true);
    const object = await objectOf(c.id);
    const before = await object.stats();
    expect(before.items).toBe(10_000);

    const r1 = await create({ model: "scripted-measure", input: "and one more", conversation: c.id });
    const afterR1 = await object.stats();
    // The turn's input and output in the conversation (2 rows), and the stored turn (its input, output and envelope: 3), never the 10,000.
    expect(afterR1.items - before.items).toBe(5);
    expect(afterR1.databaseSize - before.databaseSize).toBeLessThan(64 * 1024);

    await resetSeen();
    const r2 = await create({ model: "scripted-measure", input: "continued", previous_response_id: r1.id });
    expect(r2.status).toBe("completed");
    const measured = (await seen()).requests[0]!.body as unknown as { messages: Array<{ tail: string }> };
    expect(measured.messages).toHaveLength(10_003);
    expect(measured.messages[0]!.tail).toBe("item 0");
    expect(measured.messages[9_999]!.tail).toBe("item 9999");
    expect(measured.messages[10_000]!.tail).toBe("and one more");
    expect(measured.messages[10_002]!.tail).toBe("continued");
    const afterR2 = await object.stats();
    expect(afterR2.items - afterR1.items).toBe(3);
    expect(afterR2.databaseSize - afterR1.databaseSize).toBeLessThan(64 * 1024);

    // input_items: the newest page is r2's input, r1's output and input, then the conversation's last items.
    const page = await ok<Page>(await call("GET", `/v1/responses/${r2.id}/input_items?limit=5`));
    expect(textsOf(page.data)).toEqual(["continued", r1.output.length ? textOf(r1.output[0] as ConversationItem) : undefined, "and one more", "item 9999", "item 9998"]);
    expect(page.has_more).toBe(true);
    const oldest = await ok<Page>(await call("GET", `/v1/responses/${r2.id}/input_items?order=asc&limit=2&after=${item(9_998).id}`));
    expect(textsOf(oldest.data)).toEqual(["item 9999", "and one more"]);
  });
});
