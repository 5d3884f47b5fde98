import { describe, expect, it } from "vitest";
import { type ChatCompletion, ChatToResponsesStream, fromChatCompletion, type ResponseResource, ResponsesError, type ResponsesRequest, toChatRequest } from "../../../src/index.ts";
import { type ConversationItem, expandInput, type HistoryResolver, layerResolvers, MemoryResponseStore, pageItems, storedTurn, storeResolver } from "../../../src/server.ts";
import { bytesOf, counterIds, sse, streamOf, testOptions } from "../../support/helpers.ts";

function completion(message: Record<string, unknown>, finish = "stop"): ChatCompletion {
  return { id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: null, ...message }, finish_reason: finish }] } as ChatCompletion;
}

/** One turn as a host runs it: expand, translate, answer, store. Returns the response and the messages the upstream saw. */
async function turn(store: MemoryResponseStore, request: ResponsesRequest, answer: Record<string, unknown>, finish = "stop") {
  const expanded = await expandInput(request, { resolver: storeResolver(store) });
  const { request: chat } = toChatRequest(expanded.request);
  const ids = counterIds();
  const prefix = `t${Math.random().toString(16).slice(2, 8)}`;
  const scoped = (p: Parameters<typeof ids>[0]) => ids(p).replace("_", `_${prefix}`);
  const response = fromChatCompletion(completion(answer, finish), { request, ids: scoped });
  await store.put(storedTurn(expanded.fresh, response, scoped, expanded.previous));
  return { response, messages: chat.messages };
}

async function rejection(p: Promise<unknown>): Promise<ResponsesError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ResponsesError);
  return e as ResponsesError;
}

describe("input expansion: previous_response_id", () => {
  it("a three-turn chain: each turn's upstream sees every earlier input and output, in order", async () => {
    const store = new MemoryResponseStore();
    const one = await turn(store, { model: "m", instructions: "Be brief.", input: "My name is Ada." }, { content: "Hello Ada." });
    const two = await turn(store, { model: "m", previous_response_id: one.response.id, input: "What is my name?" }, { content: "Ada." });
    const three = await turn(store, { model: "m", previous_response_id: two.response.id, input: [{ role: "user", content: "Spell it." }] }, { content: "A-D-A." });
    expect(two.messages).toEqual([
      { role: "user", content: "My name is Ada." },
      { role: "assistant", content: "Hello Ada." },
      { role: "user", content: "What is my name?" },
    ]);
    expect(three.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", "My name is Ada."],
      ["assistant", "Hello Ada."],
      ["user", "What is my name?"],
      ["assistant", "Ada."],
      ["user", "Spell it."],
    ]);
    // Instructions are not carried over, as OpenAI documents; the envelope still names the previous response.
    expect(three.response.previous_response_id).toBe(two.response.id);
    const stored = (await store.list(three.response.id, { limit: 100, order: "asc" }))!.data;
    expect(stored).toHaveLength(5);
    expect(stored.every((i) => typeof i.id === "string")).toBe(true);
    expect(stored[0]).toMatchObject({ type: "message", role: "user", content: [{ type: "input_text", text: "My name is Ada." }] });
  });

  it("a tool loop continues with only the new function_call_output", async () => {
    const store = new MemoryResponseStore();
    const tools = [{ type: "function", name: "weather", parameters: { type: "object", properties: {} } }];
    const call = await turn(store, { model: "m", tools, input: "Weather in Paris?" }, { tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }] }, "tool_calls");
    expect(call.response.output[0]).toMatchObject({ type: "function_call", call_id: "call_1" });
    const next = await turn(store, { model: "m", tools, previous_response_id: call.response.id, input: [{ type: "function_call_output", call_id: "call_1", output: "sunny" }] }, { content: "Sunny." });
    expect(next.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
    ]);
  });

  it("an unknown id is OpenAI's 400 previous_response_not_found", async () => {
    const e = await rejection(expandInput({ model: "m", previous_response_id: "resp_nope", input: "x" }, { resolver: storeResolver(new MemoryResponseStore()) }));
    expect(e.status).toBe(400);
    expect(e.toJSON()).toEqual({ error: { message: "Previous response with id 'resp_nope' not found.", type: "invalid_request_error", param: "previous_response_id", code: "previous_response_not_found" } });
  });

  it("a previous_response_id that is neither a string nor null is a 400 invalid_type naming it, not silently dropped", async () => {
    for (const resolver of [storeResolver(new MemoryResponseStore()), undefined]) {
      for (const id of [42, { id: "resp_1" }, ["resp_1"]]) {
        const e = await rejection(expandInput({ model: "m", previous_response_id: id as never, input: "x" }, { resolver }));
        expect(e.toJSON().error).toMatchObject({ type: "invalid_request_error", param: "previous_response_id", code: "invalid_type" });
      }
    }
    expect((await expandInput({ model: "m", previous_response_id: null, input: "x" }, { resolver: storeResolver(new MemoryResponseStore()) })).input).toHaveLength(1);
  });

  it("without a resolver the request is left for toChatRequest, which rejects the stateless continuation", async () => {
    const { request } = await expandInput({ model: "m", previous_response_id: "resp_1", input: "x" });
    expect(request.previous_response_id).toBe("resp_1");
    expect(() => toChatRequest(request)).toThrow(/expandInput/);
  });
});

describe("input expansion: item_reference", () => {
  it("resolves to the stored item (messages, calls, reasoning), wherever it is in the input", async () => {
    const store = new MemoryResponseStore();
    const first = await turn(store, { model: "m", input: "Weather?" }, { reasoning_content: "Need the tool.", tool_calls: [{ id: "call_7", type: "function", function: { name: "weather", arguments: "{}" } }] }, "tool_calls");
    const [reasoning, call] = first.response.output;
    const userId = (await store.list(first.response.id, { limit: 1, order: "asc" }))!.data[0]!.id!;
    const { request } = await expandInput(
      {
        model: "m",
        input: [
          { type: "item_reference", id: userId },
          { type: "item_reference", id: reasoning!.id },
          { type: "item_reference", id: call!.id },
          { type: "function_call_output", call_id: "call_7", output: "rain" },
        ],
      },
      { resolver: storeResolver(store) },
    );
    expect(toChatRequest(request, { reasoningHistory: "reasoning_content" }).request.messages).toEqual([
      { role: "user", content: "Weather?" },
      { role: "assistant", content: null, reasoning_content: "Need the tool.", tool_calls: [{ id: "call_7", type: "function", function: { name: "weather", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_7", content: "rain" },
    ]);
  });

  it("an unknown reference is a 400 naming it", async () => {
    const e = await rejection(expandInput({ model: "m", input: [{ role: "user", content: "x" }, { type: "item_reference", id: "msg_gone" }] }, { resolver: storeResolver(new MemoryResponseStore()) }));
    expect(e.status).toBe(400);
    expect(e.param).toBe("input[1].id");
    expect(e.message).toBe("Item with id 'msg_gone' not found.");
  });
});

describe("the seam: layered resolvers and item expanders", () => {
  const local = (responses: Record<string, ConversationItem[]>): HistoryResolver => ({
    async history(id) {
      return responses[id];
    },
    async item() {
      return undefined;
    },
  });

  it("the first resolver that knows an id answers; the next is asked otherwise", async () => {
    const store = new MemoryResponseStore();
    const stored = await turn(store, { model: "m", input: "durable" }, { content: "from the store" });
    const resolver = layerResolvers(local({ resp_local: [{ type: "message", id: "msg_l", role: "assistant", status: "completed", content: [{ type: "output_text", text: "from memory", annotations: [], logprobs: [] }] }] }), null, storeResolver(store));
    const a = await expandInput({ model: "m", previous_response_id: "resp_local", input: "next" }, { resolver });
    const b = await expandInput({ model: "m", previous_response_id: stored.response.id, input: "next" }, { resolver });
    expect(toChatRequest(a.request).request.messages[0]).toEqual({ role: "assistant", content: "from memory" });
    expect(toChatRequest(b.request).request.messages.map((m) => m.content)).toEqual(["durable", "from the store", "next"]);
  });

  it("expanders replace the items they own, over the chain and the new input alike, in order, first claim wins", async () => {
    const seen: Array<string | null> = [];
    const expanded = await expandInput(
      { model: "m", previous_response_id: "resp_c", input: [{ type: "compaction", encrypted_content: "sealed" } as never, { role: "user", content: "go on" }] },
      {
        resolver: local({ resp_c: [{ type: "reasoning", id: "rs_1", summary: [], encrypted_content: "t" } as ConversationItem] }),
        expanders: [
          (item, param) => {
            if (item.type !== ("compaction" as string)) return undefined;
            seen.push(param);
            return [{ role: "user", content: "summary so far" }];
          },
          (item, param) => {
            if (item.type !== "reasoning") return undefined;
            seen.push(param);
            return [];
          },
          // Never asked about the compaction item: the first expander claimed it.
          (item) => {
            if (item.type === ("compaction" as string)) throw new Error("a later expander saw a claimed item");
            return undefined;
          },
        ],
      },
    );
    expect(seen).toEqual([null, "input[0]"]);
    expect(expanded.input).toEqual([{ role: "user", content: "summary so far" }, { role: "user", content: "go on" }]);
    // What a host stores: references resolved, but nothing expanded (tokens stay sealed).
    expect(expanded.resolved).toEqual([{ type: "reasoning", id: "rs_1", summary: [], encrypted_content: "t" }, { type: "compaction", encrypted_content: "sealed" }, { role: "user", content: "go on" }]);
  });
});

describe("stored responses", () => {
  const items = Array.from({ length: 5 }, (_, i): ConversationItem => ({ type: "message", id: `msg_${i}`, role: "user", content: `m${i}` }));

  it("pages like the API: desc by default, after, first/last ids, has_more", () => {
    expect(pageItems(items, { limit: 2, order: "desc" })).toEqual({ object: "list", data: [items[4], items[3]], first_id: "msg_4", last_id: "msg_3", has_more: true });
    expect(pageItems(items, { limit: 2, order: "desc", after: "msg_3" })).toMatchObject({ first_id: "msg_2", last_id: "msg_1", has_more: true });
    expect(pageItems(items, { limit: 2, order: "desc", after: "msg_1" })).toMatchObject({ data: [items[0]], has_more: false });
    expect(pageItems(items, { limit: 100, order: "asc" })).toMatchObject({ first_id: "msg_0", last_id: "msg_4", has_more: false });
    expect(pageItems([], { limit: 20, order: "asc" })).toEqual({ object: "list", data: [], first_id: null, last_id: null, has_more: false });
    expect(() => pageItems(items, { limit: 2, order: "asc", after: "msg_x" })).toThrow(RangeError);
  });

  it("the memory store deletes a response and its items, and keeps items another record still holds", async () => {
    const store = new MemoryResponseStore();
    const one = await turn(store, { model: "m", input: "a" }, { content: "b" });
    const two = await turn(store, { model: "m", previous_response_id: one.response.id, input: "c" }, { content: "d" });
    const answer = one.response.output[0]!.id;
    expect(await store.delete(one.response.id)).toBe(true);
    expect(await store.delete(one.response.id)).toBe(false);
    expect(await store.get(one.response.id)).toBeUndefined();
    // The second record repeats the first turn's answer as input: still referable.
    expect(await store.getItem(answer)).toMatchObject({ type: "message", content: [{ text: "b" }] });
    expect((await store.list(two.response.id, { limit: 20, order: "asc" }))!.data).toHaveLength(3);
    expect(await store.list(one.response.id, { limit: 20, order: "asc" })).toBeUndefined();
  });
});

describe("the memory store keeps each turn once, as the durable store does", () => {
  const history = async (store: MemoryResponseStore, id: string) => ((await store.history(id)) ?? []).map((i) => JSON.stringify((i as { content: unknown }).content));

  it("forks share their ancestors; deleting the middle of a chain hides it and keeps the later turns whole; the last one needing it takes it along", async () => {
    const store = new MemoryResponseStore();
    const one = await turn(store, { model: "m", input: "a" }, { content: "b" });
    const two = await turn(store, { model: "m", previous_response_id: one.response.id, input: "c" }, { content: "d" });
    const fork = await turn(store, { model: "m", previous_response_id: one.response.id, input: "e" }, { content: "f" });
    const three = await turn(store, { model: "m", previous_response_id: two.response.id, input: "g" }, { content: "h" });
    expect((await history(store, fork.response.id)).length).toBe(4);
    expect(await store.delete(two.response.id)).toBe(true);
    expect(await store.get(two.response.id)).toBeUndefined();
    expect(await store.history(two.response.id)).toBeUndefined();
    expect((await history(store, three.response.id)).join()).toMatch(/"a".*"b".*"c".*"d".*"g".*"h"/);
    expect(await store.getItem(two.response.output[0]!.id)).toMatchObject({ content: [{ text: "d" }] });
    expect(await store.delete(three.response.id)).toBe(true);
    // Nothing continues the deleted turn any more: its items are gone; the fork still has the root's.
    expect(await store.getItem(two.response.output[0]!.id)).toBeUndefined();
    expect((await history(store, fork.response.id)).length).toBe(4);
  });

  it("put answers false, storing nothing, for a turn continuing what it does not hold; a repeated put is a no-op", async () => {
    const store = new MemoryResponseStore();
    const response = { id: "resp_x", object: "response", status: "completed", output: [] } as unknown as ResponseResource;
    expect(await store.put({ response, previous: "resp_unknown", input: [] })).toBe(false);
    expect(await store.get("resp_x")).toBeUndefined();
    expect(await store.put({ response, previous: null, input: [] })).toBe(true);
    expect(await store.put({ response, previous: null, input: [] })).toBe(true);
    expect(await store.get("resp_x")).toMatchObject({ id: "resp_x" });
  });
});

describe("end of a response, however it ends", () => {
  it("onEnd gets the final Response object once, for a completed stream", async () => {
    const ended: ResponseResource[] = [];
    const body = sse([{ id: "c", created: 1, model: "m", choices: [{ index: 0, delta: { content: "hi" }, finish_reason: "stop" }] }]);
    await new Response(streamOf([bytesOf(body)]).pipeThrough(new ChatToResponsesStream(testOptions({ onEnd: (r) => ended.push(r) })))).text();
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ status: "completed", output: [{ type: "message", content: [{ text: "hi" }] }] });
  });

  it("a reader that cancels mid-stream ends it as cancelled, keeping what arrived", async () => {
    const ended: ResponseResource[] = [];
    const upstream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytesOf(sse([{ id: "c", created: 1, model: "m", choices: [{ index: 0, delta: { content: "partial" }, finish_reason: null }] }], { done: false })));
      },
    });
    const reader = upstream.pipeThrough(new ChatToResponsesStream(testOptions({ onEnd: (r) => ended.push(r) }))).getReader();
    await reader.read();
    await reader.cancel();
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ status: "cancelled", error: null, output: [{ type: "message", status: "incomplete", content: [{ text: "partial" }] }] });
  });
});
