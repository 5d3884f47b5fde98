import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { ResponseResource } from "../../src/index.ts";
import type { ConversationItem, ConversationStore } from "../../src/server.ts";
import { configFromEnv } from "../../worker/config.ts";
import { durableStore } from "../../worker/cloudflare/durable-store.ts";
import { handle } from "../../worker/router.ts";
import { durableConversations } from "../../worker/cloudflare/durable-conversations.ts";
import { shardOf } from "../../worker/cloudflare/durable-store.ts";
import { CHUNK_CHARS, type ResponseStoreObject } from "../../worker/cloudflare/response-store-object.ts";
import { BRIDGE, events, resetSeen, seen, storeObjectOf, UPSTREAM, withEnv } from "./bridge.ts";
import { connectWs } from "./ws-client.ts";

/** The Conversations API and `conversation` on create (issue 24, item 5), through the Worker as deployed. */

const KEY_A = "sk-conv-a";
const KEY_B = "sk-conv-b";

type Json = Record<string, unknown>;

async function call(method: string, path: string, body?: unknown, key: string | null = KEY_A): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  return exports.default.fetch(`${BRIDGE}${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) });
}

async function ok(res: Response): Promise<Json> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as Json;
}

async function error(res: Response, status: number): Promise<Json> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  const { request_id: _id, ...payload } = (JSON.parse(text) as { error: Json }).error;
  return payload;
}

const user = (text: string) => ({ type: "message", role: "user", content: text });
const assistant = (text: string) => ({ type: "message", role: "assistant", content: text });
const textsOf = (items: ConversationItem[]) => items.map((i) => (i as { content?: Array<{ text?: string }> }).content?.[0]?.text);

async function newConversation(body: Json = {}, key: string | null = KEY_A): Promise<Json & { id: string }> {
  return (await ok(await call("POST", "/v1/conversations", body, key))) as Json & { id: string };
}

/** Every item, oldest first, through the API's pages. */
async function allItems(id: string, key: string | null = KEY_A): Promise<ConversationItem[]> {
  const out: ConversationItem[] = [];
  let after: string | null = null;
  for (let n = 0; n < 1000; n++) {
    const page = (await ok(await call("GET", `/v1/conversations/${id}/items?order=asc&limit=100${after ? `&after=${after}` : ""}`, undefined, key))) as { data: ConversationItem[]; has_more: boolean; last_id: string };
    out.push(...page.data);
    if (!page.has_more) return out;
    after = page.last_id;
  }
  throw new Error("too many pages");
}

const objectOf = (id: string, key: string | null = KEY_A) => storeObjectOf(id, key);

beforeEach(async () => {
  await resetSeen();
});

describe("the Conversations API", () => {
  it("creates a conversation with items and metadata, retrieves, updates and deletes it, in OpenAI's shapes", async () => {
    const created = await newConversation({ items: [user("Hello!"), { type: "message", role: "assistant", content: "Hi." }], metadata: { topic: "demo" } });
    expect(Object.keys(created)).toEqual(["id", "object", "created_at", "metadata"]);
    expect(created).toMatchObject({ object: "conversation", metadata: { topic: "demo" } });
    expect(created.id).toMatch(/^conv_[0-9a-f]{24}/);
    expect(Math.abs((created.created_at as number) - Date.now() / 1000)).toBeLessThan(120);
    expect(await ok(await call("GET", `/v1/conversations/${created.id}`))).toEqual(created);

    const items = await allItems(created.id);
    expect(items).toEqual([
      { type: "message", role: "user", content: [{ type: "input_text", text: "Hello!" }], id: expect.stringMatching(/^msg_/), status: "completed" },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Hi.", annotations: [] }], id: expect.stringMatching(/^msg_/), status: "completed" },
    ]);
    // Items share the conversation's shard (its object).
    expect(shardOf(items[0]!.id!)).toBe(shardOf(created.id));

    const updated = await ok(await call("POST", `/v1/conversations/${created.id}`, { metadata: { topic: "other", n: "2" } }));
    expect(updated).toEqual({ ...created, metadata: { topic: "other", n: "2" } });
    expect(await ok(await call("POST", `/v1/conversations/${created.id}`, { metadata: null }))).toEqual({ ...created, metadata: {} });

    expect(await ok(await call("DELETE", `/v1/conversations/${created.id}`))).toEqual({ id: created.id, object: "conversation.deleted", deleted: true });
    const gone = { message: `Conversation with id '${created.id}' not found.`, type: "invalid_request_error", param: null, code: null };
    expect(await error(await call("GET", `/v1/conversations/${created.id}`), 404)).toEqual(gone);
    expect(await error(await call("DELETE", `/v1/conversations/${created.id}`), 404)).toEqual(gone);
    expect(await error(await call("GET", `/v1/conversations/${created.id}/items`), 404)).toEqual(gone);
    expect(await error(await call("POST", `/v1/conversations/${created.id}/items`, { items: [user("x")] }), 404)).toEqual(gone);
    expect((await objectOf(created.id).then((o) => o.stats())).items).toBe(0);
  });

  it("refuses bad metadata and items with OpenAI's errors", async () => {
    const seventeen = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]));
    expect(await error(await call("POST", "/v1/conversations", { metadata: seventeen }), 400)).toEqual({
      message: "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an object with 17 properties instead.",
      type: "invalid_request_error",
      param: "metadata",
      code: "object_above_max_properties",
    });
    expect(await error(await call("POST", "/v1/conversations", { metadata: { ["k".repeat(65)]: "v" } }), 400)).toMatchObject({ param: "metadata", code: "string_above_max_length" });
    expect(await error(await call("POST", "/v1/conversations", { metadata: { k: "v".repeat(513) } }), 400)).toMatchObject({
      message: "Invalid 'metadata.k': string too long. Expected a string with maximum length 512, but got a string with length 513 instead.",
      param: "metadata.k",
      code: "string_above_max_length",
    });
    expect(await error(await call("POST", "/v1/conversations", { metadata: { k: 1 } }), 400)).toMatchObject({ param: "metadata.k", code: "invalid_type" });
    expect(await error(await call("POST", "/v1/conversations", { metadata: "x" }), 400)).toMatchObject({ message: "Invalid type for 'metadata': expected a metadata object, but got a string instead.", code: "invalid_type" });
    const many = Array.from({ length: 21 }, (_, i) => user(`m${i}`));
    expect(await error(await call("POST", "/v1/conversations", { items: many }), 400)).toEqual({
      message: "Invalid 'items': array too long. Expected an array with maximum length 20, but got an array with length 21 instead.",
      type: "invalid_request_error",
      param: "items",
      code: "array_above_max_length",
    });
    expect(await error(await call("POST", "/v1/conversations", "{not json"), 400)).toMatchObject({ code: "invalid_json" });
    expect(await error(await call("POST", "/v1/conversations", { items: [], title: "x" }), 400)).toEqual({ message: "Unknown parameter: 'title'.", type: "invalid_request_error", param: "title", code: "unknown_parameter" });
    // Items are checked as a turn will send them: what no turn could translate is refused now, named as `items[…]`.
    const noContent = await error(await call("POST", "/v1/conversations", { items: [user("ok"), { type: "message", role: "user" }] }), 400);
    expect(noContent.param).toMatch(/^items\[1\]/);
    expect(noContent.message).toContain("items[1]");
    expect(await error(await call("POST", "/v1/conversations", { items: [{ type: "item_reference", id: "msg_nowhere" }] }), 400)).toMatchObject({ param: "items[0].id", code: "item_not_found" });
    const c = await newConversation();
    expect(await error(await call("POST", `/v1/conversations/${c.id}/items`, { items: many }), 400)).toMatchObject({ code: "array_above_max_length" });
    expect(await error(await call("POST", `/v1/conversations/${c.id}/items`, {}), 400)).toEqual({ message: "Missing required parameter: 'items'.", type: "invalid_request_error", param: "items", code: "missing_required_parameter" });
    expect(await error(await call("POST", `/v1/conversations/${c.id}`, {}), 400)).toMatchObject({ param: "metadata", code: "missing_required_parameter" });
    expect(await error(await call("PUT", `/v1/conversations/${c.id}`, {}), 405)).toMatchObject({ code: "method_not_allowed" });
    // Nothing was written by the refused requests.
    expect(await allItems(c.id)).toEqual([]);
  });

  it("adds items (answered as a list), pages them by after/limit/order, gets and deletes one", async () => {
    const c = await newConversation({ items: [user("m0")] });
    const added = (await ok(await call("POST", `/v1/conversations/${c.id}/items`, { items: [user("m1"), user("m2"), user("m3"), user("m4")] }))) as { data: ConversationItem[] } & Json;
    expect(added).toMatchObject({ object: "list", has_more: false, first_id: added.data[0]!.id, last_id: added.data[3]!.id });
    expect(textsOf(added.data)).toEqual(["m1", "m2", "m3", "m4"]);

    // Default: newest first, 20 at most.
    const desc = (await ok(await call("GET", `/v1/conversations/${c.id}/items`))) as { data: ConversationItem[] } & Json;
    expect(textsOf(desc.data)).toEqual(["m4", "m3", "m2", "m1", "m0"]);
    expect(desc).toMatchObject({ object: "list", has_more: false, first_id: desc.data[0]!.id, last_id: desc.data[4]!.id });
    const page1 = (await ok(await call("GET", `/v1/conversations/${c.id}/items?order=asc&limit=2`))) as { data: ConversationItem[]; last_id: string; has_more: boolean };
    expect([textsOf(page1.data), page1.has_more]).toEqual([["m0", "m1"], true]);
    const page2 = (await ok(await call("GET", `/v1/conversations/${c.id}/items?order=asc&limit=2&after=${page1.last_id}`))) as { data: ConversationItem[]; last_id: string; has_more: boolean };
    expect([textsOf(page2.data), page2.has_more]).toEqual([["m2", "m3"], true]);
    const page3 = (await ok(await call("GET", `/v1/conversations/${c.id}/items?order=asc&limit=2&after=${page2.last_id}`))) as { data: ConversationItem[]; has_more: boolean };
    expect([textsOf(page3.data), page3.has_more]).toEqual([["m4"], false]);
    const before = (await ok(await call("GET", `/v1/conversations/${c.id}/items?order=desc&limit=2&after=${page2.last_id}`))) as { data: ConversationItem[]; has_more: boolean };
    expect([textsOf(before.data), before.has_more]).toEqual([["m2", "m1"], true]);
    // `limit` and `order` out of bounds: OpenAI's words and codes.
    const bad = async (query: string) => error(await call("GET", `/v1/conversations/${c.id}/items?${query}`), 400);
    expect(await bad("limit=101")).toEqual({ message: "Invalid 'limit': integer above maximum value. Expected a value <= 100, but got 101 instead.", type: "invalid_request_error", param: "limit", code: "integer_above_max_value" });
    expect(await bad("limit=0")).toEqual({ message: "Invalid 'limit': integer below minimum value. Expected a value >= 1, but got 0 instead.", type: "invalid_request_error", param: "limit", code: "integer_below_min_value" });
    expect(await bad("limit=ten")).toMatchObject({ param: "limit", code: "invalid_type", message: "Invalid type for 'limit': expected an integer, but got a string instead." });
    expect(await bad("limit=2.5")).toMatchObject({ param: "limit", code: "invalid_type", message: "Invalid type for 'limit': expected an integer, but got a decimal instead." });
    expect(await bad("order=newest")).toEqual({ message: "Invalid value: 'newest'. Supported values are: 'asc' and 'desc'.", type: "invalid_request_error", param: "order", code: "invalid_value" });
    expect(await bad("limit=")).toMatchObject({ param: "limit", code: "invalid_type" });
    expect(await error(await call("GET", `/v1/conversations/${c.id}/items?after=msg_unknown`), 400)).toMatchObject({ param: "after", code: "invalid_value" });

    const m2 = page2.data[0]!;
    expect(await ok(await call("GET", `/v1/conversations/${c.id}/items/${m2.id}`))).toEqual(m2);
    expect(await ok(await call("DELETE", `/v1/conversations/${c.id}/items/${m2.id}`))).toEqual(await ok(await call("GET", `/v1/conversations/${c.id}`)));
    const missing = { message: `Item with id '${m2.id}' not found.`, type: "invalid_request_error", param: null, code: null };
    expect(await error(await call("GET", `/v1/conversations/${c.id}/items/${m2.id}`), 404)).toEqual(missing);
    expect(await error(await call("DELETE", `/v1/conversations/${c.id}/items/${m2.id}`), 404)).toEqual(missing);
    expect(textsOf(await allItems(c.id))).toEqual(["m0", "m1", "m3", "m4"]);
    // An item added after a deletion goes at the end.
    await ok(await call("POST", `/v1/conversations/${c.id}/items`, { items: [user("m5")] }));
    expect(textsOf(await allItems(c.id))).toEqual(["m0", "m1", "m3", "m4", "m5"]);
  });

  it("include: a reasoning item's encrypted_content is listed only with reasoning.encrypted_content; an unknown value is OpenAI's 400", async () => {
    const reasoning = { type: "reasoning", id: "rs_client_1", summary: [{ type: "summary_text", text: "thought" }], encrypted_content: "sealed-by-someone" };
    const c = await newConversation({ items: [user("q"), reasoning] });
    const plain = (await ok(await call("GET", `/v1/conversations/${c.id}/items?order=asc`))) as { data: Json[] };
    expect(plain.data[1]).toEqual({ type: "reasoning", id: "rs_client_1", summary: reasoning.summary });
    const withSealed = (await ok(await call("GET", `/v1/conversations/${c.id}/items?order=asc&include[]=reasoning.encrypted_content`))) as { data: Json[] };
    expect(withSealed.data[1]).toEqual(reasoning);
    expect(await ok(await call("GET", `/v1/conversations/${c.id}/items/rs_client_1?include=reasoning.encrypted_content`))).toEqual(reasoning);
    expect(await ok(await call("GET", `/v1/conversations/${c.id}/items/rs_client_1`))).not.toHaveProperty("encrypted_content");
    expect(await error(await call("GET", `/v1/conversations/${c.id}/items?include=bogus.thing`), 400)).toMatchObject({ param: "include[0]", code: "invalid_value", message: expect.stringMatching(/^Invalid value: 'bogus.thing'. Supported values are: /) });
  });

  it("another credential's conversation is unknown (404) on every route, and its items are untouched", async () => {
    const c = await newConversation({ items: [user("secret")] }, KEY_A);
    const gone = { message: `Conversation with id '${c.id}' not found.`, type: "invalid_request_error", param: null, code: null };
    expect(await error(await call("GET", `/v1/conversations/${c.id}`, undefined, KEY_B), 404)).toEqual(gone);
    expect(await error(await call("POST", `/v1/conversations/${c.id}`, { metadata: {} }, KEY_B), 404)).toEqual(gone);
    expect(await error(await call("GET", `/v1/conversations/${c.id}/items`, undefined, KEY_B), 404)).toEqual(gone);
    expect(await error(await call("POST", `/v1/conversations/${c.id}/items`, { items: [user("x")] }, KEY_B), 404)).toEqual(gone);
    expect(await error(await call("DELETE", `/v1/conversations/${c.id}`, undefined, KEY_B), 404)).toEqual(gone);
    expect(await error(await call("POST", "/v1/responses", { model: "scripted-text", input: "hi", conversation: c.id }, KEY_B), 404)).toEqual(gone);
    expect((await seen()).requests).toHaveLength(0);
    expect(textsOf(await allItems(c.id, KEY_A))).toEqual(["secret"]);
  });
});

/** The chat messages the upstream received in request `n`, as [role, text]. */
async function messagesSeen(n: number): Promise<Array<[string, unknown]>> {
  const body = (await seen()).requests[n]!.body as { messages: Array<{ role: string; content: unknown; tool_calls?: unknown }> };
  return body.messages.map((m) => [m.role, m.content ?? m.tool_calls]);
}

const ANSWER = "Hello from the scripted upstream.";

describe("conversation on create", () => {
  it("prepends the conversation's items, appends the turn's input and output when it completes, and says conversation: { id } (JSON and SSE)", async () => {
    const c = await newConversation({ items: [{ type: "message", role: "developer", content: "Be brief." }, user("My name is Ada."), assistant("Noted.")] });
    const first = (await ok(await call("POST", "/v1/responses", { model: "scripted-text", input: "What is my name?", conversation: c.id }))) as unknown as ResponseResource;
    expect(first).toMatchObject({ status: "completed", conversation: { id: c.id } });
    expect(shardOf(first.id)).toBe(shardOf(c.id));
    expect(await messagesSeen(0)).toEqual([
      ["system", "Be brief."],
      ["user", "My name is Ada."],
      ["assistant", "Noted."],
      ["user", "What is my name?"],
    ]);
    const after1 = await allItems(c.id);
    expect(textsOf(after1)).toEqual(["Be brief.", "My name is Ada.", "Noted.", "What is my name?", ANSWER]);
    expect(after1[4]).toEqual(first.output[0]);

    // `{ id }` and a stream: the second turn holds the first.
    const sse = await call("POST", "/v1/responses", { model: "scripted-text", input: [user("Thanks")], conversation: { id: c.id }, stream: true });
    expect(sse.status).toBe(200);
    const terminal = events(await sse.text()).at(-1) as { type: string; response: ResponseResource };
    expect(terminal).toMatchObject({ type: "response.completed", response: { conversation: { id: c.id } } });
    expect(await messagesSeen(1)).toEqual([
      ["system", "Be brief."],
      ["user", "My name is Ada."],
      ["assistant", "Noted."],
      ["user", "What is my name?"],
      ["assistant", ANSWER],
      ["user", "Thanks"],
    ]);
    expect(textsOf(await allItems(c.id))).toEqual(["Be brief.", "My name is Ada.", "Noted.", "What is my name?", ANSWER, "Thanks", ANSWER]);
    // The response is stored as well: its input items are the conversation's before it, then its own (conversation-chain.test.ts).
    const inputItems = (await ok(await call("GET", `/v1/responses/${terminal.response.id}/input_items?order=asc`))) as { data: ConversationItem[] };
    expect(textsOf(inputItems.data)).toEqual(["Be brief.", "My name is Ada.", "Noted.", "What is my name?", ANSWER, "Thanks"]);
  });

  it("a tool call and its output round-trip through the conversation", async () => {
    const tools = [{ type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } }];
    const c = await newConversation();
    const call1 = (await ok(await call("POST", "/v1/responses", { model: "scripted-tools", input: "Weather?", tools, conversation: c.id }))) as unknown as ResponseResource;
    const fc = call1.output.find((i) => i.type === "function_call") as { call_id: string };
    await ok(await call("POST", "/v1/responses", { model: "scripted-tools", input: [{ type: "function_call_output", call_id: fc.call_id, output: "sunny" }], tools, conversation: c.id }));
    expect((await allItems(c.id)).map((i) => i.type)).toEqual(["message", "function_call", "function_call_output", "message"]);
  });

  it("conversation with previous_response_id is OpenAI's 400; an unknown conversation is its 404; a malformed one its 400", async () => {
    const c = await newConversation();
    expect(await error(await call("POST", "/v1/responses", { model: "scripted-text", input: "hi", conversation: c.id, previous_response_id: "resp_x" }), 400)).toEqual({
      message: "Mutually exclusive parameters. Ensure you are only providing one of: 'previous_response_id' or 'conversation'.",
      type: "invalid_request_error",
      param: null,
      code: "mutually_exclusive_parameters",
    });
    const unknown = `conv_${"0".repeat(40)}`;
    expect(await error(await call("POST", "/v1/responses", { model: "scripted-text", input: "hi", conversation: unknown }), 404)).toEqual({ message: `Conversation with id '${unknown}' not found.`, type: "invalid_request_error", param: null, code: null });
    expect(await error(await call("POST", "/v1/responses", { model: "scripted-text", input: "hi", conversation: "thread_1" }), 400)).toMatchObject({ param: "conversation", code: "invalid_value" });
    expect(await error(await call("POST", "/v1/responses", { model: "scripted-text", input: "hi", conversation: 7 }), 400)).toMatchObject({ param: "conversation", code: "invalid_type" });
    expect((await seen()).requests).toHaveLength(0);
    expect(await allItems(c.id)).toEqual([]);
  });

  it("a failed response appends nothing; an incomplete one (max tokens) appends its partial answer", async () => {
    const c = await newConversation({ items: [user("start")] });
    const failed = await call("POST", "/v1/responses", { model: "scripted-midstream-error", input: "boom", conversation: c.id, stream: true });
    expect(events(await failed.text()).at(-1)).toMatchObject({ type: "response.failed" });
    expect(textsOf(await allItems(c.id))).toEqual(["start"]);
    const incomplete = (await ok(await call("POST", "/v1/responses", { model: "scripted-length", input: "long", conversation: c.id }))) as unknown as ResponseResource;
    expect(incomplete.status).toBe("incomplete");
    expect(textsOf(await allItems(c.id))).toEqual(["start", "long", ANSWER]);
  });

  it("two responses and an items call running in one conversation at once: each turn lands whole, in one piece, once", async () => {
    const c = await newConversation({ items: [user("start")] });
    const [a, b] = await Promise.all([
      call("POST", "/v1/responses", { model: "scripted-text", input: "turn A", conversation: c.id }).then(ok),
      call("POST", "/v1/responses", { model: "scripted-text", input: "turn B", conversation: c.id, stream: true }).then((r) => r.text()),
      call("POST", `/v1/conversations/${c.id}/items`, { items: [user("added 1"), user("added 2")] }).then(ok),
    ]);
    expect(a).toMatchObject({ status: "completed", conversation: { id: c.id } });
    expect(events(b as string).at(-1)).toMatchObject({ type: "response.completed", response: { conversation: { id: c.id } } });
    const items = textsOf(await allItems(c.id));
    expect(items).toHaveLength(7);
    expect(items[0]).toBe("start");
    const at = (text: string) => items.indexOf(text);
    // Each append is contiguous: a turn's input is followed by its own answer, the two added items stay together.
    for (const turn of ["turn A", "turn B"]) expect(items[at(turn) + 1]).toBe(ANSWER);
    expect(at("added 2")).toBe(at("added 1") + 1);
    expect(new Set((await allItems(c.id)).map((i) => i.id)).size).toBe(7);
  });

  it("a compaction_trigger in a conversation is a 400 before any upstream call, never a summary of part of it that claims the conversation", async () => {
    const c = await newConversation({ items: [user("My name is Ada."), assistant("Noted.")] });
    const refused = await error(await call("POST", "/v1/responses", { model: "scripted-text", input: [user("Go on."), { type: "compaction_trigger" }], conversation: c.id }), 400);
    expect(refused).toMatchObject({ type: "invalid_request_error", param: "conversation", code: "unsupported_parameter" });
    expect(refused.message).toMatch(/compaction_trigger/);
    expect((await seen()).requests).toHaveLength(0);
    expect(textsOf(await allItems(c.id))).toEqual(["My name is Ada.", "Noted."]);
  });

  it("the WebSocket's response.create runs in a conversation too", async () => {
    const c = await newConversation({ items: [user("Remember 42."), assistant("OK.")] }, null);
    const client = await connectWs();
    client.create({ model: "scripted-text", input: [user("Which number?")], conversation: c.id });
    const done = (await client.turn()).at(-1)!;
    expect(done).toMatchObject({ type: "response.completed", response: { conversation: { id: c.id } } });
    expect(await messagesSeen(0)).toEqual([
      ["user", "Remember 42."],
      ["assistant", "OK."],
      ["user", "Which number?"],
    ]);
    expect(textsOf(await allItems(c.id, null))).toEqual(["Remember 42.", "OK.", "Which number?", ANSWER]);
    client.ws.close();
  });
});

describe("living beside stored responses", () => {
  it("the retention alarm collects the expired responses of a conversation's object, never the conversation", async () => {
    const c = await newConversation({ items: [user("kept")] });
    const res = (await ok(await call("POST", "/v1/responses", { model: "scripted-text", input: "turn", conversation: c.id }))) as unknown as ResponseResource;
    const object = await objectOf(c.id);
    await runInDurableObject(object, async (_o, state) => {
      state.storage.sql.exec("UPDATE turns SET expires_at = 0");
    });
    await runDurableObjectAlarm(object);
    expect(await error(await call("GET", `/v1/responses/${res.id}`), 404)).toMatchObject({ code: null });
    expect(textsOf(await allItems(c.id))).toEqual(["kept", "turn", ANSWER]);
    expect(await object.stats()).toMatchObject({ turns: 0, items: 3, conversations: 1 });
  });

  it("an item_reference resolves to a conversation's item", async () => {
    const c = await newConversation({ items: [user("referenced text")] });
    const [item] = await allItems(c.id);
    await ok(await call("POST", "/v1/responses", { model: "scripted-text", input: [{ type: "item_reference", id: item!.id }] }));
    expect(await messagesSeen(0)).toEqual([["user", "referenced text"]]);
  });

  it("a deployment keeping no conversations: conversation on create is OpenAI's 404 (after its 400s), POST /v1/conversations a 400, the rest 404s", async () => {
    const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, UPSTREAM_API_KEY: "sk-upstream" });
    const send = (method: string, path: string, body?: unknown) =>
      handle(new Request(`${BRIDGE}${path}`, { method, headers: { authorization: `Bearer ${KEY_A}` }, ...(body ? { body: JSON.stringify(body) } : {}) }), config, (input, init) => fetch(input, init), {
        storeFor: (k) => durableStore(env.RESPONSES_STORE, k, config.retentionMs),
      });
    const id = `conv_${"1".repeat(40)}`;
    const gone = { message: `Conversation with id '${id}' not found.`, type: "invalid_request_error", param: null, code: null };
    expect(await error(await send("POST", "/v1/responses", { model: "scripted-text", input: "hi", conversation: id }), 404)).toEqual(gone);
    expect(await error(await send("POST", "/v1/responses", { model: "scripted-text", input: "hi", conversation: { id }, stream: true }), 404)).toEqual(gone);
    expect(await error(await send("POST", "/v1/responses", { model: "scripted-text", input: "hi", conversation: id, previous_response_id: "resp_1" }), 400)).toMatchObject({ code: "mutually_exclusive_parameters" });
    expect(await error(await send("POST", "/v1/conversations", {}), 400)).toMatchObject({ message: expect.stringMatching(/keeps no conversations/) });
    expect(await error(await send("GET", `/v1/conversations/${id}`), 404)).toEqual(gone);
    expect((await seen()).requests).toHaveLength(0);
  });

  it("an append that landed but answered with an error is not retried into a duplicate", async () => {
    const c = await newConversation();
    const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, UPSTREAM_API_KEY: "sk-upstream" });
    let attempts = 0;
    const lost = (store: ConversationStore): ConversationStore => ({
      ...store,
      append: async (id, items) => {
        attempts++;
        await store.append(id, items);
        throw new Error("the answer was lost on the way back");
      },
    });
    const res = await handle(
      new Request(`${BRIDGE}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify({ model: "scripted-text", input: "once", conversation: c.id }) }),
      config,
      (input, init) => fetch(input, init),
      { storeFor: (k) => durableStore(env.RESPONSES_STORE, k, config.retentionMs), conversationsFor: (k) => lost(durableConversations(env.RESPONSES_STORE, k)) },
    );
    expect(await ok(res)).toMatchObject({ status: "completed", conversation: { id: c.id } });
    expect(attempts).toBe(1);
    expect(textsOf(await allItems(c.id))).toEqual(["once", ANSWER]);
  });

  it("an append that fails twice is logged, and the terminal event says conversation: null; the answer is delivered", async () => {
    const c = await newConversation();
    const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, UPSTREAM_API_KEY: "sk-upstream" });
    let attempts = 0;
    const failing = (store: ConversationStore): ConversationStore => ({
      ...store,
      append: async () => {
        attempts++;
        throw new Error("object reset");
      },
    });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await handle(
        new Request(`${BRIDGE}/v1/responses`, { method: "POST", headers: { authorization: `Bearer ${KEY_A}` }, body: JSON.stringify({ model: "scripted-text", input: "hi", conversation: c.id, stream: true }) }),
        config,
        (input, init) => fetch(input, init),
        { storeFor: (k) => durableStore(env.RESPONSES_STORE, k, config.retentionMs), conversationsFor: (k) => failing(durableConversations(env.RESPONSES_STORE, k)) },
      );
      const all = events(await res.text());
      expect(all.filter((e) => e.type === "response.output_text.delta")).toHaveLength(4);
      expect(all.at(-1)).toMatchObject({ type: "response.completed", response: { conversation: null, status: "completed" } });
      // The stored response says what the terminal event said, not the conversation it never joined.
      const id = (all.at(-1) as unknown as { response: ResponseResource }).response.id;
      expect(await ok(await call("GET", `/v1/responses/${id}`))).toMatchObject({ id, conversation: null });
      expect(attempts).toBe(2);
      expect(logged.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(/adding resp_\w+ to conv_\w+ failed \(object reset; then object reset\); the client was told conversation: null/);
    } finally {
      logged.mockRestore();
    }
    expect(await allItems(c.id)).toEqual([]);
  });
});

describe("long and large conversations", () => {
  it("a conversation of 10,000 items continues through the Worker, and keeps growing linearly", async () => {
    const c = await newConversation({ items: [user("item 0")] });
    const store = durableConversations(env.RESPONSES_STORE, KEY_A);
    // Built through the store directly, 500 items an append (the API's 20-a-call limit is the route's).
    for (let base = 1; base < 10_000; base += 500) {
      // Alternating roles, so the upstream sees one message per item (adjacent user messages are joined).
      const item = (n: number) => {
        const role = n % 2 ? "assistant" : "user";
        const content = [{ type: n % 2 ? "output_text" : "input_text", text: `item ${n}`, ...(n % 2 ? { annotations: [] } : {}) }];
        return { type: "message", role, content, id: `msg_${shardOf(c.id)}${String(n).padStart(8, "0")}`, status: "completed" } as ConversationItem;
      };
      const batch = Array.from({ length: Math.min(500, 10_000 - base) }, (_, i) => item(base + i));
      expect(await store.append(c.id, batch)).toBe(true);
    }
    const before = await (await objectOf(c.id)).stats();
    expect(before.items).toBe(10_000);

    const res = (await ok(await call("POST", "/v1/responses", { model: "scripted-measure", input: "and one more", conversation: c.id }))) as unknown as ResponseResource;
    expect(res.status).toBe("completed");
    const measured = (await seen()).requests[0]!.body as unknown as { messages: Array<{ role: string; tail: string }> };
    expect(measured.messages).toHaveLength(10_001);
    expect(measured.messages[0]!.tail).toBe("item 0");
    expect(measured.messages[9_999]!.tail).toBe("item 9999");
    expect(measured.messages[10_000]!.tail).toBe("and one more");

    const after = await (await objectOf(c.id)).stats();
    // The turn's input and output in the conversation (2 rows), and the stored response (its input, output and envelope: 3).
    expect(after.items - before.items).toBe(5);
    const newest = (await ok(await call("GET", `/v1/conversations/${c.id}/items?limit=3`))) as { data: ConversationItem[]; has_more: boolean };
    expect(textsOf(newest.data)).toEqual([ANSWER, "and one more", "item 9999"]);
    expect(newest.has_more).toBe(true);
    // Storage grew by the turn, not by the conversation: far less than the 10,000 items' bytes.
    expect(after.databaseSize - before.databaseSize).toBeLessThan(64 * 1024);
  });

  it("a conversation past one RPC page (8 M characters) leaves its object in pages, and continues whole", async () => {
    const c = await newConversation();
    const store = durableConversations(env.RESPONSES_STORE, KEY_A);
    const piece = (n: number) => ({ type: "message", role: n % 2 ? "assistant" : "user", content: [{ type: n % 2 ? "output_text" : "input_text", text: String(n % 10).repeat(400_000) }], id: `msg_${shardOf(c.id)}${String(n).padStart(8, "0")}`, status: "completed" }) as ConversationItem;
    for (let n = 0; n < 25; n += 5) expect(await store.append(c.id, Array.from({ length: 5 }, (_, i) => piece(n + i)))).toBe(true);
    expect(await store.append(c.id, [piece(25)])).toBe(true);
    const object = await objectOf(c.id);
    const first = (await object.conversationPage(c.id, 0))!;
    expect(first.next).toBeGreaterThan(0);
    expect(Array.isArray(first.items) && first.items.length).toBeLessThan(26);
    // A list page stops at one RPC page of characters too (never 100 items of megabytes in the isolate); `has_more` and `after` go on.
    const listed = (await ok(await call("GET", `/v1/conversations/${c.id}/items?order=asc&limit=100`))) as { data: ConversationItem[]; has_more: boolean; last_id: string };
    // 8 M characters hold 19 items of 400 000 characters and their JSON.
    expect([listed.data.length, listed.has_more]).toEqual([19, true]);
    const rest = (await ok(await call("GET", `/v1/conversations/${c.id}/items?order=asc&limit=100&after=${listed.last_id}`))) as { data: ConversationItem[]; has_more: boolean };
    expect([rest.data.length, rest.has_more]).toEqual([7, false]);
    expect([...listed.data, ...rest.data].map((i) => i.id)).toEqual(Array.from({ length: 26 }, (_, n) => piece(n).id));
    await ok(await call("POST", "/v1/responses", { model: "scripted-measure", input: "end", conversation: c.id }));
    const measured = (await seen()).requests[0]!.body as unknown as { messages: Array<{ length: number }> };
    expect(measured.messages.map((m) => m.length)).toEqual([...Array.from({ length: 26 }, () => 400_000), 3]);
    expect((await allItems(c.id)).length).toBe(28);
  });

  it("a streamed append (a large turn) joins the conversation whole: no reader sees half of it, and one the conversation's deletion overtook writes nothing", async () => {
    const c = await newConversation({ items: [user("before")] });
    const [before] = await allItems(c.id);
    const line = (text: string, n: number) => `${JSON.stringify({ type: "message", role: "user", content: [{ type: "input_text", text }], id: `msg_${shardOf(c.id)}${String(n).padStart(8, "0")}`, status: "completed" })}\n`;
    const controlled = () => {
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
      return { stream, send: (text: string) => controller.enqueue(new TextEncoder().encode(text)), close: () => controller.close() };
    };
    const texts = (answer: unknown) => (answer as string[]).map((json) => textsOf([JSON.parse(json) as ConversationItem])[0]);
    await runInDurableObject(await objectOf(c.id), async (object: ResponseStoreObject) => {
      const body = controlled();
      const appending = object.appendToConversation(c.id, ["msg_a", "msg_b"], body.stream);
      body.send(line("first half", 1));
      await new Promise((r) => setTimeout(r, 50));
      // Half arrived: a turn reading the conversation, a list and an item lookup see only what was there.
      expect(texts((await object.conversationPage(c.id, 0))!.items)).toEqual(["before"]);
      const listed = await object.listConversation(c.id, { limit: 20, order: "desc" });
      expect(listed && "ids" in listed && listed.ids).toEqual([before!.id]);
      body.send(line("second half", 2));
      body.close();
      expect(await appending).toBe(true);
      expect(texts((await object.conversationPage(c.id, 0))!.items)).toEqual(["before", "first half", "second half"]);

      const late = controlled();
      const overtaken = object.appendToConversation(c.id, ["msg_c"], late.stream);
      late.send(line("too late", 3).slice(0, 10));
      await new Promise((r) => setTimeout(r, 20));
      expect(await object.deleteConversation(c.id)).toBe(true);
      late.send(line("too late", 3).slice(10));
      late.close();
      expect(await overtaken).toBe(false);
      expect(await object.stats()).toMatchObject({ items: 0, conversations: 0 });
    });
  });

  it("what an interrupted streamed append left is collected by the alarm, even in an object that holds only conversations", async () => {
    const c = await newConversation();
    const big = (n: number) => ({ ...user("x".repeat(CHUNK_CHARS + 10)), id: `msg_${shardOf(c.id)}${String(n).padStart(8, "0")}` }) as ConversationItem;
    // Large enough to be streamed to the object (past one inline RPC page).
    const store = durableConversations(env.RESPONSES_STORE, KEY_A);
    expect(await store.append(c.id, Array.from({ length: 17 }, (_, n) => big(n)))).toBe(true);
    const object = await objectOf(c.id);
    const rowsBefore = (await object.stats()).items;
    expect(rowsBefore).toBe(17);
    await runInDurableObject(object, async (_o, state) => {
      expect(await state.storage.getAlarm()).not.toBeNull();
      // As a reset mid-stream would leave them: staged rows of an append that never joined.
      state.storage.sql.exec("INSERT INTO turn_items (turn, pos, item_id, parts, size, data) VALUES (?, 17, 'msg_orphan', 0, 2, '{}')", `${c.id}~17`);
    });
    expect(await runDurableObjectAlarm(object)).toBe(true);
    expect(await object.stats()).toMatchObject({ items: 17, conversations: 1 });
    expect((await allItems(c.id)).length).toBe(17);
  });

  it("an item past SQLite's 2 MB value limit is chunked, listed whole and sent upstream whole", async () => {
    const big = "x".repeat(CHUNK_CHARS * 3 + 17);
    const c = await newConversation();
    await ok(await call("POST", `/v1/conversations/${c.id}/items`, { items: [user(big), assistant("ok")] }));
    const stats = await (await objectOf(c.id)).stats();
    expect(stats.chunks).toBeGreaterThanOrEqual(4);
    const listed = await allItems(c.id);
    expect(textsOf(listed)[0]).toHaveLength(big.length);
    await ok(await call("POST", "/v1/responses", { model: "scripted-measure", input: "short", conversation: c.id }));
    const measured = (await seen()).requests[0]!.body as unknown as { messages: Array<{ length: number }> };
    expect(measured.messages.map((m) => m.length)).toEqual([big.length, 2, 5]);
    // No stored value is over the limit.
    await runInDurableObject(await objectOf(c.id), async (_o, state) => {
      const longest = state.storage.sql.exec<{ n: number | null }>("SELECT MAX(LENGTH(data)) AS n FROM turn_items").one().n ?? 0;
      expect(longest).toBeLessThanOrEqual(CHUNK_CHARS);
    });
    // Deleting the conversation removes its chunks.
    await ok(await call("DELETE", `/v1/conversations/${c.id}`));
    expect((await (await objectOf(c.id)).stats()).chunks).toBe(0);
  });
});

describe("UPSTREAM_API=responses", () => {
  it("the conversation paths are the upstream's, passed through as they are", async () => {
    const reverse = withEnv({ UPSTREAM_API: "responses", UPSTREAM_API_KEY: "sk-upstream" });
    const body = JSON.stringify({ items: [user("hi")], metadata: { a: "b" } });
    await reverse("/v1/conversations", { method: "POST", headers: { "content-type": "application/json" }, body });
    await reverse("/v1/conversations/conv_up/items?limit=2&order=asc", { method: "GET" });
    await reverse("/v1/conversations/conv_up/items/msg_1", { method: "DELETE" });
    expect((await seen()).requests.map((r) => [r.method, r.url])).toEqual([
      ["POST", "/v1/conversations"],
      ["GET", "/v1/conversations/conv_up/items?limit=2&order=asc"],
      ["DELETE", "/v1/conversations/conv_up/items/msg_1"],
    ]);
    expect((await seen()).requests[0]!.body).toEqual(JSON.parse(body));
  });
});
