import { createOpenAI } from "@ai-sdk/openai";
import { Agent, OpenAIProvider, Runner, tool as agentTool } from "@openai/agents";
import { generateText, stepCountIs, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { recordingProxy } from "../support/recording-proxy.ts";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { codexConfig, type CodexRun, runCodex } from "./codex.ts";

// Real clients through tool loops against an upstream that enforces DeepSeek's thinking-mode rule
// (`scripted-deepseek-…`: reasoning_content every turn, 400 unless it comes back), Worker defaults.
let stack: Stack;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
beforeAll(async () => {
  // The AI SDK asks for reasoning.encrypted_content by itself (store: false) only for model ids it knows
  // as reasoning models (gpt-5…); under any other name, such as DeepSeek's own, the client must ask.
  // Codex prefers the WebSocket for gpt-5.5 (its built-in metadata), routed here to the DeepSeek fixture.
  stack = await startStack({ MODEL_MAP: JSON.stringify({ "deepseek-chat": "scripted-deepseek-tools", "gpt-5.5": "scripted-deepseek-tools@exec_command" }) });
  proxy = await recordingProxy(stack.url);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

type Message = { role: string; reasoning_content?: string };

/** The assistant messages of the last request that reached the upstream for `model`. */
function lastAssistants(model: string): Message[] {
  const last = seen.requests.findLast((r) => (r.body as { model?: string }).model === model)!;
  return (last.body as { messages: Message[] }).messages.filter((m) => m.role === "assistant");
}

describe("reasoning survives real clients' tool loops (DeepSeek thinking mode, no configuration)", () => {
  it("@openai/agents: run() to the final output", async () => {
    const getWeather = agentTool({ name: "get_weather", description: "Weather for a city", parameters: z.object({ city: z.string() }), execute: async ({ city }) => `18C in ${city}` });
    const agent = new Agent({ name: "Weather", instructions: "Use the tool.", model: "scripted-deepseek-tools", tools: [getWeather] });
    const runner = new Runner({ modelProvider: new OpenAIProvider({ apiKey: "sk-agents", baseURL: stack.baseURL, useResponses: true }), tracingDisabled: true });
    const before = seen.requests.length;
    const result = await runner.run(agent, "Weather in Paris?");
    expect(result.finalOutput).toBe("The tool said: 18C in Paris");
    // Two requests: the reasoning went back on the first try (no second attempt after DeepSeek's 400).
    expect(seen.requests.length - before).toBe(2);
    expect(lastAssistants("scripted-deepseek-tools").map((m) => m.reasoning_content)).toEqual(["Thinking it over (turn 0)."]);
  });

  it("ai + @ai-sdk/openai with store: false and include: reasoning.encrypted_content (it sends back the token, an empty summary)", async () => {
    const weather = tool({ description: "Weather for a city", inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `18C in ${city}` });
    const openai = createOpenAI({ baseURL: stack.baseURL, apiKey: "sk-ai-sdk" });
    const loop = (include?: string[]) =>
      generateText({ model: openai.responses("deepseek-chat"), prompt: "Weather in Paris?", tools: { get_weather: weather }, stopWhen: stepCountIs(4), providerOptions: { openai: { store: false, ...(include ? { include } : {}) } } });
    let before = seen.requests.length;
    const result = await loop(["reasoning.encrypted_content"]);
    expect(seen.requests.length - before).toBe(2);
    expect(result.steps.map((s) => s.finishReason)).toEqual(["tool-calls", "stop"]);
    expect(result.text).toBe("The tool said: 18C in Paris");
    expect(lastAssistants("scripted-deepseek-tools").map((m) => m.reasoning_content)).toEqual(["Thinking it over (turn 0)."]);
    // Without the token the AI SDK keeps nothing of the reasoning: the loop completes only on the
    // bridge's second attempt, with an empty stand-in instead of the model's own reasoning.
    before = seen.requests.length;
    expect((await loop()).text).toBe("The tool said: 18C in Paris");
    expect(seen.requests.length - before).toBe(3);
    expect(lastAssistants("scripted-deepseek-tools").map((m) => m.reasoning_content)).toEqual([""]);
  });

  for (const transport of ["HTTP", "WebSocket"] as const) {
    it(`codex exec over ${transport}: a command, then the answer`, async () => {
      const config =
        transport === "HTTP"
          ? codexConfig({ baseURL: stack.baseURL, model: "scripted-deepseek-tools@exec_command" })
          : codexConfig({ baseURL: `${proxy.url}/v1`, model: "gpt-5.5", extra: "supports_websockets = true" });
      const before = seen.requests.length;
      const run: CodexRun = await runCodex({ config, prompt: "Run a command" });
      await run.cleanup();
      const explain = `codex exit ${run.exitCode}\n${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${stack.output()}`;
      expect(run.exitCode, explain).toBe(0);
      expect(run.items.find((i) => i.type === "command_execution"), explain).toMatchObject({ status: "completed", exit_code: 0 });
      expect(run.items.at(-1)!.text, explain).toMatch(/^The tool said: [\s\S]*bridged/);
      // Two requests (the call, then its output): DeepSeek never had to ask twice.
      expect(seen.requests.length - before, explain).toBe(2);
      expect(lastAssistants("scripted-deepseek-tools@exec_command").map((m) => m.reasoning_content)).toEqual(["Thinking it over (turn 0)."]);
      if (transport === "WebSocket") {
        const upgrades = proxy.requests.filter((r) => /\/responses/.test(r.path));
        expect(upgrades.length, explain).toBeGreaterThan(0);
        expect(upgrades.every((r) => r.method === "GET" && r.upgrade === "websocket"), explain).toBe(true);
      }
    });
  }
});
