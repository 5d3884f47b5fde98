import { describe, expect, it } from "vitest";
import { ResponsesError, toChatRequest } from "../../../src/index.ts";
import { checkItems, checkMetadata, type ConversationItem, conversationItems, conversationOf, expandInput, includeOf, MemoryConversationStore, withInclude } from "../../../src/server.ts";
import { counterIds } from "../../support/helpers.ts";

/** The library's side of the Conversations API: the memory store, OpenAI's checks, and `conversation` in `expandInput`. */

function thrown(run: () => unknown): ResponsesError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ResponsesError);
    return e as ResponsesError;
  }
  throw new Error("nothing thrown");
}

const user = (text: string, id?: string): ConversationItem => ({ type: "message", role: "user", content: [{ type: "input_text", text }], ...(id ? { id } : {}) }) as ConversationItem;
const conv = { id: "conv_1", object: "conversation" as const, created_at: 1, metadata: {} };

describe("MemoryConversationStore", () => {
  it("creates, appends, pages, gets and deletes items; unknown conversations are undefined", async () => {
    const store = new MemoryConversationStore();
    await store.create(conv, [user("a", "msg_a")]);
    expect(await store.append("conv_1", [user("b", "msg_b"), user("c", "msg_c")])).toBe(true);
    expect(await store.append("conv_unknown", [user("x", "msg_x")])).toBe(false);
    expect((await store.items("conv_1"))!.map((i) => i.id)).toEqual(["msg_a", "msg_b", "msg_c"]);
    const page = await store.list("conv_1", { limit: 2, order: "desc" });
    expect([page!.data.map((i) => i.id), page!.has_more]).toEqual([["msg_c", "msg_b"], true]);
    expect((await store.list("conv_1", { limit: 2, order: "asc", after: "msg_a" }))!.data.map((i) => i.id)).toEqual(["msg_b", "msg_c"]);
    await expect(store.list("conv_1", { limit: 2, order: "asc", after: "msg_zz" })).rejects.toThrow(RangeError);
    expect(await store.getItem("conv_1", "msg_b")).toEqual(user("b", "msg_b"));
    expect(await store.getItem("conv_1", "msg_zz")).toBeNull();
    expect(await store.getItem("conv_unknown", "msg_b")).toBeUndefined();
    expect(await store.deleteItem("conv_1", "msg_b")).toBe(true);
    expect(await store.deleteItem("conv_1", "msg_b")).toBe(false);
    expect(await store.deleteItem("conv_unknown", "msg_b")).toBeUndefined();
    expect(await store.update("conv_1", { k: "v" })).toEqual({ ...conv, metadata: { k: "v" } });
    expect(await store.delete("conv_1")).toBe(true);
    expect(await store.get("conv_1")).toBeUndefined();
    expect(await store.delete("conv_1")).toBe(false);
  });
});

describe("OpenAI's checks", () => {
  it("conversation: an id or { id }; with previous_response_id the mutual-exclusion 400; the wrong type or prefix a 400", () => {
    expect(conversationOf({})).toBeNull();
    expect(conversationOf({ conversation: "conv_a" })).toBe("conv_a");
    expect(conversationOf({ conversation: { id: "conv_b" } })).toBe("conv_b");
    expect(thrown(() => conversationOf({ conversation: "conv_a", previous_response_id: "resp_1" })).payload).toEqual({
      message: "Mutually exclusive parameters. Ensure you are only providing one of: 'previous_response_id' or 'conversation'.",
      type: "invalid_request_error",
      param: null,
      code: "mutually_exclusive_parameters",
    });
    expect(thrown(() => conversationOf({ conversation: 3 })).payload).toMatchObject({ param: "conversation", code: "invalid_type", message: "Invalid type for 'conversation': expected one of a string or an object, but got an integer instead." });
    expect(thrown(() => conversationOf({ conversation: {} })).payload).toMatchObject({ param: "conversation.id", code: "missing_required_parameter" });
    // An id of the wrong type is not a missing one.
    expect(thrown(() => conversationOf({ conversation: { id: 7 } })).payload).toEqual({
      message: "Invalid type for 'conversation.id': expected a string, but got an integer instead.",
      type: "invalid_request_error",
      param: "conversation.id",
      code: "invalid_type",
    });
    expect(thrown(() => conversationOf({ conversation: "thread_1" })).payload).toMatchObject({ param: "conversation", code: "invalid_value" });
  });

  it("metadata: 16 pairs, keys of 64, values of 512 strings; items: at most 20 objects", () => {
    const sixteen = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, "v".repeat(512)]));
    expect(checkMetadata(sixteen)).toEqual(sixteen);
    expect(checkMetadata(null)).toEqual({});
    expect(thrown(() => checkMetadata({ ...sixteen, one: "more" })).payload.code).toBe("object_above_max_properties");
    expect(thrown(() => checkMetadata({ ["k".repeat(65)]: "v" })).payload.code).toBe("string_above_max_length");
    expect(thrown(() => checkMetadata({ k: "v".repeat(513) })).payload).toMatchObject({ param: "metadata.k", code: "string_above_max_length" });
    expect(thrown(() => checkMetadata({ k: true })).payload).toMatchObject({ param: "metadata.k", code: "invalid_type", message: "Invalid type for 'metadata.k': expected a string, but got a boolean instead." });
    expect(checkItems(undefined, false)).toEqual([]);
    expect(thrown(() => checkItems(undefined, true)).payload.code).toBe("missing_required_parameter");
    expect(thrown(() => checkItems(Array.from({ length: 21 }, () => user("x")), false)).payload.code).toBe("array_above_max_length");
    expect(thrown(() => checkItems(["text"], false)).payload).toMatchObject({ param: "items[0]", code: "invalid_type" });
  });

  it("include: OpenAI's values only; reasoning's encrypted_content only when asked for", () => {
    expect([...includeOf(new URLSearchParams("include[]=reasoning.encrypted_content&include=message.output_text.logprobs"))]).toEqual(["message.output_text.logprobs", "reasoning.encrypted_content"]);
    expect(thrown(() => includeOf(new URLSearchParams("include=x"))).payload).toMatchObject({ param: "include[0]", code: "invalid_value" });
    const reasoning = { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "sealed" } as unknown as ConversationItem;
    expect(withInclude(reasoning, new Set())).toEqual({ type: "reasoning", id: "rs_1", summary: [] });
    expect(withInclude(reasoning, new Set(["reasoning.encrypted_content"]))).toBe(reasoning);
  });

  it("items are listed as the API lists them: parts, an id, and a message's status", () => {
    const [item] = conversationItems([{ role: "user", content: "hi" } as ConversationItem], counterIds());
    expect(item).toEqual({ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }], id: expect.stringMatching(/^msg_/), status: "completed" });
  });
});

describe("expandInput with a conversation", () => {
  it("prepends the conversation's items and drops `conversation` for the translation; an unknown one is OpenAI's 404", async () => {
    const conversations = new MemoryConversationStore();
    await conversations.create(conv, [user("earlier", "msg_e")]);
    const expanded = await expandInput({ model: "m", input: "now", conversation: { id: "conv_1" } }, { conversations });
    expect(expanded.conversation).toBe("conv_1");
    expect(expanded.previous).toBeNull();
    expect(expanded.fresh).toEqual([{ type: "message", role: "user", content: "now" }]);
    expect(expanded.request).not.toHaveProperty("conversation");
    expect(toChatRequest(expanded.request).request.messages.map((m) => m.content)).toEqual(["earlier\n\nnow"]);
    const missing = await expandInput({ model: "m", input: "x", conversation: "conv_none" }, { conversations }).catch((e: unknown) => e);
    expect((missing as ResponsesError).status).toBe(404);
    expect((missing as ResponsesError).message).toBe("Conversation with id 'conv_none' not found.");
  });

  it("without a conversation store, `conversation` is left for toChatRequest to refuse", async () => {
    const expanded = await expandInput({ model: "m", input: "x", conversation: "conv_1" });
    expect(expanded.conversation).toBeNull();
    expect(thrown(() => toChatRequest(expanded.request)).payload).toMatchObject({ param: "conversation", code: "unsupported_parameter" });
  });
});
