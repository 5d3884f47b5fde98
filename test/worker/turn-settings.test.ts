import { beforeEach, describe, expect, it } from "vitest";
import { events, post, resetSeen, seen } from "./bridge.ts";
import { connectWs, type Frame } from "./ws-client.ts";

// What the AI SDK 7 sends (configuration_update, allowed_tools, prompt_cache_options) through the
// Worker as deployed, over HTTP and the WebSocket: what reaches the upstream, and the 400s.
type Chat = { reasoning_effort?: string; response_format?: unknown; tool_choice?: unknown; tools?: Array<{ function: { name: string } }>; parallel_tool_calls?: boolean };
const chat = async () => (await seen()).requests.map((r) => r.body as Chat);
const terminal = (frames: Frame[]) => frames.at(-1)!;

const tools = ["get_weather", "get_time"].map((name) => ({ type: "function", name, parameters: { type: "object", properties: { city: { type: "string" } } } }));
const allowed = { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "get_time" }] };

beforeEach(resetSeen);

describe("over HTTP", () => {
  it("the upstream gets the updated effort and only the allowed tool; the model's call of it streams back", async () => {
    const res = await post("/v1/responses", {
      model: "scripted-tools",
      stream: true,
      store: false,
      reasoning: { effort: "low", summary: "detailed" },
      tools,
      tool_choice: allowed,
      prompt_cache_options: { mode: "explicit", ttl: "12h" },
      input: [{ role: "user", content: "Hi" }, { type: "configuration_update", reasoning: { effort: "high" } }, { role: "user", content: "Time in Paris?" }],
    });
    expect(res.status).toBe(200);
    const done = events(await res.text()).find((e) => e.type === "response.output_item.done") as { item: { type: string; name: string } } | undefined;
    expect(done?.item).toMatchObject({ type: "function_call", name: "get_time" });
    const [up] = await chat();
    expect(up).toMatchObject({ reasoning_effort: "high", tool_choice: "required" });
    expect(up!.tools!.map((t) => t.function.name)).toEqual(["get_time"]);
    expect(up).not.toHaveProperty("prompt_cache_options");
  });

  it("what Chat Completions cannot express is a 400 in OpenAI's shape, and nothing reaches the upstream", async () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ tools, tool_choice: { type: "allowed_tools", mode: "auto", tools: [{ type: "function", name: "nope" }] } }, "tool_choice.tools[0]", "invalid_value"],
      [{ tools: [{ type: "web_search" }], tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "web_search" }] } }, "tool_choice.tools", "unsupported_tool"],
      [{ prompt_cache_options: { prewarm: true } }, "prompt_cache_options.prewarm", "unsupported_parameter"],
      [{ input: [{ type: "configuration_update", reasoning: { summary: "auto" } }] }, "input[0].reasoning.summary", "unknown_parameter"],
    ];
    for (const [fields, param, code] of cases) {
      const res = await post("/v1/responses", { model: "scripted-tools", input: "x", store: false, ...fields });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(body).toEqual({ error: { message: expect.any(String), type: "invalid_request_error", param, code, request_id: expect.any(String) } });
    }
    expect((await seen()).requests).toHaveLength(0);
  });
});

describe("over the WebSocket", () => {
  it("an update in one turn holds on the next, continued by previous_response_id from the connection's memory (store: false)", async () => {
    const client = await connectWs();
    client.create({ model: "scripted-text", store: false, reasoning: { effort: "low" }, input: [{ type: "configuration_update", reasoning: { effort: "high" }, text: { format: { type: "json_object" } } }, { role: "user", content: "one" }] });
    const first = terminal(await client.turn());
    expect(first.type).toBe("response.completed");
    client.create({ model: "scripted-text", store: false, reasoning: { effort: "low" }, previous_response_id: first.response!.id, input: "two" });
    expect(terminal(await client.turn()).type).toBe("response.completed");
    expect((await chat()).map((b) => [b.reasoning_effort, b.response_format])).toEqual([
      ["high", { type: "json_object" }],
      ["high", { type: "json_object" }],
    ]);
    client.ws.close();
  });

  it("a bad allowed_tools is an error frame with the 400, and the socket serves the next request", async () => {
    const client = await connectWs();
    client.create({ model: "scripted-tools", store: false, input: "x", tools, tool_choice: { type: "allowed_tools", mode: "auto", tools: [] } });
    expect(terminal(await client.turn())).toMatchObject({ type: "error", status: 400, error: { type: "invalid_request_error", code: "empty_array", param: "tool_choice.tools" } });
    client.create({ model: "scripted-tools", store: false, input: "x", tools, tool_choice: allowed });
    expect(terminal(await client.turn()).type).toBe("response.completed");
    expect((await chat()).map((b) => b.tools!.map((t) => t.function.name))).toEqual([["get_time"]]);
    client.ws.close();
  });
});
