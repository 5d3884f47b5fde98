import { beforeEach, describe, expect, it } from "vitest";
import { post, resetSeen, seen } from "./bridge.ts";
import { connectWs } from "./ws-client.ts";

// Tool-call pairing as OpenAI checks it, on the conversation after previous_response_id and item_reference are expanded.

const WEATHER_TOOL = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };
const openai = (message: string) => ({ error: { message, type: "invalid_request_error", param: "input", code: null, request_id: expect.stringMatching(/^req_/) } });

beforeEach(resetSeen);

/** A stored response that ended with a function call (`call_scripted_0`). */
async function toolCallTurn(): Promise<{ id: string; output: Array<{ type: string; id: string; call_id?: string }> }> {
  const res = await post("/v1/responses", { model: "scripted-tools", input: "Weather in Paris?", tools: [WEATHER_TOOL] });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { id: string; output: Array<{ type: string; id: string; call_id?: string }> };
  expect(body.output.at(-1)).toMatchObject({ type: "function_call", call_id: "call_scripted_0" });
  await resetSeen();
  return body;
}

async function expect400(body: unknown, message: string) {
  const res = await post("/v1/responses", body);
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual(openai(message));
  expect((await seen()).requests).toHaveLength(0);
}

describe("tool-call pairing over HTTP (before any upstream call)", () => {
  it("an output whose call_id matches no call", async () => {
    await expect400({ model: "scripted-text", input: [{ role: "user", content: "hi" }, { type: "function_call_output", call_id: "call_nope", output: "x" }] }, "No tool call found for function call output with call_id call_nope.");
  });

  it("an output for another call than the stored chain's", async () => {
    const first = await toolCallTurn();
    await expect400({ model: "scripted-text", previous_response_id: first.id, input: [{ type: "function_call_output", call_id: "call_other", output: "x" }] }, "No tool call found for function call output with call_id call_other.");
  });

  it("the stored chain's call left without output when the conversation moves on", async () => {
    const first = await toolCallTurn();
    await expect400({ model: "scripted-text", previous_response_id: first.id, input: "Never mind." }, "No tool output found for function call call_scripted_0.");
  });

  it("a custom tool output without its call", async () => {
    await expect400({ model: "scripted-text", input: [{ role: "user", content: "hi" }, { type: "custom_tool_call_output", call_id: "call_p", output: "Done" }] }, "No tool call found for custom tool call output with call_id call_p.");
  });

  it("the output answering the chain's call, and a call fetched by item_reference, pass", async () => {
    const first = await toolCallTurn();
    const ok = await post("/v1/responses", { model: "scripted-text", previous_response_id: first.id, input: [{ type: "function_call_output", call_id: "call_scripted_0", output: "18°C" }] });
    expect(ok.status).toBe(200);
    const call = first.output.at(-1)!;
    const referenced = await post("/v1/responses", { model: "scripted-text", input: [{ role: "user", content: "Weather in Paris?" }, { type: "item_reference", id: call.id }, { type: "function_call_output", call_id: "call_scripted_0", output: "18°C" }] });
    expect(referenced.status).toBe(200);
    const messages = (await seen()).requests.at(-1)!.body.messages as Array<{ role: string }>;
    expect(messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
  });
});

describe("tool-call pairing on the WebSocket (the Open Responses compliance suite's eviction case)", () => {
  it("a continuation with an unknown call_id fails, and forgets the response it continued: a retry gets previous_response_not_found", async () => {
    const client = await connectWs();
    client.create({ model: "scripted-tools", store: false, input: "Weather in Paris?", tools: [WEATHER_TOOL] });
    const first = await client.turn();
    const response = first.at(-1)!.response!;
    expect(response.status).toBe("completed");
    expect(response.output.at(-1)).toMatchObject({ type: "function_call", call_id: "call_scripted_0" });

    client.create({ model: "scripted-tools", store: false, previous_response_id: response.id, input: [{ type: "function_call_output", call_id: "call_unknown", output: "18°C" }], tools: [WEATHER_TOOL] });
    expect(await client.turn()).toEqual([
      { type: "error", status: 400, error: { type: "invalid_request_error", code: "invalid_request_error", message: "No tool call found for function call output with call_id call_unknown.", param: "input", request_id: expect.stringMatching(/^req_/) }, request_id: expect.stringMatching(/^req_/) },
    ]);

    // The same continuation, now right: the response it names was evicted with the failure.
    client.create({ model: "scripted-tools", store: false, previous_response_id: response.id, input: [{ type: "function_call_output", call_id: "call_scripted_0", output: "18°C" }], tools: [WEATHER_TOOL] });
    expect(await client.turn()).toMatchObject([{ type: "error", status: 400, error: { code: "previous_response_not_found", param: "previous_response_id" } }]);
    // Only the first turn reached the upstream.
    expect((await seen()).requests).toHaveLength(1);
    client.ws.close();
  });
});
