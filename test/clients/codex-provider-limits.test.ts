import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Recorded, recordingProxy } from "../support/recording-proxy.ts";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { codexConfig, type CodexRun, runCodex } from "./codex.ts";
import { ANTHROPIC_THINKING_REQUIRED } from "../support/refusing-upstream.ts";

// Codex 0.171 against the limits of what it talks to (issue 25). A provider that refuses the
// `prompt_cache_key` Codex sends on every request (Google's 400, scripted): the Worker learns it and
// Codex's turns go through. And the WebSocket's message size limit: the Worker announces it in
// `x-codex-websocket-max-message-bytes` on the upgrade; Codex measures each `response.create` before
// sending it and sends a larger one over HTTP instead. A small limit (WS_MAX_MESSAGE_BYTES) makes
// Codex's first request, with its whole instructions and tool list, larger than it.
const LIMIT = 4096;
let stack: Stack;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
beforeAll(async () => {
  const models = { "gpt-5.5": "scripted-tools@exec_command", "gemini-3-flash": "scripted-refuse-google-codex@prompt_cache_key", "claude-via-openrouter": "scripted-error-openrouter" };
  stack = await startStack({ MODEL_MAP: JSON.stringify(models), WS_MAX_MESSAGE_BYTES: String(LIMIT) }, undefined, { WRANGLER_LOG: "log" });
  proxy = await recordingProxy(stack.url);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

function explain(run: CodexRun, requests: Recorded[]): string {
  return `codex exit ${run.exitCode}\n${JSON.stringify(requests.map(({ body: _b, ...r }) => r))}\n${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${stack.output()}`;
}

describe("codex exec against a provider that refuses prompt_cache_key", () => {
  it("the first request is refused and sent again without it; the next turn never carries it (the upstream's requests counted)", async () => {
    const before = seen.requests.length;
    const config = codexConfig({ baseURL: `${proxy.url}/v1`, model: "gemini-3-flash" });
    const first = await runCodex({ config, prompt: "Say hello" });
    await first.cleanup();
    const requests = proxy.requests.filter((r) => /\/responses/.test(r.path));
    expect(first.exitCode, explain(first, requests)).toBe(0);
    expect(first.items.at(-1)).toMatchObject({ type: "agent_message", text: "Hello from the scripted upstream." });
    const sent = () => seen.requests.slice(before).filter((r) => r.url.endsWith("/chat/completions")).map((r) => r.body as Record<string, unknown>);
    // Codex sent its prompt_cache_key; Google refused it once; the same request went again without it.
    expect(JSON.parse(requests.find((r) => r.method === "POST")!.body ?? "{}")).toHaveProperty("prompt_cache_key");
    expect(sent().map((b) => "prompt_cache_key" in b)).toEqual([true, false]);
    const second = await runCodex({ config, prompt: "Say hello again" });
    await second.cleanup();
    expect(second.exitCode, explain(second, requests)).toBe(0);
    expect(sent().map((b) => "prompt_cache_key" in b)).toEqual([true, false, false]);
  });
});

describe("codex exec against OpenRouter's error envelope", () => {
  it("Codex shows the provider's own words (Anthropic's, from metadata.raw), not 'Provider returned error'", async () => {
    const run = await runCodex({ config: codexConfig({ baseURL: `${proxy.url}/v1`, model: "claude-via-openrouter" }), prompt: "Say hello" });
    await run.cleanup();
    const said = JSON.stringify(run.events) + run.stderr;
    expect(run.exitCode, explain(run, proxy.requests)).not.toBe(0);
    // Its first sentence: "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`".
    expect(said, explain(run, proxy.requests)).toContain(ANTHROPIC_THINKING_REQUIRED.split(". ")[0]!);
    expect(said).not.toContain("Provider returned error");
  });
});

describe("codex exec over a WebSocket whose limit its requests exceed", () => {
  it("the upgrade carries the limit; Codex sends the turn over HTTP instead, and completes it", async () => {
    const before = seen.requests.length;
    const logged = stack.output().length;
    const asked = proxy.requests.length;
    const run = await runCodex({ config: codexConfig({ baseURL: `${proxy.url}/v1`, model: "gpt-5.5", extra: "supports_websockets = true" }), prompt: "Run a command" });
    await run.cleanup();
    const requests = proxy.requests.slice(asked).filter((r) => /\/responses/.test(r.path));
    expect(run.exitCode, explain(run, requests)).toBe(0);
    const upgrades = requests.filter((r) => r.upgrade === "websocket");
    expect(upgrades.length, explain(run, requests)).toBe(1);
    expect(upgrades[0]!.answer).toMatch(/^HTTP\/1\.1 101/);
    expect(upgrades[0]!.answerHeaders?.["x-codex-websocket-max-message-bytes"]).toBe(String(LIMIT));
    // The turn went over HTTP: its requests are POSTs, each larger than the limit.
    const posts = requests.filter((r) => r.method === "POST");
    expect(posts.length, explain(run, requests)).toBeGreaterThanOrEqual(2);
    expect(posts.every((p) => (p.body?.length ?? 0) > LIMIT), explain(run, requests)).toBe(true);
    // Nothing was sent on the socket (no error frame was needed, no retry): every response ran over HTTP (SSE).
    const lines = stack.output().slice(logged).split("\n").filter((l) => l.startsWith('{"event":"response"')).map((l) => JSON.parse(l) as { transport: string; status: string });
    expect(lines.length, explain(run, requests)).toBeGreaterThanOrEqual(2);
    expect(lines.every((l) => l.transport === "sse" && l.status === "completed"), explain(run, requests)).toBe(true);
    const command = run.items.find((i) => i.type === "command_execution");
    expect(command, explain(run, requests)).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
    expect(run.items.at(-1)!.text).toMatch(/^The tool said: [\s\S]*bridged/);
    const chats = seen.requests.slice(before).map((r) => r.body as { messages: Array<{ role: string }> });
    expect(chats.at(-1)!.messages.at(-1)!.role).toBe("tool");
  });
});
