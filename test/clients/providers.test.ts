import { createOpenAI } from "@ai-sdk/openai";
import { Agent, OpenAIProvider, Runner, tool } from "@openai/agents";
import { generateText, stepCountIs, tool as aiTool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type Recorded, recordingProxy } from "../support/recording-proxy.ts";
import { scriptedGemini, UNKNOWN_TO_GOOGLE } from "../support/scripted-gemini.ts";
import { scriptedOpenRouter } from "../support/scripted-openrouter.ts";
import type { ChatBodyIn } from "../support/scripted-provider.ts";
import { type Stack, startStack, startTogether } from "../support/stack.ts";
import { codexConfig, type CodexRun, runCodex } from "./codex.ts";

// Real clients → wrangler dev → scripted providers that need their state back on the next step:
// Gemini 3 (thought signatures on tool calls) and an Anthropic model on OpenRouter (signed reasoning_details).
// Each refuses a continued tool turn without its state, so a completed tool loop is the proof.
// Gemini also refuses OpenAI-only fields with Google's array body, as Google does: Codex sends prompt_cache_key, which
// the bridge learns to leave out after the first refusal (worker/run/refused-fields.ts).
const gemini = scriptedGemini({ refuseFields: true });
const openrouter = scriptedOpenRouter();
let geminiStack: Stack;
let openrouterStack: Stack;
let geminiProxy: Awaited<ReturnType<typeof recordingProxy>>;
let openrouterProxy: Awaited<ReturnType<typeof recordingProxy>>;

beforeAll(async () => {
  // Codex treats gpt-5.5 as a reasoning model that prefers its own tools; each Worker routes it to its provider's model.
  [geminiStack, openrouterStack] = await startTogether(
    startStack({ MODEL_MAP: JSON.stringify({ "gpt-5.5": "gemini-3-pro-preview@exec_command" }) }, gemini.handler),
    startStack({ MODEL_MAP: JSON.stringify({ "gpt-5.5": "anthropic/claude-sonnet-4.5@exec_command" }) }, openrouter.handler),
    (s) => s.stop(),
  );
  geminiProxy = await recordingProxy(geminiStack.url);
  openrouterProxy = await recordingProxy(openrouterStack.url);
});
afterAll(async () => {
  await geminiProxy?.close();
  await openrouterProxy?.close();
  await Promise.all([geminiStack?.stop(), openrouterStack?.stop()]);
});

function explain(run: CodexRun, stack: Stack, refusals: string[], requests: Recorded[] = []): string {
  return `codex exit ${run.exitCode}\nrefused: ${JSON.stringify(refusals)}\n${JSON.stringify(requests)}\n${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${stack.output()}`;
}

/**
 * Refusals a run may meet: only Google's "Unknown name" for an OpenAI-only field the bridge may leave out (learned then, per
 * upstream model); never a refusal of the provider state the run is about.
 */
const onlyLearnedFields = (refusals: string[]) =>
  refusals.filter((r) => !UNKNOWN_TO_GOOGLE.some((f) => r === `Invalid JSON payload received. Unknown name "${f}": Cannot find field.`));

const assistantsOf = (body: ChatBodyIn | undefined) => (body?.messages ?? []).filter((m) => m.role === "assistant" && m.tool_calls?.length);

const providers = [
  { name: "Gemini 3", scripted: gemini, stack: () => geminiStack, proxy: () => geminiProxy },
  { name: "OpenRouter (Anthropic)", scripted: openrouter, stack: () => openrouterStack, proxy: () => openrouterProxy },
];

for (const p of providers) {
  describe(`codex exec through the bridge to ${p.name}`, () => {
    for (const ws of [false, true]) {
      it(`runs a command and answers with its output, its state back on the second step (${ws ? "WebSocket" : "HTTP"})`, async () => {
        const before = p.scripted.requests.length;
        const refusedBefore = p.scripted.refusals.length;
        const proxy = p.proxy();
        const recordedBefore = proxy.requests.length;
        const baseURL = ws ? `${proxy.url}/v1` : p.stack().baseURL;
        const run = await runCodex({ config: codexConfig({ baseURL, model: "gpt-5.5", extra: ws ? "supports_websockets = true" : "" }), prompt: "Run a command" });
        await run.cleanup();
        const recorded = proxy.requests.slice(recordedBefore).filter((r) => /\/responses/.test(r.path));
        const refusals = p.scripted.refusals.slice(refusedBefore);
        expect(run.exitCode, explain(run, p.stack(), refusals, recorded)).toBe(0);
        expect(onlyLearnedFields(refusals)).toEqual([]);
        expect(run.items.find((i) => i.type === "command_execution"), explain(run, p.stack(), refusals)).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
        expect(run.items.at(-1)!.text).toMatch(/^The tool said: [\s\S]*bridged/);
        if (ws) expect(recorded.length > 0 && recorded.every((r) => r.method === "GET" && r.upgrade === "websocket"), explain(run, p.stack(), refusals, recorded)).toBe(true);
        // The step after the call carried that call's state back.
        const step = assistantsOf(p.scripted.requests.slice(before).at(-1)).at(-1)!;
        if (p.scripted === gemini) expect(step.tool_calls![0]!.extra_content?.google?.thought_signature).toMatch(/^gemini-sig-/);
        else expect(step.reasoning_details?.map((d) => d.type)).toEqual(["reasoning.text", "reasoning.encrypted"]);
      });
    }
  });
}

describe("codex exec with the provider's own model name (no built-in model metadata in Codex)", () => {
  it("carries the sealed state back all the same", async () => {
    const before = gemini.requests.length;
    const refusedBefore = gemini.refusals.length;
    const run = await runCodex({ config: codexConfig({ baseURL: geminiStack.baseURL, model: "gemini-3-pro-preview@exec_command" }), prompt: "Run a command" });
    await run.cleanup();
    const refusals = gemini.refusals.slice(refusedBefore);
    expect(run.exitCode, explain(run, geminiStack, refusals)).toBe(0);
    expect(onlyLearnedFields(refusals)).toEqual([]);
    expect(run.items.at(-1)!.text).toMatch(/^The tool said: [\s\S]*bridged/);
    const step = assistantsOf(gemini.requests.slice(before).at(-1)).at(-1)!;
    expect(step.tool_calls![0]!.extra_content?.google?.thought_signature).toMatch(/^gemini-sig-/);
  });
});

describe("@openai/agents on Gemini 3", () => {
  it("run(): the tool loop to the final output, the signature back on the call", async () => {
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
    const agent = new Agent({ name: "Weather", instructions: "Answer with the weather tool.", model: "gemini-3-flash-preview", tools: [getWeather] });
    const runner = new Runner({ modelProvider: new OpenAIProvider({ apiKey: "sk-agents-client", baseURL: geminiStack.baseURL, useResponses: true }), tracingDisabled: true });
    const before = gemini.requests.length;
    const refusedBefore = gemini.refusals.length;
    for (const stream of [false, true]) {
      const result = stream ? await runner.run(agent, "Weather in Paris?", { stream: true }) : await runner.run(agent, "Weather in Paris?");
      if (stream) {
        for await (const _event of result as AsyncIterable<unknown>);
        await (result as { completed: Promise<void> }).completed;
      }
      expect(result.finalOutput, JSON.stringify(gemini.refusals.slice(refusedBefore))).toBe("The tool said: 18C and sunny in Paris");
    }
    expect(calls).toEqual(["Paris", "Paris"]);
    expect(gemini.refusals.slice(refusedBefore)).toEqual([]);
    const steps = gemini.requests.slice(before).filter((r) => r.messages?.at(-1)?.role === "tool");
    expect(steps).toHaveLength(2);
    for (const s of steps) expect(assistantsOf(s)[0]!.tool_calls![0]!.extra_content?.google?.thought_signature).toMatch(/^gemini-sig-/);
  });
});

describe("ai + @ai-sdk/openai on Gemini 3", () => {
  const weather = aiTool({ description: "Weather for a city", inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `18C and sunny in ${city}` });
  for (const store of [true, false]) {
    it(`generateText's tool loop (store: ${store}), the signature back on the call`, async () => {
      const openai = createOpenAI({ baseURL: geminiStack.baseURL, apiKey: "sk-ai-sdk-client" });
      const before = gemini.requests.length;
      const refusedBefore = gemini.refusals.length;
      const result = await generateText({ model: openai.responses("gemini-3-pro-preview"), prompt: "Weather in Paris?", tools: { get_weather: weather }, stopWhen: stepCountIs(4), providerOptions: { openai: { store } } });
      expect(gemini.refusals.slice(refusedBefore)).toEqual([]);
      expect(result.text).toBe("The tool said: 18C and sunny in Paris");
      const step = gemini.requests.slice(before).find((r) => r.messages?.at(-1)?.role === "tool");
      expect(assistantsOf(step)[0]!.tool_calls![0]!.extra_content?.google?.thought_signature).toMatch(/^gemini-sig-/);
    });
  }
});

describe("fields Gemini refuses", () => {
  it("each is refused once per model and never sent to that model again (the upstream's requests counted)", () => {
    // After every run above: Codex sends prompt_cache_key on each request, the AI SDK and the Agents SDK their own fields.
    // The scripted Gemini refuses the first unknown field of a request; once refused, a field never reaches that model again.
    expect(gemini.refusals.length).toBeGreaterThan(0);
    for (const model of new Set(gemini.requests.map((r) => r.model))) {
      const refused = new Set<string>();
      for (const [i, body] of gemini.requests.filter((r) => r.model === model).entries()) {
        for (const field of refused) expect(field in body, `request ${i} to ${model} carries ${field}, refused before`).toBe(false);
        const first = UNKNOWN_TO_GOOGLE.find((f) => f in body);
        if (first) refused.add(first);
      }
    }
  });
});
