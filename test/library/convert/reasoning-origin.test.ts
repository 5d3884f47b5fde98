import { describe, expect, it } from "vitest";
import { type ChatMessage, type ConvertOptions, type ResponsesRequest, toChatRequest, type ToChatOptions } from "../../../src/index.ts";
import { markReasoningId, reasoningOrigin, upstreamTag } from "../../../src/convert/reasoning-origin.ts";
import * as up from "../../fixtures/upstreams.ts";
import { convert, testOptions } from "../../support/helpers.ts";

type Input = Extract<NonNullable<ResponsesRequest["input"]>, unknown[]>;
type Assistant = Extract<ChatMessage, { role: "assistant" }>;

/** Appends a tool call to a fixture's content chunk, so the turn is a tool-loop turn (where DeepSeek needs its reasoning back). */
function withCall(fixture: string): string {
  return fixture.replace(/"content":" there\."/, '"content":" there.","tool_calls":[{"index":0,"id":"call_z","type":"function","function":{"name":"f","arguments":"{}"}}]');
}

/** One turn converted for `model`, then sent back as history with the tool's output, to the same or another model. */
async function roundTrip(fixture: string, from: ConvertOptions, to: { model: string } & Omit<ToChatOptions, "model">): Promise<ChatMessage[]> {
  const turn = await convert(fixture, testOptions(from));
  const input = [...turn.final.output, { type: "function_call_output", call_id: "call_z", output: "ok" }] as Input;
  const { model, ...options } = to;
  return toChatRequest({ model, input }, options).request.messages;
}

const ds = { request: { model: "deepseek-chat" } } as const;

describe("reasoning goes back where it came from, with no configuration", () => {
  it("DeepSeek's reasoning_content comes back as reasoning_content, to the model that produced it", async () => {
    const messages = await roundTrip(withCall(up.deepseekReasoning), ds, { model: "deepseek-chat" });
    expect(messages[0]).toEqual({
      role: "assistant",
      content: "Hi there.",
      reasoning_content: "The user greets me; answer briefly.",
      tool_calls: [{ id: "call_z", type: "function", function: { name: "f", arguments: "{}" } }],
    });
  });

  it("vLLM's `reasoning` comes back as `reasoning`", async () => {
    const turn = await convert(up.vllmReasoning, testOptions({ request: { model: "qwen3" } }));
    const messages = toChatRequest({ model: "qwen3", input: [...turn.final.output, { role: "user", content: "and?" }] as Input }).request.messages;
    const assistant = messages[0] as Assistant;
    expect(assistant.reasoning).toBe((turn.final.output[0] as { summary: Array<{ text: string }> }).summary[0]!.text);
    expect(assistant).not.toHaveProperty("reasoning_content");
  });

  it("raw reasoning_text content is preferred to the summary when the client kept it", async () => {
    const messages = await roundTrip(withCall(up.deepseekReasoning), { ...ds, reasoning: "raw" }, { model: "deepseek-chat" });
    expect(messages[0]).toMatchObject({ reasoning_content: "The user greets me; answer briefly." });
  });

  it("an empty or null content falls back to the summary (Codex sends content: null)", () => {
    const id = markReasoningId("rs_1", { field: "reasoning_content", upstream: upstreamTag("m") });
    for (const content of [null, []]) {
      const input = [{ type: "reasoning", id, content, summary: [{ type: "summary_text", text: "from summary" }] }, { role: "assistant", content: "a" }] as Input;
      expect(toChatRequest({ model: "m", input }).request.messages[0]).toMatchObject({ reasoning_content: "from summary" });
    }
  });

  it("never to another upstream: a model switch, or an explicitly named other upstream, drops it", async () => {
    const switched = await roundTrip(withCall(up.deepseekReasoning), ds, { model: "gpt-strict" });
    expect(switched[0]).not.toHaveProperty("reasoning_content");
    const elsewhere = await roundTrip(withCall(up.deepseekReasoning), { ...ds, upstream: "https://api.deepseek.com/v1 deepseek-chat" }, { model: "deepseek-chat", upstream: "https://api.groq.com/openai/v1 deepseek-chat" });
    expect(elsewhere[0]).not.toHaveProperty("reasoning_content");
    const same = await roundTrip(withCall(up.deepseekReasoning), { ...ds, upstream: "A" }, { model: "other-name", upstream: "A" });
    expect(same[0]).toMatchObject({ reasoning_content: "The user greets me; answer briefly." });
  });

  it("reasoning this bridge did not produce (OpenAI's ids, no id) is dropped", () => {
    const input: Input = [
      { type: "reasoning", id: "rs_68af4030592c8193b9f6ec5d2b1f61ba0d6fba58e1d7d1b6", summary: [{ type: "summary_text", text: "openai thought" }] },
      { type: "function_call", call_id: "c1", name: "f", arguments: "{}" },
      { type: "function_call_output", call_id: "c1", output: "ok" },
      { type: "reasoning", summary: [{ type: "summary_text", text: "anonymous thought" }] } as Input[number],
      { type: "function_call", call_id: "c2", name: "f", arguments: "{}" },
    ];
    const messages = toChatRequest({ model: "m", input }).request.messages;
    expect(messages.filter((m) => "reasoning_content" in m || "reasoning" in m)).toEqual([]);
  });

  it("OpenRouter's reasoning_details and <think> text stay behind (signatures not kept; never a field)", async () => {
    const details = await convert(up.openrouterReasoningDetailsOnly, testOptions(ds));
    const think = await convert(up.thinkTagsInContent, testOptions({ ...ds, thinkTags: true }));
    for (const turn of [details, think]) {
      const origin = reasoningOrigin(turn.final.output[0]!.id);
      expect(origin?.field).toMatch(/^(reasoning_details|think)$/);
      const messages = toChatRequest({ model: "deepseek-chat", input: [...turn.final.output, { role: "user", content: "?" }] as Input }).request.messages;
      expect(messages[0]).not.toHaveProperty("reasoning_content");
      expect(messages[0]).not.toHaveProperty("reasoning");
    }
  });

  it("overrides: drop sends none; reasoning_content / reasoning send every item's text, whatever its origin", async () => {
    const turn = await convert(withCall(up.deepseekReasoning), testOptions(ds));
    const openaiItem = { type: "reasoning", id: "rs_68af40", summary: [{ type: "summary_text", text: "foreign." }] };
    const input = [openaiItem, ...turn.final.output, { type: "function_call_output", call_id: "call_z", output: "ok" }] as Input;
    expect(toChatRequest({ model: "deepseek-chat", input }, { reasoningHistory: "drop" }).request.messages[0]).not.toHaveProperty("reasoning_content");
    expect(toChatRequest({ model: "x", input }, { reasoningHistory: "reasoning_content" }).request.messages[0]).toMatchObject({ reasoning_content: "foreign.The user greets me; answer briefly." });
    expect(toChatRequest({ model: "x", input }, { reasoningHistory: "reasoning" }).request.messages[0]).toMatchObject({ reasoning: "foreign.The user greets me; answer briefly." });
  });

  it("reasoning between an answer and a call starts the call's own assistant message", () => {
    const id = markReasoningId("rs_1", { field: "reasoning_content", upstream: upstreamTag("m") });
    const input: Input = [
      { role: "assistant", content: "Let me check." },
      { type: "reasoning", id, summary: [{ type: "summary_text", text: "call f" }] },
      { type: "function_call", call_id: "c1", name: "f", arguments: "{}" },
    ];
    expect(toChatRequest({ model: "m", input }).request.messages).toEqual([
      { role: "assistant", content: "Let me check." },
      { role: "assistant", content: null, reasoning_content: "call f", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] },
    ]);
  });

  it("ids: the origin reads back; unmarked ids have none", () => {
    const origin = { field: "reasoning" as const, upstream: upstreamTag("http://127.0.0.1:8000/v1 qwen3") };
    expect(reasoningOrigin(markReasoningId("rs_abc0001", origin))).toEqual(origin);
    expect(reasoningOrigin("rs_abc0001")).toBeUndefined();
    expect(reasoningOrigin("msg_abc_c12345678")).toBeUndefined();
    expect(upstreamTag("a")).not.toBe(upstreamTag("b"));
  });
});
