import { createOpenAI } from "@ai-sdk/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Stack, startStack } from "../support/stack.ts";

// The Vercel AI SDK (`@ai-sdk/openai`'s Responses model) → wrangler dev → the scripted chat server.
let stack: Stack;
let openai: ReturnType<typeof createOpenAI>;
beforeAll(async () => {
  // gpt-5 model ids make the AI SDK treat the model as a reasoning model (it then asks for summaries).
  stack = await startStack({ MODEL_MAP: JSON.stringify({ "gpt-5-mini": "scripted-reasoning", "gpt-5-nano": "scripted-tools" }) });
  openai = createOpenAI({ baseURL: stack.baseURL, apiKey: "sk-ai-sdk-client" });
});
afterAll(() => stack?.stop());

// Without stored state the AI SDK must not refer back to earlier output by id.
const providerOptions = { openai: { store: false, reasoningSummary: "auto" } };
const weather = tool({ description: "Weather for a city", inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `18C and sunny in ${city}` });

describe("ai + @ai-sdk/openai through the bridge", () => {
  it("streamText: reasoning, then text, with usage", async () => {
    const result = streamText({ model: openai.responses("gpt-5-mini"), prompt: "Say hello", providerOptions });
    const parts: string[] = [];
    let reasoning = "";
    for await (const part of result.fullStream) {
      parts.push(part.type);
      if (part.type === "reasoning-delta") reasoning += part.text;
    }
    expect(reasoning).toBe("The user wants a greeting. Keep it short.");
    expect(await result.text).toBe("Hello from the scripted upstream.");
    expect(parts.indexOf("reasoning-start")).toBeLessThan(parts.indexOf("text-start"));
    expect(await result.finishReason).toBe("stop");
    expect((await result.usage).totalTokens).toBe(18);
  });

  it("generateText: reasoning and text", async () => {
    const result = await generateText({ model: openai.responses("gpt-5-mini"), prompt: "Say hello", providerOptions });
    expect(result.reasoningText).toBe("The user wants a greeting. Keep it short.");
    expect(result.text).toBe("Hello from the scripted upstream.");
  });

  it("streamText: a multi-step tool loop", async () => {
    const result = streamText({ model: openai.responses("gpt-5-nano"), prompt: "Weather in Paris?", tools: { get_weather: weather }, stopWhen: stepCountIs(4), providerOptions });
    const toolResults: unknown[] = [];
    for await (const part of result.fullStream) if (part.type === "tool-result") toolResults.push(part.output);
    expect(toolResults).toEqual(["18C and sunny in Paris"]);
    const steps = await result.steps;
    expect(steps.map((s) => s.finishReason)).toEqual(["tool-calls", "stop"]);
    expect(await result.text).toBe("The tool said: 18C and sunny in Paris");
  });

  it("generateText: a multi-step tool loop", async () => {
    const result = await generateText({ model: openai.responses("gpt-5-nano"), prompt: "Weather in Paris?", tools: { get_weather: weather }, stopWhen: stepCountIs(4), providerOptions });
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]!.toolCalls).toMatchObject([{ toolName: "get_weather", input: { city: "Paris" } }]);
    expect(result.text).toBe("The tool said: 18C and sunny in Paris");
  });
});
