import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { codexConfig, type CodexRun, runCodex } from "./codex.ts";

// Codex CLI through the bridge to an upstream whose chat template is strict (Qwen 3.5 / Mistral rules under vLLM:
// one system message, first; user and assistant alternating). Codex sends its instructions, a developer message
// (permissions), then two user messages (environment context, task): the bridge joins them, so the template takes
// every request as it comes, with no configuration.
const MODEL = "scripted-tools-template@exec_command";
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ MODEL_MAP: JSON.stringify({ "gpt-5.5": MODEL }) });
});
afterAll(() => stack?.stop());

type Sent = { model: string; messages: Array<{ role: string; tool_calls?: unknown[] }> };

function explain(run: CodexRun): string {
  return `codex exit ${run.exitCode}\n${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${stack.output()}`;
}

describe("codex exec → bridge → a strict chat template", () => {
  for (const [model, extra] of [
    [MODEL, ""],
    ["gpt-5.5", "supports_websockets = true"],
  ] as const) {
    it(`runs a command and answers with its output (${model}${extra ? ", WebSocket" : ""})`, async () => {
      const from = seen.requests.length;
      const run = await runCodex({ config: codexConfig({ baseURL: stack.baseURL, model, extra }), prompt: "Run a command" });
      await run.cleanup();
      expect(run.exitCode, explain(run)).toBe(0);
      expect(run.items.find((i) => i.type === "command_execution"), explain(run)).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
      expect(run.items.at(-1)!.text).toMatch(/^The tool said: [\s\S]*bridged/);
      // The tool call's turn and the answer's, each accepted the first time: one system message, then alternating turns.
      const sent = seen.requests.slice(from).map((r) => r.body as Sent).filter((b) => b.model === MODEL);
      expect(sent.map((b) => b.messages.map((m) => m.role))).toEqual([
        ["system", "user"],
        ["system", "user", "assistant", "tool"],
      ]);
    });
  }
});
