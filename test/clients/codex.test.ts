import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack, startTogether } from "../support/stack.ts";
import { CODEX_0169, codexConfig, type CodexRun, runCodex } from "./codex.ts";

// Codex CLI (`codex exec`, the real binary from npm) → wrangler dev → the scripted chat server.
// Codex treats gpt-5.5 as what it is (built-in metadata: a reasoning model with the freeform apply_patch
// tool); each Worker routes that name to a scripted model with MODEL_MAP. (gpt-5.6-* models send their
// tools as an `additional_tools` input item instead: codex-code-mode.test.ts.)
let stack: Stack;
let reasoner: Stack;
beforeAll(async () => {
  [stack, reasoner] = await startTogether(
    startStack({ MODEL_MAP: JSON.stringify({ "gpt-5.5": "scripted-tools@apply_patch" }) }),
    startStack({ MODEL_MAP: JSON.stringify({ "gpt-5.5": "scripted-reasoning" }) }),
    (s) => s.stop(),
  );
});
afterAll(() => Promise.all([stack?.stop(), reasoner?.stop()]));

function explain(run: CodexRun, on: Stack = stack): string {
  return `codex exit ${run.exitCode}\n${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${on.output()}`;
}

describe("codex exec through the bridge", () => {
  it("runs a command the model asked for and answers with its output", async () => {
    const run = await runCodex({ config: codexConfig({ baseURL: stack.baseURL, model: "scripted-tools@exec_command" }), prompt: "Run a command" });
    await run.cleanup();
    expect(run.exitCode, explain(run)).toBe(0);
    const command = run.items.find((i) => i.type === "command_execution");
    expect(command, explain(run)).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
    expect(run.items.at(-1)).toMatchObject({ type: "agent_message" });
    expect(run.items.at(-1)!.text).toMatch(/^The tool said: [\s\S]*bridged/);
    expect(run.events.at(-1)).toMatchObject({ type: "turn.completed", usage: { input_tokens: 22, output_tokens: 14 } });
  });

  it("shows a reasoning model's reasoning, then its answer", async () => {
    const run = await runCodex({ config: codexConfig({ baseURL: reasoner.baseURL, model: "gpt-5.5", top: 'model_reasoning_effort = "high"' }), prompt: "Say hello" });
    await run.cleanup();
    expect(run.exitCode, explain(run, reasoner)).toBe(0);
    // Codex asked for reasoning, and the upstream was asked for it in its own terms.
    const sent = seen.requests.findLast((r) => (r.body as { model?: string }).model === "scripted-reasoning")!.body as { reasoning_effort?: string };
    expect(sent.reasoning_effort).toBe("high");
    expect(run.items.map((i) => i.type), explain(run, reasoner)).toEqual(["reasoning", "agent_message"]);
    expect(run.items.find((i) => i.type === "reasoning")!.text).toContain("The user wants a greeting. Keep it short.");
    expect(run.items.at(-1)!.text).toBe("Hello from the scripted upstream.");
  });

  it("creates a file with its freeform apply_patch tool (gpt-5.5 routed by MODEL_MAP)", async () => {
    const run = await runCodex({ config: codexConfig({ baseURL: stack.baseURL, model: "gpt-5.5" }), prompt: "Create bridged.txt" });
    try {
      expect(run.exitCode, explain(run)).toBe(0);
      // What Codex offered: apply_patch as a custom (freeform) tool, sent upstream as its function stand-in.
      const offered = seen.requests.findLast((r) => (r.body as { model?: string }).model === "scripted-tools@apply_patch")!.body as { tools: Array<{ function: { name: string } }> };
      expect(offered.tools.map((t) => t.function.name)).toContain("apply_patch");
      expect(run.items.find((i) => i.type === "file_change"), explain(run)).toMatchObject({ status: "completed", changes: [{ kind: "add" }] });
      expect(await readFile(join(run.cwd, "bridged.txt"), "utf8")).toBe("written through the bridge\n");
    } finally {
      await run.cleanup();
    }
  });

  it("Codex 0.169 (the release before, installed beside 0.171): the same tool round trip", async () => {
    expect(execFileSync(CODEX_0169, ["--version"], { encoding: "utf8" })).toContain("0.169.0");
    const before = seen.requests.length;
    const run = await runCodex({ bin: CODEX_0169, config: codexConfig({ baseURL: stack.baseURL, model: "scripted-tools@exec_command" }), prompt: "Run a command" });
    await run.cleanup();
    expect(run.exitCode, explain(run)).toBe(0);
    const command = run.items.find((i) => i.type === "command_execution");
    expect(command, explain(run)).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
    expect(run.items.at(-1)!.text).toMatch(/^The tool said: [\s\S]*bridged/);
    // Two upstream requests: the call, then the answer from its output (sent back as a `tool` message).
    const sent = seen.requests.slice(before).map((r) => r.body as { messages: Array<{ role: string; tool_call_id?: string }> });
    expect(sent).toHaveLength(2);
    expect(sent[1]!.messages.at(-1)).toMatchObject({ role: "tool" });
  });
});
