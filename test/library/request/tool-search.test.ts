import { describe, expect, it } from "vitest";
import { type ResponsesRequest, toChatRequest } from "../../../src/index.ts";

// Codex (models with `supports_search_tool`, e.g. gpt-5.5) hides MCP tools behind a client-executed
// `tool_search`; shapes from codex-rs (`ToolSpec::ToolSearch`, `ResponseItem::ToolSearchCall/Output`).
const TOOL_SEARCH = {
  type: "tool_search",
  execution: "client",
  description: "# Tool discovery\nSearches over deferred tool metadata with BM25 and exposes matching tools for the next model call.",
  parameters: {
    type: "object",
    properties: { query: { type: "string", description: "Search query for deferred tools." }, limit: { type: "number", description: "Maximum number of tools to return. Defaults to 8." } },
    required: ["query"],
    additionalProperties: false,
  },
};
const EXEC = { type: "function", name: "exec_command", parameters: { type: "object", properties: { cmd: { type: "string" } }, required: ["cmd"] } };
const ECHO = { type: "function", name: "echo", description: "Echo the text back.\nMore lines.", strict: false, defer_loading: true, parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } };
const SEARCH_CALL = { type: "tool_search_call", call_id: "ts_1", execution: "client", status: "completed", arguments: { query: "echo", limit: 8 } };
const SEARCH_OUTPUT = { type: "tool_search_output", call_id: "ts_1", status: "completed", execution: "client", tools: [{ type: "namespace", name: "mcp__demo", description: "A demo server.", tools: [ECHO] }] };

function request(input: unknown[]): ResponsesRequest {
  return { model: "m", tools: [EXEC, TOOL_SEARCH], input: [{ role: "developer", content: "<tools>\nDeferred tool namespaces:\n- mcp__demo\n</tools>" }, { role: "user", content: "Echo hi" }, ...input] } as ResponsesRequest;
}

describe("tool_search (client-executed): offered upstream as a function", () => {
  it("becomes a `tool_search` function with Codex's description and parameters, routed back as a tool search", () => {
    const t = toChatRequest(request([]));
    expect(t.dropped).toEqual([]);
    expect(t.request.tools!.map((x) => x.function.name)).toEqual(["exec_command", "tool_search"]);
    expect(t.request.tools![1]).toEqual({ type: "function", function: { name: "tool_search", description: TOOL_SEARCH.description, parameters: TOOL_SEARCH.parameters } });
    expect(t.tools.get("tool_search")).toEqual({ kind: "tool_search", name: "tool_search" });
  });

  it("a server-executed tool_search is a hosted tool: dropped and reported (or rejected)", () => {
    const hosted = { model: "m", input: "hi", tools: [{ type: "tool_search" }] } as ResponsesRequest;
    expect(toChatRequest(hosted).dropped).toEqual(["tool_search"]);
    expect(() => toChatRequest(hosted, { hostedTools: "reject" })).toThrow(/tool_search/);
  });
});

describe("tool_search history: a call and its result; the tools it loaded are offered", () => {
  it("call → assistant tool call; output → tool message naming the loaded tools, which join the tools offered under their namespace names", () => {
    const t = toChatRequest(request([SEARCH_CALL, SEARCH_OUTPUT]));
    expect(t.request.messages.slice(2)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: "ts_1", type: "function", function: { name: "tool_search", arguments: '{"query":"echo","limit":8}' } }] },
      { role: "tool", tool_call_id: "ts_1", content: "Tools found, now available to call:\n- mcp__demo__echo: Echo the text back." },
    ]);
    expect(t.request.tools!.map((x) => x.function.name)).toEqual(["exec_command", "tool_search", "mcp__demo__echo"]);
    expect(t.request.tools![2]).toEqual({ type: "function", function: { name: "mcp__demo__echo", description: ECHO.description, parameters: ECHO.parameters, strict: false } });
    // The model's later call comes back as `function_call` with `namespace`.
    expect(t.tools.get("mcp__demo__echo")).toEqual({ kind: "function", name: "echo", namespace: "mcp__demo" });
  });

  it("the namespaced call and its output that follow go back under the same upstream name", () => {
    const t = toChatRequest(
      request([
        SEARCH_CALL,
        SEARCH_OUTPUT,
        { type: "function_call", call_id: "c2", namespace: "mcp__demo", name: "echo", arguments: '{"text":"hi"}' },
        { type: "function_call_output", call_id: "c2", output: "hi" },
      ]),
    );
    expect(t.request.messages.slice(4)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: "c2", type: "function", function: { name: "mcp__demo__echo", arguments: '{"text":"hi"}' } }] },
      { role: "tool", tool_call_id: "c2", content: "hi" },
    ]);
  });

  it("a search call after the model's words joins its assistant message; a search that found nothing says so", () => {
    const t = toChatRequest(request([{ type: "message", role: "assistant", content: [{ type: "output_text", text: "Looking." }] }, SEARCH_CALL, { ...SEARCH_OUTPUT, tools: [] }]));
    expect(t.request.messages.slice(2)).toEqual([
      { role: "assistant", content: "Looking.", tool_calls: [{ id: "ts_1", type: "function", function: { name: "tool_search", arguments: '{"query":"echo","limit":8}' } }] },
      { role: "tool", tool_call_id: "ts_1", content: "No tools matched the search." },
    ]);
    expect(t.request.tools!.map((x) => x.function.name)).toEqual(["exec_command", "tool_search"]);
  });

  it("loaded top-level functions keep their names; a server-executed output (no call id) only adds its tools", () => {
    const t = toChatRequest(request([{ type: "tool_search_output", call_id: null, execution: "server", status: "completed", tools: [{ ...ECHO, name: "lookup" }] }]));
    expect(t.request.messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(t.request.tools!.map((x) => x.function.name)).toEqual(["exec_command", "tool_search", "lookup"]);
  });

  it("a search call without any id is a 400 naming the field", () => {
    expect(() => toChatRequest(request([{ type: "tool_search_call", arguments: {} }]))).toThrow(/input\[2\]\.call_id/);
  });
});
