import { createOpenAI } from "@ai-sdk/openai";
import { APICallError, generateText, type ModelMessage, stepCountIs, streamText, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// The Vercel AI SDK (`@ai-sdk/openai`'s Responses model) → wrangler dev → the scripted chat server.
let stack: Stack;
let openai: ReturnType<typeof createOpenAI>;
/** Request bodies the AI SDK sent to the bridge. */
const sent: Array<{ input?: Array<{ type?: string; role?: string }>; store?: boolean } & Record<string, unknown>> = [];
beforeAll(async () => {
  // gpt-5 model ids make the AI SDK treat the model as a reasoning model (it then asks for summaries).
  // gpt-6 model ids are the ones the AI SDK 7 sends configuration updates and prompt cache options for.
  stack = await startStack({
    MODEL_MAP: JSON.stringify({ "gpt-5-mini": "scripted-reasoning", "gpt-5-nano": "scripted-tools", "gpt-5": "scripted-deepseek-tools", "gpt-6-luna": "scripted-reasoning", "gpt-6-sol": "scripted-tools" }),
  });
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

/** What the upstream was sent by the requests since `before`. */
type ChatSent = { model: string; reasoning_effort?: string; response_format?: unknown; tool_choice?: unknown; prompt_cache_key?: string; tools?: Array<{ function: { name: string } }>; messages: Array<{ role: string; content: unknown }> };
const upstreamSince = (before: number) => seen.requests.slice(before).map((r) => r.body as ChatSent & Record<string, unknown>);
const clock = tool({ description: "The time in a city", inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `noon in ${city}` });

describe("what the AI SDK 7 sends, and what reaches the upstream", () => {
  it("an effort with no reasoningSummary: the AI SDK asks for summary 'detailed'; the upstream gets the effort, and the reasoning comes back", async () => {
    sent.length = 0;
    const before = seen.requests.length;
    const result = await generateText({ model: openai.responses("gpt-5-mini"), prompt: "Say hello", providerOptions: { openai: { store: false, reasoningEffort: "high" } } });
    expect(sent[0]!.reasoning).toEqual({ effort: "high", summary: "detailed" });
    const [up] = upstreamSince(before);
    expect(up!.reasoning_effort).toBe("high");
    expect(up).not.toHaveProperty("reasoning");
    expect(result.reasoningText).toBe("The user wants a greeting. Keep it short.");
  });

  it("a reasoning effort changed mid-conversation: a configuration_update item, and the upstream gets the new effort", async () => {
    sent.length = 0;
    const before = seen.requests.length;
    const messages: ModelMessage[] = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello." },
      { role: "system", content: "", providerOptions: { openai: { reasoningEffortUpdate: "high" } } },
      { role: "user", content: "Now think harder." },
    ];
    const result = await generateText({ model: openai.responses("gpt-6-luna"), messages, allowSystemInMessages: true, providerOptions: { openai: { store: false, reasoningEffort: "low" } } });
    expect(result.text).toBe("Hello from the scripted upstream.");
    expect(sent[0]!.reasoning).toMatchObject({ effort: "low" });
    expect(sent[0]!.input![2]).toEqual({ type: "configuration_update", reasoning: { effort: "high" } });
    const [up] = upstreamSince(before);
    expect(up!.reasoning_effort).toBe("high");
    expect(up!.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", "Hi"],
      ["assistant", "Hello."],
      ["user", "Now think harder."],
    ]);
  });

  it("a text format changed mid-conversation: the upstream's response_format follows the update", async () => {
    const before = seen.requests.length;
    const schema = { type: "object", properties: { answer: { type: "string" } }, required: ["answer"], additionalProperties: false };
    const messages: ModelMessage[] = [
      { role: "user", content: "Hi" },
      { role: "system", content: "", providerOptions: { openai: { textFormatUpdate: { type: "json_schema", name: "answer", schema, strict: true } } } },
      { role: "user", content: "Answer in JSON." },
    ];
    await generateText({ model: openai.responses("gpt-6-luna"), messages, allowSystemInMessages: true, providerOptions: { openai: { store: false } } });
    const [up] = upstreamSince(before);
    expect(up!.response_format).toEqual({ type: "json_schema", json_schema: { name: "answer", schema, strict: true } });
  });

  it("stored state (store: true): an effort update made on one turn holds on the turns continued from it", async () => {
    sent.length = 0;
    const before = seen.requests.length;
    const model = openai.responses("gpt-6-luna");
    const one = await generateText({ model, prompt: "one", providerOptions: { openai: { reasoningEffort: "low" } } });
    const two = await generateText({ model, prompt: "two", providerOptions: { openai: { reasoningEffort: "low", previousResponseId: one.response.id, reasoningEffortUpdate: "high" } } });
    await generateText({ model, prompt: "three", providerOptions: { openai: { reasoningEffort: "low", previousResponseId: two.response.id } } });
    // The second request opens its input with the update; the third carries none of its own.
    expect(sent[1]!.input![0]).toEqual({ type: "configuration_update", reasoning: { effort: "high" } });
    expect(sent[2]!.input!.some((i) => i.type === "configuration_update")).toBe(false);
    expect(upstreamSince(before).map((b) => b.reasoning_effort)).toEqual(["low", "high", "high"]);
    expect(upstreamSince(before).at(-1)!.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant", "user"]);
  });

  it("allowedTools: tool_choice allowed_tools; the upstream is offered only the allowed tool, and the loop calls it", async () => {
    sent.length = 0;
    const before = seen.requests.length;
    const result = await generateText({
      model: openai.responses("gpt-5-nano"),
      prompt: "What time is it in Paris?",
      tools: { get_weather: weather, get_time: clock },
      stopWhen: stepCountIs(4),
      providerOptions: { openai: { store: false, allowedTools: { toolNames: ["get_time"], mode: "required" } } },
    });
    expect(sent[0]!.tool_choice).toEqual({ type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "get_time" }] });
    expect((sent[0]!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["get_weather", "get_time"]);
    const [first] = upstreamSince(before);
    expect(first!.tools!.map((t) => t.function.name)).toEqual(["get_time"]);
    expect(first!.tool_choice).toBe("required");
    expect(result.steps[0]!.toolCalls).toMatchObject([{ toolName: "get_time", input: { city: "Paris" } }]);
    expect(result.text).toBe("The tool said: noon in Paris");
  });

  it("activeTools: the AI SDK itself sends only the active tools (no allowed_tools on the wire)", async () => {
    sent.length = 0;
    const before = seen.requests.length;
    const result = streamText({ model: openai.responses("gpt-5-nano"), prompt: "Time in Paris?", tools: { get_weather: weather, get_time: clock }, activeTools: ["get_time"], stopWhen: stepCountIs(4), providerOptions });
    expect(await result.text).toBe("The tool said: noon in Paris");
    expect((sent[0]!.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(["get_time"]);
    expect(sent[0]!.tool_choice).not.toMatchObject({ type: "allowed_tools" });
    expect(upstreamSince(before)[0]!.tools!.map((t) => t.function.name)).toEqual(["get_time"]);
  });

  it("additionalTools: a tool loaded mid-conversation (an additional_tools item, role developer) is offered upstream and called", async () => {
    sent.length = 0;
    const before = seen.requests.length;
    const timeParameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
    const lateClock = tool({ ...clock, providerOptions: { openai: { omitFromRequestTools: true } } });
    const messages: ModelMessage[] = [
      { role: "user", content: "Hi" },
      { role: "system", content: "", providerOptions: { openai: { additionalTools: [{ type: "function", name: "get_time", description: "The time in a city", parameters: timeParameters }] } } },
      { role: "user", content: "Time in Paris?" },
    ];
    const result = await generateText({ model: openai.responses("gpt-6-sol"), messages, allowSystemInMessages: true, tools: { get_time: lateClock }, stopWhen: stepCountIs(4), providerOptions });
    const item = sent[0]!.input!.find((i) => i.type === "additional_tools") as { role: string; tools: Array<{ name: string }> } | undefined;
    expect(item).toMatchObject({ role: "developer", tools: [{ type: "function", name: "get_time" }] });
    expect(sent[0]!.tools ?? []).toEqual([]);
    expect(upstreamSince(before)[0]!.tools!.map((t) => t.function.name)).toEqual(["get_time"]);
    expect(result.text).toBe("The tool said: noon in Paris");
  });

  it("promptCacheOptions: prompt_cache_options is dropped (the cache key goes on); prewarm is a 400 in OpenAI's shape", async () => {
    sent.length = 0;
    const before = seen.requests.length;
    const model = openai.responses("gpt-6-luna");
    await generateText({ model, prompt: "Say hello", providerOptions: { openai: { store: false, promptCacheKey: "k-1", promptCacheOptions: { mode: "explicit", ttl: "12h" } } } });
    expect(sent[0]!.prompt_cache_options).toEqual({ mode: "explicit", ttl: "12h" });
    const [up] = upstreamSince(before);
    expect(up!.prompt_cache_key).toBe("k-1");
    expect(up).not.toHaveProperty("prompt_cache_options");
    const error = await generateText({ model, prompt: "Say hello", maxRetries: 0, providerOptions: { openai: { store: false, promptCacheOptions: { prewarm: true } } } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(APICallError.isInstance(error), String(error)).toBe(true);
    const call = error as APICallError;
    expect(call.statusCode).toBe(400);
    expect(JSON.parse(call.responseBody!)).toMatchObject({ error: { type: "invalid_request_error", param: "prompt_cache_options.prewarm", code: "unsupported_parameter" } });
    expect(upstreamSince(before)).toHaveLength(1);
  });

  it("compactionTrigger: input ending with compaction_trigger gets a compaction item, which the next turn sends back as the summary", async () => {
    sent.length = 0;
    const before = seen.requests.length;
    const model = openai.responses("gpt-6-luna");
    const first = await generateText({ model, prompt: "My name is Ada.", providerOptions: { openai: { store: false, compactionTrigger: true } } });
    expect(sent[0]!.input!.at(-1)).toEqual({ type: "compaction_trigger" });
    const item = first.content.find((p) => p.type === "custom") as { kind: string; providerMetadata?: { openai?: { encryptedContent?: string } } } | undefined;
    expect(item?.kind).toBe("openai.compaction");
    expect(item!.providerMetadata!.openai!.encryptedContent).toMatch(/^rb1\./);
    const next = await generateText({ model, messages: [...first.response.messages, { role: "user", content: "What is my name?" }], providerOptions: { openai: { store: false } } });
    expect(next.text).toBe("Hello from the scripted upstream.");
    expect(sent[1]!.input!.filter((i) => i.type === "compaction")).toHaveLength(1);
    // The summary the upstream wrote reached it again, ahead of the new question (one user message: the two are joined).
    const last = upstreamSince(before).at(-1)!;
    expect(last.messages.map((m) => m.role)).toEqual(["user"]);
    expect(String(last.messages[0]!.content)).toMatch(/Hello from the scripted upstream\.[\s\S]*\n\nWhat is my name\?$/);
  });
});
