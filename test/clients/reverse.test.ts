import { createOpenAI } from "@ai-sdk/openai";
import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// Chat Completions clients in front of a Responses-only upstream: wrangler dev with UPSTREAM_API=responses
// in front of the scripted Responses server. LangChain's ChatOpenAI (chat mode) and the AI SDK's `.chat()`.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ UPSTREAM_API: "responses" });
});
afterAll(() => stack?.stop());

const lastUpstream = () => seen.requests.at(-1)!;
const weatherSchema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };

describe("LangChain ChatOpenAI (chat completions) → reverse bridge", () => {
  const model = (name: string) => new ChatOpenAI({ model: name, apiKey: "sk-langchain", configuration: { baseURL: stack.baseURL }, maxRetries: 0, useResponsesApi: false, streamUsage: true });

  it("invoke: the answer and its usage", async () => {
    const answer = await model("scripted-text").invoke([new HumanMessage("Say hello")]);
    expect(answer.content).toBe("Hello from the responses upstream.");
    expect(answer.usage_metadata).toMatchObject({ input_tokens: 11, output_tokens: 7, total_tokens: 18 });
    expect(lastUpstream().url).toBe("/v1/responses");
  });

  it("stream: the deltas in order, usage at the end", async () => {
    const pieces: string[] = [];
    let usage: unknown;
    for await (const chunk of await model("scripted-text").stream([new HumanMessage("Say hello")])) {
      if (typeof chunk.content === "string" && chunk.content) pieces.push(chunk.content);
      if (chunk.usage_metadata) usage = chunk.usage_metadata;
    }
    expect(pieces).toEqual(["Hello", " from the", " responses", " upstream."]);
    expect(usage).toMatchObject({ input_tokens: 11, output_tokens: 7, total_tokens: 18 });
    expect(lastUpstream().body).toMatchObject({ stream: true, store: false });
  });

  it("reasoning summaries reach LangChain as additional_kwargs.reasoning_content (invoke and stream)", async () => {
    const llm = model("scripted-reasoning");
    const answer = await llm.invoke([new HumanMessage("Say hello")], { reasoning_effort: "low" } as never);
    expect(answer.additional_kwargs["reasoning_content"]).toBe("The user wants a greeting.\n\nKeep it short.");
    let reasoning = "";
    for await (const chunk of await llm.stream([new HumanMessage("Say hello")])) reasoning += String(chunk.additional_kwargs["reasoning_content"] ?? "");
    expect(reasoning).toBe("The user wants a greeting.\n\nKeep it short.");
  });

  it("tool calls: bindTools, the call streamed back, then the tool result answered", async () => {
    const llm = model("scripted-tools").bindTools([{ type: "function", function: { name: "get_weather", description: "Weather", parameters: weatherSchema } }]);
    const call = await llm.invoke([new HumanMessage("Weather in Paris?")]);
    expect(call.tool_calls).toMatchObject([{ id: "call_scripted_0", name: "get_weather", args: { city: "Paris" } }]);
    let streamed = "";
    for await (const chunk of await llm.stream([new HumanMessage("Weather in Paris?"), new AIMessage({ content: "", tool_calls: call.tool_calls! }), new ToolMessage({ tool_call_id: "call_scripted_0", content: "18C" })])) {
      if (typeof chunk.content === "string") streamed += chunk.content;
    }
    expect(streamed).toBe("The tool said: 18C");
  });
});

describe("AI SDK openai.chat() → reverse bridge", () => {
  const openai = () => createOpenAI({ baseURL: stack.baseURL, apiKey: "sk-ai-sdk" });
  const weather = tool({ description: "Weather for a city", inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `18C and sunny in ${city}` });

  it("generateText", async () => {
    const result = await generateText({ model: openai().chat("scripted-text"), prompt: "Say hello" });
    expect(result.text).toBe("Hello from the responses upstream.");
    expect(result.finishReason).toBe("stop");
    expect(result.usage.totalTokens).toBe(18);
  });

  it("streamText: text deltas, finish reason, usage", async () => {
    const result = streamText({ model: openai().chat("scripted-text"), prompt: "Say hello" });
    const deltas: string[] = [];
    for await (const d of result.textStream) deltas.push(d);
    expect(deltas.join("")).toBe("Hello from the responses upstream.");
    expect(await result.finishReason).toBe("stop");
    expect((await result.usage).totalTokens).toBe(18);
    expect(lastUpstream().body).toMatchObject({ stream: true, store: false });
  });

  it("streamText: a multi-step tool loop", async () => {
    const result = streamText({ model: openai().chat("scripted-tools"), prompt: "Weather in Paris?", tools: { get_weather: weather }, stopWhen: stepCountIs(3) });
    expect(await result.text).toBe("The tool said: 18C and sunny in Paris");
    expect((await result.steps).map((s) => s.finishReason)).toEqual(["tool-calls", "stop"]);
  });
});
