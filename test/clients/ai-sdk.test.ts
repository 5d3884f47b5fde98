import { createOpenAI } from "@ai-sdk/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// The Vercel AI SDK (`@ai-sdk/openai`'s Responses model) → wrangler dev → the scripted chat server.
let stack: Stack;
let openai: ReturnType<typeof createOpenAI>;
/** Request bodies the AI SDK sent to the bridge. */
const sent: Array<{ input?: Array<{ type?: string; role?: string }>; store?: boolean }> = [];
beforeAll(async () => {
  // gpt-5 model ids make the AI SDK treat the model as a reasoning model (it then asks for summaries).
  stack = await startStack({ MODEL_MAP: JSON.stringify({ "gpt-5-mini": "scripted-reasoning", "gpt-5-nano": "scripted-tools", "gpt-5": "scripted-deepseek-tools" }) });
  openai = createOpenAI({
    baseURL: stack.baseURL,
    apiKey: "sk-ai-sdk-client",
    fetch: async (input, init) => {
      if (typeof init?.body === "string") sent.push(JSON.parse(init.body) as (typeof sent)[number]);
      return fetch(input, init);
    },
  });
});
afterAll(() => stack?.stop());

// Most cases here run stateless; the last one runs with the AI SDK's default (store: true).
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

  it("a multi-step tool loop with the AI SDK's defaults (store: true): its item_references resolve, reasoning included", async () => {
    // `scripted-deepseek-tools` thinks and calls the tool, and answers 400 unless its reasoning comes back (DeepSeek's rule).
    sent.length = 0;
    const before = seen.requests.length;
    const result = await generateText({ model: openai.responses("gpt-5"), prompt: "Weather in Paris?", tools: { get_weather: weather }, stopWhen: stepCountIs(4) });
    expect(result.text).toBe("The tool said: 18C and sunny in Paris");
    // The second step refers to stored output by id instead of resending it…
    expect(sent).toHaveLength(2);
    expect(sent.every((b) => b.store !== false)).toBe(true);
    expect(sent[1]!.input!.filter((i) => i.type === "item_reference").length).toBeGreaterThan(0);
    // …and the bridge put it back: the upstream saw the whole exchange, its reasoning included.
    expect(seen.requests.length - before).toBe(2);
    const last = seen.requests.at(-1)!.body as { messages: Array<{ role: string; reasoning_content?: string; tool_calls?: Array<{ function: { name: string } }> }> };
    expect(last.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
    expect(last.messages[1]).toMatchObject({ reasoning_content: "Thinking it over (turn 0).", tool_calls: [{ function: { name: "get_weather" } }] });
  });
});
