import { describe, expect, it } from "vitest";
import { createChatToResponsesConverter, createIdGenerator, type ResponseResource } from "../../../src/index.ts";
import { compactionExpander, contextCompactionItem, createSealer, currentTurnStart, expandInput, fromLatestCompaction, keptUserMessages } from "../../../src/server.ts";

// Server-side compaction's pure parts: where the running turn starts, the item that seals a summary with that
// turn, its expansion, and the rule that the latest such item stands for everything before it.

const summary = (text: string) =>
  ({ id: "resp_s", object: "response", created_at: 1, status: "completed", output: [{ type: "message", id: "msg_s", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [], logprobs: [] }] }], error: null }) as unknown as ResponseResource;
const sealer = createSealer("secret-for-tests");
const user = (text: string) => ({ role: "user" as const, content: text });
const assistant = (text: string) => ({ type: "message" as const, role: "assistant" as const, content: [{ type: "output_text" as const, text }] });
const call = { type: "function_call" as const, call_id: "c1", name: "f", arguments: "{}" };
const output = { type: "function_call_output" as const, call_id: "c1", output: "42" };

describe("currentTurnStart", () => {
  it("is the last user message; the tool calls after it belong to the turn", () => {
    expect(currentTurnStart([user("a"), assistant("b"), user("c"), call, output])).toBe(2);
    expect(currentTurnStart([user("only")])).toBe(0);
    expect(currentTurnStart([assistant("no user")])).toBe(-1);
  });
});

describe("contextCompactionItem and its expansion", () => {
  it("seals the summary with the running turn; expanded, it is the summary then that turn, verbatim", async () => {
    const item = await contextCompactionItem(summary("They talked about X."), [user("c"), call, output], sealer, "cmp_1");
    expect(item).toMatchObject({ type: "compaction", id: "cmp_1" });
    expect(item.encrypted_content).not.toContain("X.");
    const expanded = await compactionExpander(sealer)(item, "input[0]");
    expect(expanded).toHaveLength(4);
    expect(expanded![0]).toEqual({ type: "message", role: "user", content: [{ type: "input_text", text: expect.stringMatching(/^Summary of this conversation up to the current turn.*\n\nThey talked about X\.$/s) }] });
    expect(expanded!.slice(1)).toEqual([user("c"), call, output]);
  });

  it("an empty summary is a 502, never an item standing for nothing", async () => {
    await expect(contextCompactionItem(summary("  "), [], sealer, "cmp_1")).rejects.toMatchObject({ status: 502, code: "compaction_failed" });
  });

  it("the latest item stands for everything before it; a conversation without one is unchanged", async () => {
    const first = await contextCompactionItem(summary("S1"), [user("q1")], sealer, "cmp_1");
    const second = await contextCompactionItem(summary("S2"), [user("q2")], sealer, "cmp_2");
    const input = [user("old"), assistant("old answer"), first, assistant("a1"), user("between"), second, assistant("a2"), user("now")];
    const { input: expanded } = await expandInput({ model: "m", input }, { expanders: [compactionExpander(sealer)] });
    const kept = fromLatestCompaction(expanded);
    expect(kept.map((i) => JSON.stringify(i))).toEqual([expect.stringContaining("S2"), JSON.stringify(user("q2")), JSON.stringify(assistant("a2")), JSON.stringify(user("now"))]);
    const plain = [user("a"), assistant("b")];
    expect(fromLatestCompaction(plain)).toBe(plain);
  });

  it("a later /responses/compact keeps neither summary as a user message", async () => {
    const item = await contextCompactionItem(summary("S"), [user("q")], sealer, "cmp_1");
    const expanded = (await compactionExpander(sealer)(item, null))!;
    expect(keptUserMessages(expanded, createIdGenerator()).map((m) => m.content)).toEqual([[{ type: "input_text", text: "q" }]]);
  });
});

describe("ConvertOptions.leadingOutput", () => {
  it("the given items are added and done right after in_progress, at the first output indexes; the upstream's follow", () => {
    const lead = { type: "compaction" as const, id: "cmp_9", encrypted_content: "rb1.x" };
    const c = createChatToResponsesConverter({ leadingOutput: [lead], obfuscation: false });
    const events = [...c.push({ id: "x", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "hi" }, finish_reason: "stop" }] }), ...c.done()];
    expect(events.slice(0, 5).map((e) => e.type)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.output_item.done", "response.output_item.added"]);
    expect(events[2]).toMatchObject({ output_index: 0, item: lead, sequence_number: 2 });
    expect(events[4]).toMatchObject({ output_index: 1, item: { type: "message" } });
    expect(c.response.output.map((i) => i.type)).toEqual(["compaction", "message"]);
  });
});
