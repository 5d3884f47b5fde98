import { describe, expect, it } from "vitest";
import type { ToolRouting } from "../../../src/index.ts";
import { convert, sse, testOptions } from "../../support/helpers.ts";

const tools: ToolRouting = new Map([
  ["tool_search", { kind: "tool_search" as const, name: "tool_search" }],
  ["mcp__demo__echo", { kind: "function" as const, name: "echo", namespace: "mcp__demo" }],
]);

function call(name: string, args: string[], id = "call_s") {
  return [
    { choices: [{ index: 0, delta: { role: "assistant", content: null, tool_calls: [{ index: 0, id, type: "function", function: { name, arguments: "" } }] } }] },
    ...args.map((a) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: a } }] } }] })),
    { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
  ];
}

describe("a call of the tool_search function streams back as a tool_search_call item", () => {
  it("added in progress, done with its arguments as an object; no argument deltas", async () => {
    const r = await convert(sse(call("tool_search", ['{"query":', '"echo",', '"limit":8}'])), testOptions({ tools }));
    expect(r.types).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.output_item.done", "response.completed"]);
    expect(r.events[2]).toMatchObject({ item: { id: "tsc_2", type: "tool_search_call", call_id: "call_s", execution: "client", arguments: {}, status: "in_progress" } });
    const item = { id: "tsc_2", type: "tool_search_call", call_id: "call_s", execution: "client", arguments: { query: "echo", limit: 8 }, status: "completed" };
    expect(r.events[3]).toMatchObject({ output_index: 0, item });
    expect(r.final.output).toEqual([item]);
  });

  it("arguments that are no JSON object become the query", async () => {
    const r = await convert(sse(call("tool_search", ["echo tools"])), testOptions({ tools }));
    expect(r.final.output[0]).toMatchObject({ type: "tool_search_call", arguments: { query: "echo tools" } });
  });

  it("a call of a tool the search loaded is a function_call with its namespace", async () => {
    const r = await convert(sse(call("mcp__demo__echo", ['{"text":"hi"}'], "call_e")), testOptions({ tools }));
    expect(r.final.output[0]).toEqual({ id: "fc_2", type: "function_call", call_id: "call_e", name: "echo", namespace: "mcp__demo", arguments: '{"text":"hi"}', status: "completed" });
  });

  it("a search call cut short closes incomplete with what arrived", async () => {
    const chunks = call("tool_search", ['{"query":"ec']).slice(0, -1);
    const r = await convert(sse(chunks, { done: false }), testOptions({ tools }));
    expect(r.final.status).toBe("failed");
    expect(r.final.output[0]).toMatchObject({ type: "tool_search_call", status: "incomplete", arguments: { query: '{"query":"ec' } });
  });
});
