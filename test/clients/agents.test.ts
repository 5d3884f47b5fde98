import { Agent, OpenAIProvider, Runner, tool } from "@openai/agents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// The OpenAI Agents SDK (Responses model) → wrangler dev → the scripted chat server.
let stack: Stack;
let runner: Runner;
const calls: string[] = [];

const getWeather = tool({
  name: "get_weather",
  description: "Weather for a city",
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    calls.push(city);
    return `18C and sunny in ${city}`;
  },
});
const agent = new Agent({ name: "Weather", instructions: "Answer with the weather tool.", model: "scripted-tools", tools: [getWeather] });

beforeAll(async () => {
  stack = await startStack();
  runner = new Runner({ modelProvider: new OpenAIProvider({ apiKey: "sk-agents-client", baseURL: stack.baseURL, useResponses: true }), tracingDisabled: true });
});
afterAll(() => stack?.stop());

/** The chat requests of the last agent run, as the scripted upstream received them. */
function lastTurns(n: number): Array<{ messages: Array<{ role: string }> }> {
  return seen.requests.filter((r) => r.url.endsWith("/chat/completions")).slice(-n).map((r) => r.body as { messages: Array<{ role: string }> });
}

describe("@openai/agents through the bridge", () => {
  it("run(): a tool loop to the final output", async () => {
    calls.length = 0;
    const result = await runner.run(agent, "Weather in Paris?");
    expect(calls).toEqual(["Paris"]);
    expect(result.finalOutput).toBe("The tool said: 18C and sunny in Paris");
    const types = result.newItems.map((i) => i.type);
    expect(types).toEqual(["tool_call_item", "tool_call_output_item", "message_output_item"]);
    // The second turn carried the call and its output back as chat history.
    expect(lastTurns(2)[1]!.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
  });

  it("run({ stream: true }): text deltas and run items arrive as events", async () => {
    calls.length = 0;
    const result = await runner.run(agent, "Weather in Paris?", { stream: true });
    const deltas: string[] = [];
    const items: string[] = [];
    for await (const event of result) {
      if (event.type === "raw_model_stream_event" && event.data.type === "output_text_delta") deltas.push(event.data.delta);
      if (event.type === "run_item_stream_event") items.push(event.name);
    }
    await result.completed;
    expect(calls).toEqual(["Paris"]);
    expect(items).toEqual(["tool_called", "tool_output", "message_output_created"]);
    expect(deltas).toEqual(["The tool said: 18C and sunny in Paris"]);
    expect(result.finalOutput).toBe("The tool said: 18C and sunny in Paris");
  });
});
