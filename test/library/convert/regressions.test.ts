import { describe, expect, it } from "vitest";
import { type ChatCompletion, fromChatCompletion, type FunctionCallItem } from "../../../src/index.ts";
import * as up from "../../fixtures/upstreams.ts";
import { convert, testOptions } from "../../support/helpers.ts";
import { requiredPartFields } from "../../support/spec-contract.ts";

/** Gemini's OpenAI-compatible endpoint, non-streaming: calls without `index`, ids it makes up, and entries that are not calls. */
const geminiCompletion = {
  id: "gem-1",
  object: "chat.completion",
  created: 1_761_000_000,
  model: "gemini-2.5-flash",
  choices: [
    {
      index: 0,
      finish_reason: "tool_calls",
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          { function: { arguments: '{"location":"Boston, MA"}', name: "get_weather" }, id: "function-call-1", type: "function" },
          null,
          { function: { arguments: '{"location":"Tokyo"}', name: "get_weather" }, id: "", type: "function" },
          { function: null, type: "function" },
        ],
      },
    },
  ],
  usage: { completion_tokens: 18, prompt_tokens: 40, total_tokens: 58 },
} as unknown as ChatCompletion;

describe("non-streaming tool calls without index (Gemini)", () => {
  it("become one function_call item each, in order, without crashing on entries that are not calls", () => {
    const r = fromChatCompletion(geminiCompletion, testOptions());
    expect(r.status).toBe("completed");
    const calls = r.output as FunctionCallItem[];
    expect(calls.map((c) => [c.type, c.name, c.arguments])).toEqual([
      ["function_call", "get_weather", '{"location":"Boston, MA"}'],
      ["function_call", "get_weather", '{"location":"Tokyo"}'],
      ["function_call", "", ""],
    ]);
    expect(calls[0]!.call_id).toBe("function-call-1");
    // An empty upstream id gets one of ours rather than an empty call_id.
    expect(calls[1]!.call_id).toMatch(/^call_./);
    expect(r.usage).toMatchObject({ input_tokens: 40, output_tokens: 18 });
  });

  it("gives the same output as the streaming path for the same answer", async () => {
    const streamed = await convert(up.geminiWholeToolCalls, testOptions());
    const whole = fromChatCompletion({ ...geminiCompletion, choices: [{ ...geminiCompletion.choices[0]!, message: { ...geminiCompletion.choices[0]!.message, tool_calls: geminiCompletion.choices[0]!.message.tool_calls!.slice(0, 1).concat([{ function: { arguments: '{"location":"Tokyo"}', name: "get_weather" }, id: "function-call-2", type: "function" }]) } }] }, testOptions());
    expect(whole.output.map((o) => ({ ...o, id: "" }))).toEqual(streamed.final.output.map((o) => ({ ...o, id: "" })));
  });
});

describe("request tools echoed in the response's own shape", () => {
  const request = {
    model: "m",
    tools: [
      { type: "function", name: "bare" },
      { type: "function", name: "full", description: "d", parameters: { type: "object", properties: {} }, strict: true, extra: "not echoed" },
      { type: "function", name: "nulls", description: null, parameters: null, strict: null },
      { type: "custom", name: "apply_patch", description: "patch" },
    ],
  };

  it("function tools carry name, description, parameters and strict, null where the request left them out", async () => {
    const r = await convert(up.openaiText, testOptions({ request }));
    for (const final of [r.final, (r.events[0] as { response: typeof r.final }).response, fromChatCompletion({ choices: [{ index: 0, message: { role: "assistant", content: "x" } }] } as ChatCompletion, { request })]) {
      expect(final.tools).toEqual([
        { type: "function", name: "bare", description: null, parameters: null, strict: null },
        { type: "function", name: "full", description: "d", parameters: { type: "object", properties: {} }, strict: true },
        { type: "function", name: "nulls", description: null, parameters: null, strict: null },
        { type: "custom", name: "apply_patch", description: "patch" },
      ]);
      // FunctionTool's required fields (checked against the spec by spec-contract.test.ts), each a string or null as typed.
      for (const tool of final.tools.slice(0, 3) as Record<string, unknown>[]) {
        expect(Object.keys(tool).sort()).toEqual([...requiredPartFields["function_tool"]!].sort());
        expect(typeof tool["description"] === "string" || tool["description"] === null).toBe(true);
        expect(typeof tool["strict"] === "boolean" || tool["strict"] === null).toBe(true);
        expect(tool["parameters"] === null || typeof tool["parameters"] === "object").toBe(true);
      }
    }
  });

  it("does not touch the request's own objects", async () => {
    const copy = structuredClone(request);
    await convert(up.openaiText, testOptions({ request }));
    expect(request).toEqual(copy);
  });
});
