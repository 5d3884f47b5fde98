import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMPACTION_INSTRUCTIONS } from "../../src/server.ts";
import { type Recorded, recordingProxy } from "../support/recording-proxy.ts";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { type CodexRun, runCodex } from "./codex.ts";

// Codex with the built-in OpenAI provider pointed at the bridge (`openai_base_url`): it then compacts remotely
// (`remote_compaction_v2`), by a /v1/responses request whose input ends with {"type":"compaction_trigger"}, over the
// WebSocket (the built-in provider's default) or, when no WebSocket gets through, over HTTP. Each case: a tool round
// trip (every request checked for tool-call pairing on the expanded conversation), then, resumed with a tiny
// auto-compact limit, a pre-turn remote compaction of that history and the next turn from the compaction item; and
// a compaction in the middle of a turn, right after the tool call. The scripted model (`…tools-once…`) reads the
// summary as the tool having run, so it answers instead of calling its tool again (and compacting again).
let stack: Stack;
let ws: Awaited<ReturnType<typeof recordingProxy>>;
let http: Awaited<ReturnType<typeof recordingProxy>>;
beforeAll(async () => {
  stack = await startStack({ MODEL_MAP: JSON.stringify({ "gpt-5.5": "scripted-tools-once@exec_command" }) });
  ws = await recordingProxy(stack.url);
  http = await recordingProxy(stack.url, { refuseUpgrades: true });
});
afterAll(async () => {
  await ws?.close();
  await http?.close();
  await stack?.stop();
});

/** The whole config: no `model_provider`, so the built-in `openai` one, at the bridge. */
const config = (baseURL: string) => `model = "gpt-5.5"
openai_base_url = ${JSON.stringify(baseURL)}
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
`;
/** `codex exec` authenticates the built-in provider with CODEX_API_KEY; the bridge seals with the client's key (no BRIDGE_SECRET here). */
const ENV = { CODEX_API_KEY: "sk-codex-client" };

type Chat = { model: string; messages: Array<{ role: string; content: unknown; tool_calls?: unknown[] }> };
const chats = (from: number) => seen.requests.slice(from).map((r) => r.body as Chat);
const text = (content: unknown) => (typeof content === "string" ? content : JSON.stringify(content));

function explain(runs: CodexRun[], requests: Recorded[]): string {
  return `${runs.map((r) => `codex exit ${r.exitCode}\n${JSON.stringify(r.events, null, 1)}\n${r.stderr}`).join("\n")}\n${JSON.stringify(requests.map(({ body: _b, ...r }) => r))}\n${stack.output()}`;
}

/** A tool round trip, then the same session resumed: a remote compaction before its turn, and the turn. */
async function session(baseURL: string): Promise<{ first: CodexRun; second: CodexRun; before: number; between: number }> {
  const home = await mkdtemp(join(tmpdir(), "codex-home-"));
  const cwd = await mkdtemp(join(tmpdir(), "codex-work-"));
  try {
    const before = seen.requests.length;
    const first = await runCodex({ config: config(baseURL), prompt: "Run a command", home, cwd, env: ENV });
    const between = seen.requests.length;
    const second = await runCodex({ config: config(baseURL), prompt: "Say hello again", home, cwd, env: ENV, args: ["resume", "--last", "-c", "model_auto_compact_token_limit=10"] });
    return { first, second, before, between };
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(cwd, { recursive: true, force: true });
  }
}

function expectToolRoundTrip(run: CodexRun, why: string) {
  expect(run.exitCode, why).toBe(0);
  expect(run.items.find((i) => i.type === "command_execution"), why).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
  expect(run.items.at(-1)!.text, why).toMatch(/^The tool said: [\s\S]*bridged/);
}

/** What the upstream saw after the round trip: the summary request over the whole history, then the turn from the summary. */
function expectCompactedTurn(second: CodexRun, from: number, why: string) {
  expect(second.exitCode, why).toBe(0);
  expect(second.events.some((e) => /compact/i.test(e.message ?? e.error?.message ?? e.item?.message ?? "")), why).toBe(false);
  expect(second.items.at(-1), why).toMatchObject({ type: "agent_message", text: "Hello from the scripted upstream." });
  const [summary, turn, ...rest] = chats(from);
  expect(rest, why).toHaveLength(0);
  // The summary request: tool-free instructions, the conversation with its tool call and output paired, then the ask.
  // One system message (same-role messages are joined): the summarising prompt first, then Codex's own instructions.
  expect(summary!.messages[0]!.role, why).toBe("system");
  expect(text(summary!.messages[0]!.content).startsWith(`${COMPACTION_INSTRUCTIONS}\n\n`), why).toBe(true);
  const call = summary!.messages.findIndex((m) => m.tool_calls?.length);
  expect(call, why).toBeGreaterThan(0);
  expect(summary!.messages[call + 1]!.role).toBe("tool");
  expect(text(summary!.messages.at(-1)!.content)).toMatch(/summary/i);
  // The turn: Codex's kept user messages and the compaction item (opened into the summary), then the new prompt.
  expect(turn!.messages.some((m) => m.role === "tool" || m.tool_calls), why).toBe(false);
  expect(turn!.messages.some((m) => /(^|\n\n)Summary of the earlier part of this conversation[\s\S]*Hello from the scripted upstream\./.test(text(m.content))), why).toBe(true);
  expect(text(turn!.messages.at(-1)!.content).endsWith("\n\nSay hello again")).toBe(true);
}

/**
 * One run with a tiny auto-compact limit: the model's tool call fills the context, so Codex compacts in the middle
 * of the turn (the call and its output in the compaction request), then the turn goes on from the compaction item.
 */
async function midTurn(baseURL: string): Promise<{ run: CodexRun; before: number }> {
  const before = seen.requests.length;
  const run = await runCodex({ config: `${config(baseURL)}model_auto_compact_token_limit = 10\n`, prompt: "Run a command", env: ENV });
  await run.cleanup();
  return { run, before };
}

function expectMidTurn(run: CodexRun, from: number, why: string) {
  expect(run.exitCode, why).toBe(0);
  expect(run.items.find((i) => i.type === "command_execution"), why).toMatchObject({ status: "completed", aggregated_output: "bridged\n" });
  expect(run.items.at(-1), why).toMatchObject({ type: "agent_message", text: "Hello from the scripted upstream." });
  const [call, summary, after, ...rest] = chats(from);
  expect(rest, why).toHaveLength(0);
  // Codex's environment context and the task, joined into one user turn.
  expect(text(call!.messages.at(-1)!.content).endsWith("\n\nRun a command")).toBe(true);
  // One system message (same-role messages are joined): the summarising prompt first, then Codex's own instructions.
  expect(summary!.messages[0]!.role, why).toBe("system");
  expect(text(summary!.messages[0]!.content).startsWith(`${COMPACTION_INSTRUCTIONS}\n\n`), why).toBe(true);
  expect(summary!.messages.at(-2)!.role, why).toBe("tool");
  expect(after!.messages.some((m) => m.role === "tool" || m.tool_calls), why).toBe(false);
  expect(after!.messages.some((m) => /(^|\n\n)Summary of the earlier part of this conversation/.test(text(m.content))), why).toBe(true);
}

describe("codex exec with openai_base_url at the bridge: remote compaction", () => {
  it("mid-turn, over the WebSocket: after the tool call, a compaction on the socket, then the turn ends from its item", async () => {
    const { run, before } = await midTurn(`${ws.url}/v1`);
    expectMidTurn(run, before, explain([run], ws.requests));
  });

  it("mid-turn, over HTTP: the call's turn, the compaction (input ending with the trigger), the turn from the item", async () => {
    const mark = http.requests.length;
    const { run, before } = await midTurn(`${http.url}/v1`);
    expectMidTurn(run, before, explain([run], http.requests));
    const posts = http.requests.slice(mark).filter((r) => r.method === "POST").map((r) => JSON.parse(r.body!) as { input: Array<{ type?: string }> });
    expect(posts.map((p) => p.input.at(-1)!.type)).toEqual(["message", "compaction_trigger", "compaction"]);
  });

  it("over the WebSocket: the compaction request is a response.create on the socket, and the next turn continues from its item", async () => {
    const { first, second, between } = await session(`${ws.url}/v1`);
    const why = explain([first, second], ws.requests);
    expectToolRoundTrip(first, why);
    // Only WebSocket upgrades, all accepted: the round trip, the compaction and the turn ran on sockets.
    expect(ws.requests.length, why).toBeGreaterThan(0);
    expect(ws.requests.every((r) => r.upgrade === "websocket" && /^HTTP\/1\.1 101/.test(r.answer ?? "")), why).toBe(true);
    expectCompactedTurn(second, between, why);
  });

  it("over HTTP (no WebSocket gets through): a streamed POST ending with compaction_trigger, then the compaction item in the next input", async () => {
    const mark = http.requests.length;
    const { first, second, between } = await session(`${http.url}/v1`);
    const why = explain([first, second], http.requests);
    expectToolRoundTrip(first, why);
    expectCompactedTurn(second, between, why);
    const posts = http.requests.slice(mark).filter((r) => r.method === "POST" && r.path === "/v1/responses").map((r) => JSON.parse(r.body!) as { stream: boolean; input: Array<{ type?: string; encrypted_content?: string }> });
    // Round trip (2), compaction, turn.
    expect(posts, why).toHaveLength(4);
    const [compaction, turn] = posts.slice(2);
    expect(compaction!.stream).toBe(true);
    expect(compaction!.input.at(-1)).toEqual({ type: "compaction_trigger" });
    const items = turn!.input.filter((i) => i.type === "compaction");
    expect(items).toHaveLength(1);
    expect(items[0]!.encrypted_content).toMatch(/^rb1\./);
  });
});
