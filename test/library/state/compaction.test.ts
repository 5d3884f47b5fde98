import { describe, expect, it } from "vitest";
import { createIdGenerator, ResponsesError, type ResponseResource } from "../../../src/index.ts";
import { compactionExpander, compactionItem, compactionResponse, compactionTriggered, createSealer, keptUserMessages } from "../../../src/server.ts";

const summary = (text: string, extra: Partial<ResponseResource> = {}) =>
  ({ id: "resp_1", object: "response", created_at: 1, completed_at: null, status: "completed", output: [{ type: "message", id: "msg_1", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [], logprobs: [] }] }], usage: { input_tokens: 40, output_tokens: 9, total_tokens: 49, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } }, error: null, ...extra }) as unknown as ResponseResource;

describe("compactionTriggered", () => {
  it("an input ending with the trigger: the items before it", () => {
    const user = { role: "user" as const, content: "hi" };
    expect(compactionTriggered([user, { type: "compaction_trigger" }])).toEqual([user]);
    expect(compactionTriggered([{ type: "compaction_trigger" }])).toEqual([]);
  });

  it("an ordinary request: null", () => {
    expect(compactionTriggered("hi")).toBeNull();
    expect(compactionTriggered(undefined)).toBeNull();
    expect(compactionTriggered([{ role: "user", content: "hi" }])).toBeNull();
  });

  it("a trigger anywhere but last: a 400 naming it", () => {
    let error: unknown;
    try {
      compactionTriggered([{ role: "user", content: "a" }, { type: "compaction_trigger" }, { role: "user", content: "b" }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ResponsesError);
    expect((error as ResponsesError).toJSON().error).toMatchObject({ param: "input[1]", code: "invalid_value" });
  });
});

describe("the compaction response", () => {
  const sealer = createSealer("test-secret");

  it("one sealed item that the expander opens into the summary; the envelope completed, with the summary call's usage", async () => {
    const item = await compactionItem(summary("The user is planning a trip."), sealer, createIdGenerator());
    expect(item.id).toMatch(/^cmp_/);
    expect(item.encrypted_content).not.toContain("trip");
    const response = compactionResponse(summary("The user is planning a trip.", { status: "incomplete" }), item, 7);
    expect(response).toMatchObject({ status: "completed", completed_at: 7, output: [item], usage: { input_tokens: 40, output_tokens: 9 }, error: null, incomplete_details: null });
    const opened = await compactionExpander(sealer)(item, "input[0]");
    expect(JSON.stringify(opened)).toContain("The user is planning a trip.");
  });

  it("no text to seal: a 502 compaction_failed", async () => {
    await expect(compactionItem(summary(""), sealer, createIdGenerator())).rejects.toMatchObject({ status: 502, code: "compaction_failed" });
  });

  it("what is kept of the conversation: the user's messages, as parts, without earlier summaries", async () => {
    const item = await compactionItem(summary("Earlier."), sealer, createIdGenerator());
    const [opened] = (await compactionExpander(sealer)(item, null))!;
    const kept = keptUserMessages([{ role: "user", content: "one" }, { role: "assistant", content: "reply" }, opened!, { type: "function_call", call_id: "c", name: "f", arguments: "{}" }, { type: "message", role: "user", content: [{ type: "input_text", text: "two" }] }], createIdGenerator());
    expect(kept.map((m) => [m.role, m.content])).toEqual([
      ["user", [{ type: "input_text", text: "one" }]],
      ["user", [{ type: "input_text", text: "two" }]],
    ]);
    expect(kept.every((m) => /^msg_/.test(m.id))).toBe(true);
  });
});
