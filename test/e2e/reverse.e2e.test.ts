import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkChatStream } from "../support/chat-invariants.ts";
import { scriptedUpstream, seen } from "../support/scripted-upstream.ts";
import { serve } from "../support/serve.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { startWorker } from "../support/start-worker.ts";
import type { ChatChunkOut } from "../../src/index.ts";

// The reverse direction for real: the `openai` SDK's chat.completions → wrangler dev (UPSTREAM_API=responses)
// → a scripted Responses server; and the bridge in front of itself: chat client → reverse → forward → chat server.
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack({ UPSTREAM_API: "responses" });
  client = new OpenAI({ apiKey: "sk-client", baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(() => stack?.stop());

const weather: OpenAI.Chat.ChatCompletionTool = { type: "function", function: { name: "get_weather", description: "Weather for a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

describe("openai SDK chat.completions → wrangler dev (UPSTREAM_API=responses) → Responses server", () => {
  it("stream: chunks the SDK reads, usage last, invariants hold", async () => {
    const stream = await client.chat.completions.create({ model: "gpt-5-pro-reasoning", messages: [{ role: "user", content: "Say hello" }], stream: true, stream_options: { include_usage: true }, reasoning_effort: "high" });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const s = checkChatStream(chunks as unknown as ChatChunkOut[], true, { includeUsage: true });
    expect(s.reasoning).toBe("The user wants a greeting.\n\nKeep it short.");
    expect(s.content).toBe("Hello from the responses upstream.");
    expect(s.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, completion_tokens_details: { reasoning_tokens: 4 } });
    expect(seen.requests.at(-1)!.body).toMatchObject({ model: "gpt-5-pro-reasoning", reasoning: { effort: "high", summary: "auto" }, store: false, stream: true });
  });

  it("non-streaming: one chat.completion", async () => {
    const r = await client.chat.completions.create({ model: "gpt-5-pro", messages: [{ role: "system", content: "Be nice." }, { role: "user", content: "hi" }], temperature: 0.2 });
    expect(r).toMatchObject({ object: "chat.completion", choices: [{ finish_reason: "stop", message: { role: "assistant", content: "Hello from the responses upstream." } }], usage: { total_tokens: 18 } });
    expect(seen.requests.at(-1)!.body).toEqual({ model: "gpt-5-pro", instructions: "Be nice.", input: [{ type: "message", role: "user", content: "hi" }], temperature: 0.2, store: false });
  });

  it("a tool round trip with chat.completions.stream()", async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
    const first = await client.chat.completions.stream({ model: "scripted-tools", messages, tools: [weather] }).finalChatCompletion();
    const msg = first.choices[0]!.message;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(msg.tool_calls).toMatchObject([{ id: "call_scripted_0", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }]);
    messages.push(msg, { role: "tool", tool_call_id: msg.tool_calls![0]!.id, content: "18C and sunny" });
    const second = await client.chat.completions.create({ model: "scripted-tools", messages, tools: [weather] });
    expect(second.choices[0]!.message.content).toBe("The tool said: 18C and sunny");
    expect((seen.requests.at(-1)!.body as { input: unknown[] }).input).toEqual([
      { type: "message", role: "user", content: "Weather in Paris?" },
      { type: "function_call", call_id: "call_scripted_0", name: "get_weather", arguments: '{"city":"Paris"}' },
      { type: "function_call_output", call_id: "call_scripted_0", output: "18C and sunny" },
    ]);
  });

  it("an upstream 429 is the SDK's RateLimitError with Retry-After; a failure mid-stream is an APIError, not a clean end", async () => {
    const e = await client.chat.completions.create({ model: "scripted-429", messages: [{ role: "user", content: "x" }] }).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(OpenAI.RateLimitError);
    expect((e as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after")).toBe("7");
    const stream = await client.chat.completions.create({ model: "scripted-failed", messages: [{ role: "user", content: "x" }], stream: true });
    let text = "";
    const failure = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? "";
    })().then(() => null, (x: unknown) => x);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(text).toBe("Hello from the");
  });
});

describe("the bridge in front of itself: chat client → reverse → forward → chat server", () => {
  let chatServer: Awaited<ReturnType<typeof serve>>;
  let forward: Awaited<ReturnType<typeof startWorker>>;
  let reverse: Awaited<ReturnType<typeof startWorker>>;
  let chained: OpenAI;
  beforeAll(async () => {
    chatServer = await serve(scriptedUpstream);
    forward = await startWorker(chatServer.url);
    reverse = await startWorker(forward.url, undefined, { UPSTREAM_API: "responses" });
    chained = new OpenAI({ apiKey: "sk-client", baseURL: `${reverse.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await reverse?.stop();
    await forward?.stop();
    await chatServer?.close();
  });

  it("streams the chat server's answer back intact (reasoning, text, usage)", async () => {
    const before = seen.requests.length;
    const stream = await chained.chat.completions.create({ model: "scripted-reasoning", messages: [{ role: "user", content: "Say hello" }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const s = checkChatStream(chunks as unknown as ChatChunkOut[], true, { includeUsage: true });
    expect(s.reasoning).toBe("The user wants a greeting. Keep it short.");
    expect(s.content).toBe("Hello from the scripted upstream.");
    expect(s.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    // The chat server saw a chat request again, the conversation intact.
    const last = seen.requests.at(-1)!;
    expect(seen.requests.length - before).toBe(1);
    expect(last.url).toBe("/v1/chat/completions");
    expect(last.body).toMatchObject({ model: "scripted-reasoning", messages: [{ role: "user", content: "Say hello" }] });
  });

  it("a tool round trip through both directions, non-streaming and streaming", async () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];
    const first = await chained.chat.completions.create({ model: "scripted-parallel-tools", messages, tools: [weather, { type: "function", function: { ...weather.function, name: "get_time" } }] });
    const msg = first.choices[0]!.message;
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(msg.tool_calls?.map((t) => (t.type === "function" ? [t.id, t.function.name, t.function.arguments] : null))).toEqual([
      ["call_scripted_0", "get_weather", '{"city":"Paris"}'],
      ["call_scripted_1", "get_time", '{"city":"Paris"}'],
    ]);
    messages.push(msg, { role: "tool", tool_call_id: "call_scripted_0", content: "18C" }, { role: "tool", tool_call_id: "call_scripted_1", content: "noon" });
    const second = await chained.chat.completions.stream({ model: "scripted-parallel-tools", messages, tools: [weather] }).finalChatCompletion();
    expect(second.choices[0]!.message.content).toBe("The tool said: noon");
    const last = seen.requests.at(-1)!.body as { messages: Array<{ role: string; tool_call_id?: string }> };
    expect(last.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "tool"]);
  });

  it("a Responses WebSocket through the reverse Worker is the upstream's own socket: store:false turns continue by previous_response_id", async () => {
    const ws = new WebSocket(`${reverse.url.replace("http", "ws")}/v1/responses`, { headers: { authorization: "Bearer sk-client" } } as never);
    const frames: Array<{ type: string; response?: { id: string; status: string; output: Array<{ content?: Array<{ text?: string }> }> }; error?: unknown }> = [];
    let wake: (() => void) | null = null;
    ws.onmessage = ({ data }) => {
      frames.push(JSON.parse(String(data)) as (typeof frames)[number]);
      wake?.();
    };
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`WebSocket did not open:\n${reverse.output()}`));
    });
    const turn = async (body: object) => {
      const from = frames.length;
      ws.send(JSON.stringify({ type: "response.create", store: false, ...body }));
      for (;;) {
        const end = frames.slice(from).find((f) => f.type === "response.completed" || f.type === "response.failed" || f.type === "error");
        if (end) return end;
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
    };
    try {
      const before = seen.requests.length;
      const one = await turn({ model: "scripted-text", input: "My name is Ada." });
      expect(one.type).toBe("response.completed");
      const two = await turn({ model: "scripted-text", input: "What is my name?", previous_response_id: one.response!.id });
      // Only the forward Worker's connection memory knows a store:false response: the socket reached it.
      expect(two).toMatchObject({ type: "response.completed", response: { status: "completed" } });
      const history = (seen.requests.at(-1)!.body as { messages: Array<{ role: string; content: unknown }> }).messages.map((m) => [m.role, m.content]);
      expect(seen.requests.length - before).toBe(2);
      expect(history).toEqual([["user", "My name is Ada."], ["assistant", "Hello from the scripted upstream."], ["user", "What is my name?"]]);
    } finally {
      ws.close();
    }
  });
});
