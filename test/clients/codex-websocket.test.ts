import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Recorded, recordingProxy } from "../support/recording-proxy.ts";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { codexConfig, type CodexRun, runCodex } from "./codex.ts";

// Codex CLI over the Responses WebSocket: codex exec → a recording proxy → wrangler dev → the scripted chat server.
let stack: Stack;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
beforeAll(async () => {
  // Codex prefers WebSockets for models whose built-in metadata says so (gpt-5.5); the Worker routes it to the scripted model.
  stack = await startStack({ MODEL_MAP: JSON.stringify({ "gpt-5.5": "scripted-tools@exec_command" }) });
  proxy = await recordingProxy(stack.url);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

function explain(run: CodexRun, requests: Recorded[]): string {
  return `codex exit ${run.exitCode}\n${JSON.stringify(requests)}\n${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${stack.output()}`;
}

describe("codex exec with supports_websockets = true", () => {
  it("completes a tool round trip over one WebSocket, with no fallback to HTTP", async () => {
    const before = seen.requests.length;
    const run = await runCodex({ config: codexConfig({ baseURL: `${proxy.url}/v1`, model: "gpt-5.5", extra: "supports_websockets = true" }), prompt: "Run a command" });
    await run.cleanup();
    const requests = proxy.requests.filter((r) => /\/responses/.test(r.path));
    expect(run.exitCode, explain(run, requests)).toBe(0);
    const command = run.items.find((i) => i.type === "command_execution");
    expect(command, explain(run, requests)).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
    expect(run.items.at(-1)!.text).toMatch(/^The tool said: [\s\S]*bridged/);
    // The Worker saw the upgrade, answered 101, and never a POST.
    expect(requests.length, explain(run, requests)).toBeGreaterThan(0);
    expect(requests.every((r) => r.method === "GET" && r.upgrade === "websocket"), explain(run, requests)).toBe(true);
    expect(requests[0]!.answer).toMatch(/^HTTP\/1\.1 101/);
    // The upstream saw the tool call's turn and the turn with its output.
    const chats = seen.requests.slice(before).map((r) => r.body as { messages: Array<{ role: string }> });
    expect(chats.length).toBeGreaterThanOrEqual(2);
    expect(chats.at(-1)!.messages.at(-1)!.role).toBe("tool");
  });
});
