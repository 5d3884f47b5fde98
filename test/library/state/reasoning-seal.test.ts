import { describe, expect, it } from "vitest";
import { chatToResponsesSse, type ReasoningItem, type ResponseResource, toChatRequest } from "../../../src/index.ts";
import { createSealer, reasoningExpander, sealReasoningEvents, sealReasoningItems } from "../../../src/server.ts";
import { markReasoningId, upstreamTag } from "../../../src/convert/reasoning-origin.ts";
import type { ConversationItem } from "../../../src/server.ts";
import * as up from "../../fixtures/upstreams.ts";
import { assertProtocol, bytesOf, convert, parseResponsesSse, streamOf, testOptions } from "../../support/helpers.ts";

const sealer = createSealer("test secret");
const ds = { request: { model: "deepseek-chat" } } as const;

async function expand(item: unknown, by = sealer): Promise<ConversationItem[] | undefined> {
  return reasoningExpander(by)(item as ConversationItem, "input[0]");
}

describe("reasoning sealed into encrypted_content", () => {
  it("the stream shell with beforeFlush: the done event and the final response carry the same token, which opens to text and origin", async () => {
    const raw = await new Response(chatToResponsesSse(streamOf([bytesOf(up.deepseekReasoning)]), { ...testOptions(ds), beforeFlush: sealReasoningEvents(sealer) })).text();
    const events = parseResponsesSse(raw);
    assertProtocol(raw, events);
    const r = { events, final: (events.at(-1) as { response: ResponseResource }).response };
    const done = r.events.find((e) => e.type === "response.output_item.done" && e.item.type === "reasoning") as { item: ReasoningItem };
    const final = r.final.output[0] as ReasoningItem;
    expect(done.item.encrypted_content).toMatch(/^rb1\./);
    expect(final.encrypted_content).toBe(done.item.encrypted_content);
    expect(await sealer.open("reasoning", final.encrypted_content)).toEqual({ text: "The user greets me; answer briefly.", field: "reasoning_content", upstream: upstreamTag("deepseek-chat") });
    // `added` announced the item before it had any.
    const added = r.events.find((e) => e.type === "response.output_item.added" && e.item.type === "reasoning") as { item: ReasoningItem };
    expect(added.item).not.toHaveProperty("encrypted_content");
  });

  it("without the hook no token is made", async () => {
    const r = await convert(up.deepseekReasoning, testOptions(ds));
    expect(r.final.output[0]).not.toHaveProperty("encrypted_content");
  });

  it("a token alone (no summary, no id) comes back as the reasoning it holds, in its own field", async () => {
    const r = await convert(up.deepseekReasoning, testOptions(ds));
    await sealReasoningItems(r.final.output, sealer);
    const token = (r.final.output[0] as ReasoningItem).encrypted_content!;
    const [restored] = (await expand({ type: "reasoning", summary: [], encrypted_content: token }))!;
    expect(restored).toMatchObject({ type: "reasoning", content: [{ type: "reasoning_text", text: "The user greets me; answer briefly." }] });
    expect(restored).not.toHaveProperty("encrypted_content");
    // Idempotent: what it produced passes unchanged.
    expect(await expand(restored)).toBeUndefined();
    const messages = toChatRequest({ model: "deepseek-chat", input: [restored!, { role: "assistant", content: "Hi there." }] as never }).request.messages;
    expect(messages).toEqual([{ role: "assistant", content: "Hi there.", reasoning_content: "The user greets me; answer briefly." }]);
  });

  it("sealing and sending back read an item's text by one rule: raw content when it has text, else the summary", async () => {
    const r = await convert(up.deepseekReasoning, testOptions(ds));
    const item = r.final.output[0] as ReasoningItem;
    // Content parts without text (a client that kept the shape, not the words): the summary is the text, for both.
    item.content = [{ type: "reasoning_text", text: "" }];
    await sealReasoningItems([item], sealer);
    const [restored] = (await expand({ type: "reasoning", summary: [], encrypted_content: item.encrypted_content }))!;
    expect(restored).toMatchObject({ content: [{ type: "reasoning_text", text: "The user greets me; answer briefly." }] });
    const sent = toChatRequest({ model: "deepseek-chat", input: [{ ...item, encrypted_content: undefined }, { role: "assistant", content: "Hi there." }] as never }).request.messages;
    expect(sent[0]).toMatchObject({ reasoning_content: "The user greets me; answer briefly." });
  });

  it("tokens this sealer did not make are dropped quietly: OpenAI's, another secret's, tampered, forged, another purpose", async () => {
    const item = { type: "reasoning", id: "rs_x", summary: [{ type: "summary_text", text: "visible" }] };
    const mine = await sealer.seal("reasoning", { text: "t", field: "reasoning_content", upstream: upstreamTag("m") });
    const tokens = [
      "gAAAAABo_openai_encrypted_reasoning",
      await createSealer("other secret").seal("reasoning", { text: "t", field: "reasoning_content", upstream: upstreamTag("m") }),
      mine.slice(0, -4) + (mine.endsWith("AAAA") ? "BBBB" : "AAAA"),
      "rb1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      await sealer.seal("compaction", { text: "t", field: "reasoning_content", upstream: upstreamTag("m") }),
      await sealer.seal("reasoning", { something: "else" }),
    ];
    for (const encrypted_content of tokens) expect(await expand({ ...item, encrypted_content })).toEqual([item]);
    // A Worker with no sealer (anonymous client, no secret) drops even its own kind of token.
    expect(await expand({ ...item, encrypted_content: mine }, null as never)).toEqual([item]);
  });

  it("an item this bridge did not mark is not sealed (nothing to say where it came from)", async () => {
    const foreign: ReasoningItem = { type: "reasoning", id: "rs_68af", summary: [{ type: "summary_text", text: "x" }], status: "completed" };
    const ours: ReasoningItem = { type: "reasoning", id: markReasoningId("rs_1", { field: "reasoning", upstream: upstreamTag("q") }), summary: [{ type: "summary_text", text: "y" }], status: "completed" };
    await sealReasoningItems([foreign, ours], sealer);
    expect(foreign).not.toHaveProperty("encrypted_content");
    expect(await sealer.open("reasoning", ours.encrypted_content)).toEqual({ text: "y", field: "reasoning", upstream: upstreamTag("q") });
  });
});
