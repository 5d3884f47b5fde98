import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXEC_JS, seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { codexConfig, type CodexRun, runCodex } from "./codex.ts";

// Codex CLI 0.169 on the gpt-5.6 / gpt-6 models (built-in metadata: `tool_mode: "code_mode_only"`) sends no
// top-level `tools`: its tools come as an `additional_tools` input item, `functions.exec` (freeform JavaScript
// that calls Codex's nested tools) among them, with `reasoning.context: "all_turns"`. MODEL_MAP routes the
// name to a scripted model that writes a script running a command into `exec`.
type ChatBody = { model?: string; tools?: Array<{ function: { name: string } }>; messages: Array<{ role: string; content?: unknown; tool_calls?: Array<{ function: { name: string; arguments: string } }> }> };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ MODEL_MAP: JSON.stringify({ "gpt-5.6-sol": "scripted-tools@exec", "gpt-6-luna": "scripted-tools@exec" }) });
});
afterAll(() => stack?.stop());

function explain(run: CodexRun): string {
  return `codex exit ${run.exitCode}\n${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${stack.output()}`;
}

describe("codex exec on gpt-5.6 and gpt-6 (tools in an additional_tools item) through the bridge", () => {
  it.each(["gpt-5.6-sol", "gpt-6-luna"])("%s runs a command through its code-mode exec tool and answers with its output", async (model) => {
    const from = seen.requests.length;
    const run = await runCodex({ config: codexConfig({ baseURL: stack.baseURL, model }), prompt: "Run echo bridged" });
    await run.cleanup();
    expect(run.exitCode, explain(run)).toBe(0);
    expect(run.items.find((i) => i.type === "command_execution"), explain(run)).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
    expect(run.items.at(-1)).toMatchObject({ type: "agent_message" });
    expect(run.items.at(-1)!.text).toMatch(/^The tool said: Script completed[\s\S]*bridged/);

    const [first, second] = seen.requests.slice(from).map((r) => r.body as ChatBody).filter((b) => b.model === "scripted-tools@exec");
    // What Codex declared in the item was offered upstream: `functions` tools by their own names, other namespaces flattened.
    const names = first!.tools!.map((t) => t.function.name);
    expect(names).toEqual(expect.arrayContaining(["exec", "wait", "collaboration__spawn_agent"]));
    // The call went back to Codex as its freeform `exec` (it ran the script), and is replayed the way it was offered.
    expect(second!.messages.at(-2)!.tool_calls).toEqual([expect.objectContaining({ function: { name: "exec", arguments: JSON.stringify({ input: EXEC_JS }) } })]);
    expect(second!.messages.at(-1)).toMatchObject({ role: "tool", content: expect.stringContaining("bridged") });
  });
});
