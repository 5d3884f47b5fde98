import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Recorded, recordingProxy } from "../support/recording-proxy.ts";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";
import { codexConfig, type CodexRun, runCodex } from "./codex.ts";

// An MCP server configured in Codex (`[mcp_servers.demo]`, a tiny stdio server: mcp-server.mjs) through the
// bridge. For models in Codex's built-in list (gpt-5.5: `supports_search_tool`) its tools are deferred behind
// Codex's client-executed `tool_search`; for a model Codex does not know, they are sent inline.
type ChatBody = { model?: string; tools?: Array<{ function: { name: string } }>; messages: Array<{ role: string; content?: unknown; tool_call_id?: string; tool_calls?: Array<{ id: string; function: { name: string; arguments: string } }> }> };

const SEARCHER = "scripted-search@mcp__demo__echo";
const INLINE = "scripted-tools@mcp__demo__echo";
const MCP = `
[mcp_servers.demo]
command = ${JSON.stringify(process.execPath)}
args = [${JSON.stringify(new URL("./mcp-server.mjs", import.meta.url).pathname)}]
default_tools_approval_mode = "approve"
`;

let stack: Stack;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
beforeAll(async () => {
  stack = await startStack({ MODEL_MAP: JSON.stringify({ "gpt-5.5": SEARCHER }) });
  proxy = await recordingProxy(stack.url);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.stop();
});

function explain(run: CodexRun, requests: Recorded[] = []): string {
  return `codex exit ${run.exitCode}\n${JSON.stringify(requests)}\n${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${stack.output()}`;
}

const sentBy = (model: string, from: number) => seen.requests.slice(from).map((r) => r.body as ChatBody).filter((b) => b.model === model);
const toolNames = (b: ChatBody) => (b.tools ?? []).map((t) => t.function.name);

/** The MCP call Codex made, and the answer the model wrote from its result. */
function expectEchoed(run: CodexRun, requests: Recorded[] = []): void {
  expect(run.exitCode, explain(run, requests)).toBe(0);
  expect(run.items.find((i) => i.type === "mcp_tool_call"), explain(run, requests)).toMatchObject({ status: "completed" });
  expect(run.items.at(-1)).toMatchObject({ type: "agent_message" });
  expect(run.items.at(-1)!.text).toContain("echo: Paris");
}

describe("codex exec with an MCP server, through the bridge", () => {
  for (const transport of ["http", "websocket"] as const) {
    const ws = transport === "websocket";
    it(`gpt-5.5 (tool search): finds the MCP tool with tool_search, then calls it (${transport})`, async () => {
      const from = seen.requests.length;
      const before = proxy.requests.length;
      const run = await runCodex({ config: codexConfig({ baseURL: `${proxy.url}/v1`, model: "gpt-5.5", extra: `${ws ? "supports_websockets = true" : ""}\n${MCP}` }), prompt: "Echo Paris with the demo tool" });
      await run.cleanup();
      const requests = proxy.requests.slice(before).filter((r) => /\/responses/.test(r.path));
      expectEchoed(run, requests);
      expect(requests.every((r) => (ws ? r.upgrade === "websocket" : r.upgrade === null)), explain(run, requests)).toBe(true);

      const [search, call, answer] = sentBy(SEARCHER, from);
      // Deferred: only tool_search is offered at first; after the search, the tool it loaded, by its namespace name.
      expect(toolNames(search!)).toContain("tool_search");
      expect(toolNames(search!)).not.toContain("mcp__demo__echo");
      expect(toolNames(call!)).toEqual(expect.arrayContaining(["tool_search", "mcp__demo__echo"]));
      const searched = call!.messages.at(-2)!.tool_calls![0]!;
      expect(searched.function).toEqual({ name: "tool_search", arguments: JSON.stringify({ query: "echo", limit: 8 }) });
      expect(call!.messages.at(-1)).toMatchObject({ role: "tool", tool_call_id: searched.id, content: expect.stringContaining("- mcp__demo__echo") });
      // The namespaced call went to Codex as `function_call` with `namespace` (it ran it), and is replayed by that name.
      expect(answer!.messages.at(-2)!.tool_calls![0]!.function.name).toBe("mcp__demo__echo");
      expect(answer!.messages.at(-1)).toMatchObject({ role: "tool", content: expect.stringContaining("echo: Paris") });
    });

    it(`a model without tool search: the MCP tool is offered inline and called (${transport})`, async () => {
      const from = seen.requests.length;
      const before = proxy.requests.length;
      const run = await runCodex({ config: codexConfig({ baseURL: `${proxy.url}/v1`, model: INLINE, extra: `${ws ? "supports_websockets = true" : ""}\n${MCP}` }), prompt: "Echo Paris with the demo tool" });
      await run.cleanup();
      const requests = proxy.requests.slice(before).filter((r) => /\/responses/.test(r.path));
      expectEchoed(run, requests);
      expect(requests.every((r) => (ws ? r.upgrade === "websocket" : r.upgrade === null)), explain(run, requests)).toBe(true);
      const [first] = sentBy(INLINE, from);
      expect(toolNames(first!)).toContain("mcp__demo__echo");
      expect(toolNames(first!)).not.toContain("tool_search");
    });
  }
});
