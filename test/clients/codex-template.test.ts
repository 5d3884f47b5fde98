import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Recorded, recordingProxy } from "../support/recording-proxy.ts";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { codexConfig, type CodexRun, runCodex } from "./codex.ts";

// Codex CLI through the bridge to an upstream whose chat template is strict (Qwen 3.5 / Mistral rules under vLLM:
// one system message, first; user and assistant alternating). Codex sends its instructions, a developer message
// (permissions), then two user messages (environment context, task): the bridge joins them, so the template takes
// every request as it comes, with no configuration. A template with no system role at all (llama.cpp's 500) is
// learned from its first refusal.
const STRICT = "scripted-tools-template@exec_command";
const NO_SYSTEM = "scripted-tools-template-nosystem@exec_command";
let stack: Stack;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
beforeAll(async () => {
  stack = await startStack();
  proxy = await recordingProxy(stack.url);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

type Sent = { model: string; messages: Array<{ role: string; content?: unknown; tool_calls?: unknown[] }> };

function explain(run: CodexRun, requests: Recorded[]): string {
  return `codex exit ${run.exitCode}\n${JSON.stringify(requests)}\n${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${stack.output()}`;
}

/** One Codex tool round trip; the role lists of what reached the upstream for `model`. */
async function roundTrip(model: string, websocket: boolean): Promise<string[][]> {
  const from = seen.requests.length;
  const before = proxy.requests.length;
  const run = await runCodex({ config: codexConfig({ baseURL: `${proxy.url}/v1`, model, extra: websocket ? "supports_websockets = true" : "" }), prompt: "Run a command" });
  await run.cleanup();
  const requests = proxy.requests.slice(before).filter((r) => /\/responses/.test(r.path));
  expect(run.exitCode, explain(run, requests)).toBe(0);
  expect(requests.every((r) => (websocket ? r.upgrade === "websocket" : r.upgrade === null)), explain(run, requests)).toBe(true);
  expect(run.items.find((i) => i.type === "command_execution"), explain(run, requests)).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
  expect(run.items.at(-1)!.text).toMatch(/^The tool said: [\s\S]*bridged/);
  return seen.requests
    .slice(from)
    .map((r) => r.body as Sent)
    .filter((b) => b.model === model)
    .map((b) => b.messages.map((m) => m.role));
}

describe("codex exec → bridge → a strict chat template", () => {
  for (const websocket of [false, true]) {
    it(`a tool round trip, every request accepted as first sent (${websocket ? "WebSocket" : "HTTP"})`, async () => {
      // The tool call's turn and the answer's: one system message, then alternating turns.
      expect(await roundTrip(STRICT, websocket)).toEqual([
        ["system", "user"],
        ["system", "user", "assistant", "tool"],
      ]);
    });
  }

  it("a template without a system role: refused once, then learned (HTTP, then the WebSocket)", async () => {
    const http = await roundTrip(NO_SYSTEM, false);
    // Codex's first request, refused (a system message), then each turn without one.
    expect(http).toEqual([
      ["system", "user"],
      ["user"],
      ["user", "assistant", "tool"],
    ]);
    expect(await roundTrip(NO_SYSTEM, true)).toEqual([["user"], ["user", "assistant", "tool"]]);
  });

  it("a session resumed on another model: Codex's model-switch developer message mid-conversation; the strict shape is learned from the 400", async () => {
    const home = await mkdtemp(join(tmpdir(), "codex-home-"));
    const cwd = await mkdtemp(join(tmpdir(), "codex-work-"));
    try {
      const config = codexConfig({ baseURL: `${proxy.url}/v1`, model: "scripted-template-first" });
      const first = await runCodex({ config, prompt: "Say hello", home, cwd });
      expect(first.exitCode, explain(first, [])).toBe(0);
      const from = seen.requests.length;
      const second = await runCodex({ config, prompt: "Say hello again", home, cwd, args: ["resume", "--last", "-m", "scripted-template-switched"] });
      expect(second.exitCode, explain(second, [])).toBe(0);
      expect(second.items.at(-1)).toMatchObject({ type: "agent_message", text: "Hello from the scripted upstream." });
      const sent = seen.requests.slice(from).map((r) => r.body as Sent).filter((b) => b.model === "scripted-template-switched");
      // Joined only: refused (a system message mid-way). Strict: the model-switch note heads the new user turn.
      expect(sent.map((b) => b.messages.map((m) => m.role))).toEqual([
        ["system", "user", "assistant", "system", "user"],
        ["system", "user", "assistant", "user"],
      ]);
      expect(sent[1]!.messages.at(-1)!.content).toMatch(/^<model_switch>[\s\S]*<\/model_switch>\n\nSay hello again$/);
    } finally {
      await rm(home, { recursive: true, force: true });
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
