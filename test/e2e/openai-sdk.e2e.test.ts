import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// The real thing: `wrangler dev` (workerd) in front of a real local HTTP chat-completions server,
// with the official `openai` SDK as the client.
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack();
  client = new OpenAI({ apiKey: "sk-client", baseURL: stack.baseURL, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.stop();
});

const weatherTool = { type: "function" as const, name: "get_weather", description: "Weather for a city", strict: false, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

describe("openai SDK → wrangler dev → local chat server", () => {
  it("responses.stream() with text", async () => {
    const stream = client.responses.stream({ model: "scripted-reasoning", input: "Say hello", reasoning: { summary: "auto" } });
    const deltas: string[] = [];
    stream.on("response.output_text.delta", (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    expect(deltas).toEqual(["Hello", " from the", " scripted", " upstream."]);
    expect(final.output_text).toBe("Hello from the scripted upstream.");
    expect(final.output[0]).toMatchObject({ type: "reasoning", summary: [{ text: "The user wants a greeting. Keep it short." }] });
    expect(final.usage).toMatchObject({ input_tokens: 11, output_tokens: 7, total_tokens: 18 });
  });

  it("responses.stream() with a tool call, then the tool loop's next turn", async () => {
    const first = await client.responses.stream({ model: "scripted-tools", input: "Weather in Paris?", tools: [weatherTool] }).finalResponse();
    const call = first.output.find((o) => o.type === "function_call");
    expect(call).toMatchObject({ type: "function_call", name: "get_weather", arguments: '{"city":"Paris"}', call_id: "call_scripted_0", status: "completed" });
    const second = await client.responses.create({
      model: "scripted-tools",
      tools: [weatherTool],
      // The SDK documents passing `response.output` back as input; its types need the cast.
      input: [{ role: "user", content: "Weather in Paris?" }, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: "function_call_output", call_id: call!.type === "function_call" ? call!.call_id : "", output: "18C and sunny" }],
    });
    expect(second.output_text).toBe("The tool said: 18C and sunny");
    const last = seen.requests.at(-1)!.body as { messages: Array<{ role: string }> };
    expect(last.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
  });

  it("parallel tool calls", async () => {
    const tools = [weatherTool, { ...weatherTool, name: "get_time" }];
    const final = await client.responses.stream({ model: "scripted-parallel-tools", input: "both", tools }).finalResponse();
    expect(final.output.map((o) => (o.type === "function_call" ? o.name : o.type))).toEqual(["get_weather", "get_time"]);
  });

  it("responses.create() non-streaming", async () => {
    const r = await client.responses.create({ model: "scripted-text", input: "hi", instructions: "Be nice.", temperature: 0.4 });
    expect(r).toMatchObject({ object: "response", status: "completed", instructions: "Be nice.", temperature: 0.4 });
    expect(r.output_text).toBe("Hello from the scripted upstream.");
  });

  it("an upstream 429 arrives as the SDK's RateLimitError", async () => {
    const error = await client.responses.create({ model: "scripted-429", input: "hi" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const e = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.code).toBe("rate_limit_exceeded");
    expect(e.message).toContain("Please try again in 7s.");
    expect(e.headers?.get("retry-after")).toBe("7");
  });
});

describe("stored state through wrangler dev (Durable Objects on Miniflare's storage)", () => {
  it("a three-turn conversation by previous_response_id only: the upstream receives the full history each turn", async () => {
    const before = seen.requests.length;
    const one = await client.responses.create({ model: "scripted-text", instructions: "Be brief.", input: "My name is Ada." });
    const two = await client.responses.stream({ model: "scripted-text", previous_response_id: one.id, input: "What is my name?" }).finalResponse();
    const three = await client.responses.create({ model: "scripted-text", previous_response_id: two.id, input: "Spell it." });
    expect(three.previous_response_id).toBe(two.id);
    const answer = "Hello from the scripted upstream.";
    const histories = seen.requests.slice(before).map((r) => (r.body as { messages: Array<{ role: string; content: unknown }> }).messages.map((m) => [m.role, m.content]));
    expect(histories).toEqual([
      [["system", "Be brief."], ["user", "My name is Ada."]],
      [["user", "My name is Ada."], ["assistant", answer], ["user", "What is my name?"]],
      [["user", "My name is Ada."], ["assistant", answer], ["user", "What is my name?"], ["assistant", answer], ["user", "Spell it."]],
    ]);

    // The SDK's own retrieve / input items / delete.
    expect(await client.responses.retrieve(three.id)).toMatchObject({ id: three.id, status: "completed", output_text: answer });
    const items = await client.responses.inputItems.list(three.id, { order: "asc", limit: 2 });
    expect(items.data.map((i) => (i.type === "message" ? i.role : i.type))).toEqual(["user", "assistant"]);
    expect(items.has_more).toBe(true);
    const all: string[] = [];
    for await (const item of client.responses.inputItems.list(three.id, { order: "asc", limit: 2 })) all.push(item.type === "message" ? item.role : item.type);
    expect(all).toEqual(["user", "assistant", "user", "assistant", "user"]);
    await client.responses.delete(one.id);
    await expect(client.responses.retrieve(one.id)).rejects.toMatchObject({ status: 404 });
    const gone = await client.responses.create({ model: "scripted-text", previous_response_id: one.id, input: "x" }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(gone).toBeInstanceOf(OpenAI.BadRequestError);
    expect((gone as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("previous_response_not_found");
  });
});
