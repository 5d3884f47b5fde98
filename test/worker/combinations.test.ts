import { env, exports } from "cloudflare:workers";
import OpenAI from "openai";
import { beforeEach, describe, expect, it } from "vitest";
import { MemoryConversationStore, MemoryResponseStore } from "../../src/server.ts";
import { platformFor } from "../../worker/cloudflare/platform.ts";
import { scriptedGemini } from "../support/scripted-gemini.ts";
import { scriptedOpenRouter } from "../support/scripted-openrouter.ts";
import { SCRIPTED_KEY } from "../support/scripted-upstream.ts";
import { BRIDGE, events, resetSeen, seen, withEnv } from "./bridge.ts";
import { connectWs } from "./ws-client.ts";

// This round's features together, as one user meets them through the Worker as deployed: background runs in a
// conversation and on a chain, token counts of a conversation, server-side compaction in a conversation, the
// WebSocket in a conversation. Each piece has its own tests; these are the combinations.
// `scripted-count` bills one prompt token per word of every message's text, plus one per message.

type Json = Record<string, unknown>;
type Item = { type: string; id?: string; role?: string; content?: Array<{ text?: string }> | string; encrypted_content?: string };
type Resp = { id: string; status: string; background?: boolean; conversation?: { id: string } | null; output: Item[]; error: { code: string; message: string } | null };
type Chat = { model?: string; max_tokens?: number; stream?: boolean; messages: Array<{ role: string; content: unknown }> };

const KEY = "sk-combinations";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function call(method: string, path: string, body?: unknown, key: string = KEY): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", authorization: `Bearer ${key}` };
  return exports.default.fetch(`${BRIDGE}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}
async function ok<T = Json>(res: Response): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return JSON.parse(text) as T;
}
const newConversation = async (items: Json[] = [], key = KEY) => (await ok<{ id: string }>(await call("POST", "/v1/conversations", { items }, key))).id;
const create = async (body: Json, key = KEY) => ok<Resp>(await call("POST", "/v1/responses", body, key));
/** Polls until the response leaves queued/in_progress (bounded). */
async function settled(id: string, key = KEY): Promise<Resp> {
  for (let i = 0; i < 400; i++) {
    const r = await ok<Resp>(await call("GET", `/v1/responses/${id}`, undefined, key));
    if (r.status !== "queued" && r.status !== "in_progress") return r;
    await sleep(50);
  }
  throw new Error(`${id} never finished`);
}
async function itemsOf(conversation: string, key = KEY): Promise<Item[]> {
  const page = await ok<{ data: Item[]; has_more: boolean }>(await call("GET", `/v1/conversations/${conversation}/items?order=asc&limit=100`, undefined, key));
  expect(page.has_more).toBe(false);
  return page.data;
}
const textOf = (i: Item) => (typeof i.content === "string" ? i.content : (i.content ?? []).map((c) => c.text ?? "").join(""));
const chats = async () => (await seen()).requests.filter((r) => r.url.endsWith("/chat/completions")).map((r) => r.body as unknown as Chat);
const turnsOf = (chat: Chat) => chat.messages.map((m) => [m.role, typeof m.content === "string" ? m.content : JSON.stringify(m.content)]);
const ANSWER = "Hello from the scripted upstream.";
const user = (text: string) => ({ type: "message", role: "user", content: text });
const assistant = (text: string) => ({ type: "message", role: "assistant", content: text });

beforeEach(resetSeen);

describe("background runs in a conversation and on a chain", () => {
  it("background + conversation: the run appends its turn when it completes, and the next turn (foreground) sees it", async () => {
    const conv = await newConversation([user("I am Ada."), assistant("Hi Ada.")]);
    const queued = await create({ model: "scripted-paced-5-20", input: "Count for me.", background: true, conversation: conv });
    expect(queued).toMatchObject({ status: "queued", background: true, conversation: { id: conv } });
    const done = await settled(queued.id);
    expect(done).toMatchObject({ status: "completed", background: true, conversation: { id: conv } });
    expect((await itemsOf(conv)).map(textOf)).toEqual(["I am Ada.", "Hi Ada.", "Count for me.", "w0 w1 w2 w3 w4 "]);
    const next = await create({ model: "scripted-text", input: "Who am I?", conversation: conv });
    expect(next.status).toBe("completed");
    expect(turnsOf((await chats()).at(-1)!)).toEqual([
      ["user", "I am Ada."],
      ["assistant", "Hi Ada."],
      ["user", "Count for me."],
      ["assistant", "w0 w1 w2 w3 w4 "],
      ["user", "Who am I?"],
    ]);
  });

  it("two background turns in a row in one conversation: the second's upstream request holds the first", async () => {
    const conv = await newConversation();
    const first = await create({ model: "scripted-text", input: "One.", background: true, conversation: conv });
    await settled(first.id);
    const second = await create({ model: "scripted-text", input: "Two.", background: true, conversation: conv });
    expect((await settled(second.id)).status).toBe("completed");
    expect(turnsOf((await chats()).at(-1)!)).toEqual([
      ["user", "One."],
      ["assistant", ANSWER],
      ["user", "Two."],
    ]);
    expect((await itemsOf(conv)).map(textOf)).toEqual(["One.", ANSWER, "Two.", ANSWER]);
  });

  it("background + stream in a conversation: the stream's terminal event says the conversation, and the append is done by then", async () => {
    const conv = await newConversation();
    const res = await call("POST", "/v1/responses", { model: "scripted-paced-3-10", input: "Stream it.", background: true, stream: true, conversation: conv });
    const evs = events(await res.text()) as Array<{ type: string; response?: Resp }>;
    expect(evs.at(-1)).toMatchObject({ type: "response.completed", response: { conversation: { id: conv } } });
    // No poll: the terminal event waits for the append.
    expect((await itemsOf(conv)).map(textOf)).toEqual(["Stream it.", "w0 w1 w2 "]);
  });

  it("cancel of a background run in a conversation appends nothing, and the next turn does not see it", async () => {
    const conv = await newConversation([user("Before.")]);
    const { id } = await create({ model: "scripted-paced-80-30", input: "A long one.", background: true, conversation: conv });
    for (let i = 0; i < 200 && (await statusOf(id)) !== "in_progress"; i++) await sleep(10);
    await sleep(100);
    const cancelled = await ok<Resp>(await call("POST", `/v1/responses/${id}/cancel`, {}));
    expect(cancelled.status).toBe("cancelled");
    expect((await settled(id)).status).toBe("cancelled");
    expect((await itemsOf(conv)).map(textOf)).toEqual(["Before."]);
    await create({ model: "scripted-text", input: "After.", conversation: conv });
    expect(turnsOf((await chats()).at(-1)!)).toEqual([["user", "Before.\n\nAfter."]]);
  });

  it("background + previous_response_id: a background turn continues a foreground one, and a foreground turn continues the background one", async () => {
    const first = await create({ model: "scripted-text", input: "Remember periwinkle." });
    const bg = await create({ model: "scripted-text", input: "What word?", background: true, previous_response_id: first.id });
    expect((await settled(bg.id)).status).toBe("completed");
    expect(turnsOf((await chats()).at(-1)!)).toEqual([
      ["user", "Remember periwinkle."],
      ["assistant", ANSWER],
      ["user", "What word?"],
    ]);
    const third = await create({ model: "scripted-text", input: "Again?", previous_response_id: bg.id });
    expect(third.status).toBe("completed");
    expect(turnsOf((await chats()).at(-1)!).map(([r]) => r)).toEqual(["user", "assistant", "user", "assistant", "user"]);
  });

  it("another key cannot see, cancel or continue a background run in a conversation, nor the conversation", async () => {
    const conv = await newConversation([user("Secret.")]);
    const { id } = await create({ model: "scripted-paced-10-20", input: "Mine.", background: true, conversation: conv });
    const other = "sk-combinations-other";
    for (const r of [await call("GET", `/v1/responses/${id}`, undefined, other), await call("POST", `/v1/responses/${id}/cancel`, {}, other), await call("GET", `/v1/conversations/${conv}/items`, undefined, other)]) {
      expect(r.status).toBe(404);
    }
    // Refused at create, as a foreground create is (another key's ids are unknown, not "still running").
    const theirs = await call("POST", "/v1/responses", { model: "scripted-text", input: "Continue theirs.", background: true, previous_response_id: id }, other);
    expect(theirs.status).toBe(400);
    expect(((await theirs.json()) as { error: Json }).error).toMatchObject({ code: "previous_response_not_found" });
    const intoConv = await call("POST", "/v1/responses", { model: "scripted-text", input: "Into theirs.", background: true, conversation: conv }, other);
    expect(intoConv.status).toBe(404);
    expect(((await intoConv.json()) as { error: Json }).error).toMatchObject({ message: `Conversation with id '${conv}' not found.` });
    expect((await settled(id)).status).toBe("completed");
    expect((await itemsOf(conv)).map(textOf)).toEqual(["Secret.", "Mine.", "w0 w1 w2 w3 w4 w5 w6 w7 w8 w9 "]);
  });
});

async function statusOf(id: string): Promise<string> {
  return (await ok<Resp>(await call("GET", `/v1/responses/${id}`))).status;
}

describe("input_tokens with a conversation and a chain", () => {
  it("counts the conversation's items, as create would send them", async () => {
    const conv = await newConversation([user("one two three"), assistant("four five")]);
    const alone = await ok<{ input_tokens: number }>(await call("POST", "/v1/responses/input_tokens", { model: "scripted-count", input: "six" }));
    const inConv = await ok<{ object: string; input_tokens: number }>(await call("POST", "/v1/responses/input_tokens", { model: "scripted-count", input: "six", conversation: conv }));
    expect(alone.input_tokens).toBe(2);
    // + user (1 + 3 words), assistant (1 + 2)
    expect(inConv).toEqual({ object: "response.input_tokens", input_tokens: 2 + 4 + 3 });
    // Counting appends nothing.
    expect((await itemsOf(conv)).map(textOf)).toEqual(["one two three", "four five"]);
  });

  it("counts a background turn's chain with previous_response_id", async () => {
    const bg = await create({ model: "scripted-count", input: "one two", background: true });
    await settled(bg.id);
    const count = await ok<{ input_tokens: number }>(await call("POST", "/v1/responses/input_tokens", { model: "scripted-count", input: "three", previous_response_id: bg.id }));
    const last = (await chats()).at(-1)!;
    expect(last.max_tokens).toBe(1);
    expect(last.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(count.input_tokens).toBeGreaterThan(2 + 3);
  });

  it("a conversation of another key is its 404 on input_tokens too", async () => {
    const conv = await newConversation([user("x")]);
    const r = await call("POST", "/v1/responses/input_tokens", { model: "scripted-count", input: "y", conversation: conv }, "sk-combinations-other");
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { message: string } }).error.message).toBe(`Conversation with id '${conv}' not found.`);
  });
});

const words = (n: number, w: string) => Array.from({ length: n }, () => w).join(" ");
const HISTORY = [user(`First question: ${words(40, "alpha")}`), assistant(`First answer: ${words(40, "beta")}`), user(`Second question: ${words(40, "gamma")}`), assistant(`Second answer: ${words(40, "delta")}`)];
const CM = (n: number) => [{ type: "compaction", compact_threshold: n }];

describe("context_management in a conversation and in the background", () => {
  it("a compacting turn in a conversation appends its input and the compaction item with the answer; the next turn carries the summary, not the old history", async () => {
    const conv = await newConversation(HISTORY);
    const r = await create({ model: "scripted-count", input: "What is the code word?", conversation: conv, context_management: CM(100) });
    expect(r.output.map((i) => i.type)).toEqual(["compaction", "message"]);
    const items = await itemsOf(conv);
    expect(items.slice(0, 5).map(textOf)).toEqual([...HISTORY.map((h) => h.content), "What is the code word?"]);
    expect(items.slice(5).map((i) => i.type)).toEqual(["compaction", "message"]);
    expect(items[5]!.encrypted_content).toMatch(/^rb1\./);
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
    // The stored response lists the client's own input, as sent; the item is its output.
    const input = await ok<{ data: Item[] }>(await call("GET", `/v1/responses/${r.id}/input_items?order=asc`));
    expect(input.data.map(textOf)).toEqual(["What is the code word?"]);
    // Counting the next turn counts what it will send: the summary, not the items before the compaction item.
    const count = await ok<{ input_tokens: number }>(await call("POST", "/v1/responses/input_tokens", { model: "scripted-count", input: "And now?", conversation: conv, context_management: CM(100) }));
    expect(count.input_tokens).toBeLessThan(100);
    expect(JSON.stringify((await chats()).at(-1)!.messages)).not.toMatch(/alpha|gamma/);
    await create({ model: "scripted-count", input: "And now?", conversation: conv });
    const next = (await chats()).at(-1)!;
    expect(JSON.stringify(next.messages)).not.toMatch(/alpha|gamma/);
    expect(JSON.stringify(next.messages)).toMatch(/Summary of this conversation/);
    expect(turnsOf(next).at(-1)![1]).toMatch(/And now\?$/);
  });

  it("background + context_management: the run compacts, its output starts with the compaction item, and it streams from the object", async () => {
    const bg = await create({ model: "scripted-count", input: [...HISTORY, user("What is the code word?")], background: true, context_management: CM(100) });
    const done = await settled(bg.id);
    expect(done.status).toBe("completed");
    expect(done.output.map((i) => i.type)).toEqual(["compaction", "message"]);
    const evs = events(await (await call("GET", `/v1/responses/${bg.id}?stream=true`)).text());
    expect(evs[0]).toMatchObject({ type: "response.created", response: { status: "queued" } });
    expect(evs.filter((e) => e.type === "response.output_item.done").map((e) => (e.item as Item).type)).toEqual(["compaction", "message"]);
    const next = await create({ model: "scripted-count", input: "And now?", previous_response_id: bg.id });
    expect(next.status).toBe("completed");
    expect(JSON.stringify((await chats()).at(-1)!.messages)).not.toMatch(/alpha|gamma/);
  });
});

describe("background + conversation + context_management together", () => {
  it("the run compacts inside its object, appends the client's message, the item and the answer; the next background turn sends the summary", async () => {
    const conv = await newConversation(HISTORY);
    const bg = await create({ model: "scripted-count", input: "What is the code word?", background: true, conversation: conv, context_management: CM(100) });
    const done = await settled(bg.id);
    expect(done.output.map((i) => i.type)).toEqual(["compaction", "message"]);
    const items = await itemsOf(conv);
    expect(items.map((i) => i.type)).toEqual(["message", "message", "message", "message", "message", "compaction", "message"]);
    expect(textOf(items[4]!)).toBe("What is the code word?");
    const next = await create({ model: "scripted-count", input: "And now?", background: true, conversation: conv });
    expect((await settled(next.id)).status).toBe("completed");
    const turn = (await chats()).at(-1)!;
    expect(JSON.stringify(turn.messages)).not.toMatch(/alpha|gamma/);
    expect(JSON.stringify(turn.messages)).toMatch(/Summary of this conversation up to the current turn/);
  });
});

describe("the WebSocket with a conversation", () => {
  it("response.create in a conversation over the socket, then HTTP continues the conversation, then the socket again", async () => {
    const conv = await newConversation([user("I am Ada.")]);
    const ws = await connectWs((init) => exports.default.fetch(`${BRIDGE}/v1/responses`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${KEY}` } }));
    ws.create({ model: "scripted-text", input: "Hi.", conversation: conv });
    const first = await ws.turn();
    expect(first.at(-1)).toMatchObject({ type: "response.completed", response: { conversation: { id: conv } } });
    await create({ model: "scripted-text", input: "Over HTTP.", conversation: conv });
    ws.create({ model: "scripted-text", input: "Back on the socket.", conversation: conv });
    expect((await ws.turn()).at(-1)!.type).toBe("response.completed");
    expect((await itemsOf(conv)).map(textOf)).toEqual(["I am Ada.", "Hi.", ANSWER, "Over HTTP.", ANSWER, "Back on the socket.", ANSWER]);
    // background stays refused on the socket, even in a conversation, and appends nothing.
    ws.create({ model: "scripted-text", input: "bg?", conversation: conv, background: true });
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "error", error: { param: "background" } });
    expect(await itemsOf(conv)).toHaveLength(7);
    ws.ws.close();
  });
});

/** The Worker with `vars`, over the real Durable Objects (conversations, stored responses, key counters). */
function deployed(vars: Record<string, string>) {
  const later: Array<Promise<unknown>> = [];
  const call = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY, ...vars }, undefined, platformFor(env, 86_400_000, (p) => void later.push(p)));
  const as = (key: string) => ({
    send: (method: string, path: string, body?: unknown) => call(path, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
    socket: () => connectWs((init) => call("/v1/responses", { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` } })),
  });
  return { as, settle: async () => void (await Promise.all(later.splice(0))) };
}

describe("refused fields and the size limit, with conversations and background runs", () => {
  it("a field refused on a background run is learned there: the run completes after one retry, and the socket's turn in a conversation never sends it", async () => {
    const model = "scripted-refuse-openai-combo@prompt_cache_key";
    const conv = await newConversation();
    const bg = await create({ model, input: "First.", prompt_cache_key: "thread-1", background: true, conversation: conv });
    expect((await settled(bg.id)).status).toBe("completed");
    const ws = await connectWs((init) => exports.default.fetch(`${BRIDGE}/v1/responses`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${KEY}` } }));
    ws.create({ model, input: "Second.", prompt_cache_key: "thread-1", conversation: conv });
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "response.completed", response: { conversation: { id: conv } } });
    ws.ws.close();
    const sent = (await chats()).filter((c) => c.model === model) as unknown as Array<Record<string, unknown>>;
    expect(sent.map((b) => "prompt_cache_key" in b)).toEqual([true, false, false]);
    expect((await itemsOf(conv)).map(textOf)).toEqual(["First.", ANSWER, "Second.", ANSWER]);
  });

  it("an over-limit frame in a conversation is a 413 error frame, appends nothing, and the socket continues the conversation", async () => {
    const bridge = deployed({ WS_MAX_MESSAGE_BYTES: "4000" });
    const me = bridge.as(KEY);
    const conv = ((await (await me.send("POST", "/v1/conversations", { items: [user("Kept.")] })).json()) as { id: string }).id;
    const ws = await me.socket();
    ws.create({ model: "scripted-text", input: "x".repeat(5000), conversation: conv });
    expect(await ws.turn()).toEqual([expect.objectContaining({ type: "error", status: 413, error: expect.objectContaining({ code: "websocket_message_too_large" }) })]);
    ws.create({ model: "scripted-text", input: "Short.", conversation: conv });
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "response.completed", response: { conversation: { id: conv } } });
    ws.ws.close();
    await bridge.settle();
    const page = (await (await me.send("GET", `/v1/conversations/${conv}/items?order=asc`)).json()) as { data: Item[] };
    expect(page.data.map(textOf)).toEqual(["Kept.", "Short.", ANSWER]);
  });
});

describe("two proxy keys (PROXY_API_KEYS) on the Worker's own store", () => {
  const ALICE = "sk-alice-combo-0123";
  const BOB = "sk-bob-combo-0123";
  const bridge = () => deployed({ PROXY_API_KEYS: `${ALICE},${BOB}` });

  it("conversations, stored responses, input_tokens and the socket: each key sees only its own; an unknown key is refused", async () => {
    const b = bridge();
    const alice = b.as(ALICE);
    const bob = b.as(BOB);
    const conv = ((await (await alice.send("POST", "/v1/conversations", { items: [user("Alice's secret.")] })).json()) as { id: string }).id;
    const r = (await (await alice.send("POST", "/v1/responses", { model: "scripted-text", input: "Hi.", conversation: conv })).json()) as Resp;
    expect(r.conversation).toEqual({ id: conv });
    await b.settle();
    const notFound = (res: Response, status = 404) => expect(res.status).toBe(status);
    notFound(await bob.send("GET", `/v1/conversations/${conv}`));
    notFound(await bob.send("GET", `/v1/conversations/${conv}/items`));
    notFound(await bob.send("POST", `/v1/conversations/${conv}/items`, { items: [user("Bob was here.")] }));
    notFound(await bob.send("DELETE", `/v1/conversations/${conv}`));
    notFound(await bob.send("POST", "/v1/responses", { model: "scripted-text", input: "Read it.", conversation: conv }));
    notFound(await bob.send("POST", "/v1/responses/input_tokens", { model: "scripted-count", input: "Count it.", conversation: conv }));
    notFound(await bob.send("GET", `/v1/responses/${r.id}`));
    notFound(await bob.send("GET", `/v1/responses/${r.id}/input_items`));
    notFound(await bob.send("DELETE", `/v1/responses/${r.id}`));
    notFound(await bob.send("POST", "/v1/responses", { model: "scripted-text", input: "Continue.", previous_response_id: r.id }), 400);
    const ws = await bob.socket();
    ws.create({ model: "scripted-text", input: "Over the socket.", conversation: conv });
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "error", status: 404 });
    ws.ws.close();
    const stranger = b.as("sk-stranger");
    notFound(await stranger.send("GET", `/v1/conversations/${conv}`), 401);
    // Alice's conversation is whole, and nobody else's turn reached the upstream with it.
    const page = (await (await alice.send("GET", `/v1/conversations/${conv}/items?order=asc`)).json()) as { data: Item[] };
    expect(page.data.map(textOf)).toEqual(["Alice's secret.", "Hi.", ANSWER]);
    expect(JSON.stringify((await chats()).slice(1))).not.toContain("Alice's secret.");
  });
});

describe("a Gemini 3 tool loop through a conversation", () => {
  const weather = { type: "function", name: "get_weather", strict: false, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

  for (const stream of [false, true]) {
    it(`the signature comes back from the conversation's items on the next step (${stream ? "SSE" : "JSON"}), and the answer joins the conversation`, async () => {
      const gemini = scriptedGemini({ refuseFields: true });
      const conversations = new MemoryConversationStore();
      const store = new MemoryResponseStore();
      const call = withEnv({}, (input, init) => gemini.handler(new Request(input, init)), { storeFor: () => store, conversationsFor: () => conversations });
      const sdk = new OpenAI({ apiKey: "sk-client", baseURL: "http://bridge.test/v1", maxRetries: 0, fetch: (input, init) => call(new URL(String(input)).pathname + new URL(String(input)).search, init) });
      const conv = await sdk.conversations.create({});
      const run = (input: OpenAI.Responses.ResponseInput) => {
        const body = { model: "gemini-3-pro-preview", tools: [weather] as OpenAI.Responses.Tool[], input, conversation: conv.id };
        return (stream ? sdk.responses.stream(body).finalResponse() : sdk.responses.create(body)) as Promise<OpenAI.Responses.Response>;
      };
      const first = await run([{ role: "user", content: "Weather in Paris?" }]);
      const calls = first.output.filter((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call");
      expect(calls).toHaveLength(1);
      const second = await run([{ type: "function_call_output", call_id: calls[0]!.call_id, output: "18C in Paris" }]);
      expect(gemini.refusals).toEqual([]);
      expect(second.output_text).toBe("The tool said: 18C in Paris");
      const back = gemini.requests.at(-1)!.messages!.filter((m) => m.role === "assistant")[0]!.tool_calls![0]!;
      expect(back.extra_content?.google?.thought_signature).toMatch(/^gemini-sig-1-/);
      const items = [];
      for await (const item of sdk.conversations.items.list(conv.id, { order: "asc" })) items.push(item.type);
      // The user's message, the first step's output, the tool's output, the answer's output (its signature in a reasoning item beside it).
      expect(items).toEqual(["message", ...first.output.map((o) => o.type), "function_call_output", ...second.output.map((o) => o.type)]);
      expect(first.output.map((o) => o.type)).toEqual(["reasoning", "function_call"]);
    });
  }
});

describe("background runs meeting other paths", () => {
  it("the WebSocket continues a background response by previous_response_id, and a background run continues a socket's stored turn", async () => {
    const bg = await create({ model: "scripted-text", input: "Remember periwinkle.", background: true });
    await settled(bg.id);
    const ws = await connectWs((init) => exports.default.fetch(`${BRIDGE}/v1/responses`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${KEY}` } }));
    ws.create({ model: "scripted-text", input: "Which word?", previous_response_id: bg.id });
    const done = (await ws.turn()).at(-1)!;
    expect(done.type).toBe("response.completed");
    ws.ws.close();
    expect(turnsOf((await chats()).at(-1)!)).toEqual([
      ["user", "Remember periwinkle."],
      ["assistant", ANSWER],
      ["user", "Which word?"],
    ]);
    const next = await create({ model: "scripted-text", input: "Again?", background: true, previous_response_id: done.response!.id });
    expect((await settled(next.id)).status).toBe("completed");
    expect(turnsOf((await chats()).at(-1)!).map(([r]) => r)).toEqual(["user", "assistant", "user", "assistant", "user"]);
  });

  it("a conversation deleted while a background run in it goes: the run completes, says conversation: null, and nothing is recreated", async () => {
    const conv = await newConversation([user("Short-lived.")]);
    const { id } = await create({ model: "scripted-paced-10-30", input: "Go on.", background: true, conversation: conv });
    for (let i = 0; i < 200 && (await statusOf(id)) !== "in_progress"; i++) await sleep(10);
    expect((await call("DELETE", `/v1/conversations/${conv}`)).status).toBe(200);
    const done = await settled(id);
    expect(done.status).toBe("completed");
    expect(done.conversation).toBeNull();
    expect((await call("GET", `/v1/conversations/${conv}`)).status).toBe(404);
    const evs = events(await (await call("GET", `/v1/responses/${id}?stream=true`)).text()) as Array<{ type: string; response?: Resp }>;
    expect(evs.at(-1)).toMatchObject({ type: "response.completed", response: { conversation: null } });
  });

  it("a background create in an unknown conversation is OpenAI's 404 at once, and creates nothing", async () => {
    const missing = "conv_0123456789abcdef0123456789abcdef";
    const r = await call("POST", "/v1/responses", { model: "scripted-text", input: "x", background: true, conversation: missing });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: Json }).error).toMatchObject({ message: `Conversation with id '${missing}' not found.` });
    expect((await call("GET", `/v1/conversations/${missing}`)).status).toBe(404);
    expect(await chats()).toHaveLength(0);
  });
});

describe("an OpenRouter Anthropic tool loop through a conversation", () => {
  it("the signed reasoning_details come back whole from the conversation's items on the tool call's message", async () => {
    const openrouter = scriptedOpenRouter();
    const conversations = new MemoryConversationStore();
    const call = withEnv({}, (input, init) => openrouter.handler(new Request(input, init)), { storeFor: () => new MemoryResponseStore(), conversationsFor: () => conversations });
    const sdk = new OpenAI({ apiKey: "sk-client", baseURL: "http://bridge.test/v1", maxRetries: 0, fetch: (input, init) => call(new URL(String(input)).pathname + new URL(String(input)).search, init) });
    const conv = await sdk.conversations.create({});
    const tools: OpenAI.Responses.Tool[] = [{ type: "function", name: "get_weather", strict: false, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
    const first = (await sdk.responses.stream({ model: "anthropic/claude-sonnet-4.5", tools, input: "Weather in Paris?", conversation: conv.id }).finalResponse()) as OpenAI.Responses.Response;
    const fc = first.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call")!;
    const second = await sdk.responses.create({ model: "anthropic/claude-sonnet-4.5", tools, input: [{ type: "function_call_output", call_id: fc.call_id, output: "18C in Paris" }], conversation: conv.id });
    expect(openrouter.refusals).toEqual([]);
    expect(second.output_text).toBe("The tool said: 18C in Paris");
    const back = openrouter.requests.at(-1)!.messages!.filter((m) => m.role === "assistant")[0]!;
    expect(back.reasoning_details).toEqual([
      expect.objectContaining({ type: "reasoning.text", signature: expect.stringMatching(/^or-sig-1-/) }),
      expect.objectContaining({ type: "reasoning.encrypted", data: expect.stringMatching(/^redacted-1-/) }),
    ]);
  });
});

describe("context_management on a socket with store: false", () => {
  it("the connection remembers the compacted turn: the next frame continues on it by previous_response_id, without the old history", async () => {
    const ws = await connectWs();
    ws.create({ model: "scripted-count", input: [...HISTORY, user("What is the code word?")], context_management: CM(100), store: false });
    const done = (await ws.turn()).at(-1)!;
    expect(done.response!.output.map((i) => i.type)).toEqual(["compaction", "message"]);
    ws.create({ model: "scripted-count", input: "And now?", previous_response_id: done.response!.id, store: false });
    expect((await ws.turn()).at(-1)!.type).toBe("response.completed");
    const turn = (await chats()).at(-1)!;
    expect(JSON.stringify(turn.messages)).not.toMatch(/alpha|gamma/);
    expect(JSON.stringify(turn.messages)).toMatch(/What is the code word\?/);
    expect(turnsOf(turn).at(-1)![1]).toMatch(/And now\?$/);
    ws.ws.close();
  });
});

describe("a background run with a body past one RPC message", () => {
  it("a 34 MB body is a typed 413 before any run starts (not the platform's RPC exception as a 500); 30 MB runs", async () => {
    const over = await call("POST", "/v1/responses", { model: "scripted-measure", input: "x".repeat(34 * 1024 * 1024), background: true });
    expect(over.status).toBe(413);
    const { error } = (await over.json()) as { error: { message: string; type: string; param: string; code: string } };
    expect(error).toMatchObject({ type: "invalid_request_error", param: "background", code: "request_too_large" });
    expect(error.message).toMatch(/at most 32 MiB; this body needs 34\.0 MiB/);
    // Two bytes a character once any is past Latin-1: 17 M such characters are over too.
    const wide = await call("POST", "/v1/responses", { model: "scripted-measure", input: "é€".repeat(8.5 * 1024 * 1024), background: true });
    expect(wide.status).toBe(413);
    expect(await chats()).toHaveLength(0);
    const under = await create({ model: "scripted-measure", input: "x".repeat(30 * 1024 * 1024), background: true });
    expect((await settled(under.id)).status).toBe("completed");
    const sent = (await seen()).requests.at(-1)!.body as unknown as { bytes: number };
    expect(sent.bytes).toBeGreaterThan(30 * 1024 * 1024);
  });
});

describe("DeepSeek's reasoning round trip through a conversation", () => {
  const weather = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

  it("a thinking tool loop continued by conversation: reasoning_content comes back on the tool call's message, no 400; with store: false the conversation still gets the turn", async () => {
    const conv = await newConversation();
    const first = await create({ model: "scripted-deepseek-tools", input: "Weather in Paris?", tools: [weather], conversation: conv, store: false });
    const fc = first.output.find((i) => i.type === "function_call") as unknown as { call_id: string };
    expect(fc).toBeDefined();
    const second = await create({ model: "scripted-deepseek-tools", input: [{ type: "function_call_output", call_id: fc.call_id, output: "18C in Paris" }], tools: [weather], conversation: conv, store: false });
    expect(second.status).toBe("completed");
    expect(second.output.filter((i) => i.type === "message").map(textOf).join("")).toBe("The tool said: 18C in Paris");
    const last = (await chats()).at(-1)! as unknown as { messages: Array<{ role: string; reasoning_content?: string; tool_calls?: unknown[] }> };
    const toolCall = last.messages.find((m) => m.tool_calls?.length)!;
    expect(toolCall.reasoning_content).toMatch(/^Thinking it over/);
    expect((await itemsOf(conv)).map((i) => i.type)).toEqual(["message", "reasoning", "function_call", "function_call_output", "reasoning", "message"]);
    // Neither response was stored: their ids are unknown, the conversation is their storage.
    expect((await call("GET", `/v1/responses/${first.id}`)).status).toBe(404);
  });
});

describe("continuing a background run before it has ended", () => {
  it("previous_response_id of a running background response is a 400 saying it is still in progress (create and input_tokens), not 'not found'; once completed it continues", async () => {
    const { id } = await create({ model: "scripted-paced-40-30", input: "Long.", background: true });
    for (let i = 0; i < 200 && (await statusOf(id)) !== "in_progress"; i++) await sleep(10);
    for (const path of ["/v1/responses", "/v1/responses/input_tokens"]) {
      const r = await call("POST", path, { model: "scripted-text", input: "next", previous_response_id: id });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { error: Json }).error).toMatchObject({ message: `Previous response with id '${id}' is still in progress; continue from it once it has completed.`, type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_completed" });
    }
    const ws = await connectWs((init) => exports.default.fetch(`${BRIDGE}/v1/responses`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${KEY}` } }));
    ws.create({ model: "scripted-text", input: "next", previous_response_id: id });
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "error", status: 400, error: { code: "previous_response_not_completed" } });
    ws.ws.close();
    expect((await settled(id)).status).toBe("completed");
    expect((await create({ model: "scripted-text", input: "next", previous_response_id: id })).status).toBe("completed");
    // An id that never was stays OpenAI's not-found.
    const unknown = await call("POST", "/v1/responses", { model: "scripted-text", input: "x", previous_response_id: "resp_00000000000000000000000000000002" });
    expect(((await unknown.json()) as { error: Json }).error).toMatchObject({ code: "previous_response_not_found" });
  });
});
