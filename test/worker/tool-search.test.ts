import { describe, expect, it } from "vitest";
import { MemoryResponseStore } from "../../src/server.ts";
import { checkInvariants } from "../support/invariants.ts";
import { withEnv } from "./bridge.ts";

// Codex's client-executed tool search through the Worker, over SSE, with the conversation kept by the store
// (`previous_response_id`). The scripted model `scripted-search@NAME` calls `tool_search` until a tool called
// NAME is offered, then calls it.
const TOOL_SEARCH = { type: "tool_search", execution: "client", description: "Searches deferred tools.", parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } };
const ECHO = { type: "function", name: "echo", description: "Echo the text.", defer_loading: true, parameters: { type: "object", properties: { text: { type: "string" } }, required: ["text"] } };

type Item = { type: string; call_id?: string; [k: string]: unknown };

describe("tool_search through the Worker", () => {
  it("the search call streams as a tool_search_call; its output (after previous_response_id) makes the found tool callable, and its call comes back namespaced", async () => {
    const store = new MemoryResponseStore();
    const sent: Array<{ tools?: Array<{ function: { name: string } }>; messages: Array<{ role: string; content?: unknown; tool_calls?: Array<{ id: string; function: { name: string } }> }> }> = [];
    const call = withEnv({}, async (input, init) => {
      sent.push(JSON.parse(String(init?.body)));
      return fetch(input, init);
    }, { storeFor: () => store });
    const turn = async (body: Record<string, unknown>) => {
      const res = await call("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-search@mcp__demo__echo", tools: [TOOL_SEARCH], stream: true, ...body }) });
      expect(res.status).toBe(200);
      return checkInvariants(await res.text());
    };

    const first = await turn({ input: "Echo Paris" });
    const search = first.output[0] as unknown as Item;
    expect(first.output).toHaveLength(1);
    expect(search).toMatchObject({ type: "tool_search_call", execution: "client", status: "completed", arguments: { query: "echo", limit: 8 } });
    expect(search.id).toMatch(/^tsc_/);
    expect(sent[0]!.tools!.map((t) => t.function.name)).toEqual(["tool_search"]);

    const found = { type: "tool_search_output", call_id: search.call_id, status: "completed", execution: "client", tools: [{ type: "namespace", name: "mcp__demo", description: "Demo.", tools: [ECHO] }] };
    const second = await turn({ previous_response_id: first.id, input: [found] });
    expect(second.output[0]).toMatchObject({ type: "function_call", namespace: "mcp__demo", name: "echo", arguments: '{"text":"Paris"}' });
    // The stored call and the output given now: a tool call and its result, and the tool it loaded offered.
    expect(sent[1]!.tools!.map((t) => t.function.name)).toEqual(["tool_search", "mcp__demo__echo"]);
    expect(sent[1]!.messages.slice(-2)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: search.call_id, type: "function", function: { name: "tool_search", arguments: '{"query":"echo","limit":8}' } }] },
      { role: "tool", tool_call_id: search.call_id, content: "Tools found, now available to call:\n- mcp__demo__echo: Echo the text." },
    ]);

    // Non-streaming too, from the whole history as Codex sends it over HTTP (store: false).
    const res = await call("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-search@mcp__demo__echo", tools: [TOOL_SEARCH], store: false, input: [{ role: "user", content: "Echo Paris" }, search, found] }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { output: Item[] }).output[0]).toMatchObject({ type: "function_call", namespace: "mcp__demo", name: "echo" });
  });
});
