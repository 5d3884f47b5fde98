import { describe, expect, it } from "vitest";
import { checkToolPairing, ResponsesError } from "../../../src/index.ts";
import { codexRequest, agentsSdkRequest } from "../../fixtures/requests.ts";

const user = (text: string) => ({ role: "user", content: text });
const assistant = (text: string) => ({ type: "message", role: "assistant", content: [{ type: "output_text", text }] });
const call = (id: string) => ({ type: "function_call", call_id: id, name: "get_weather", arguments: "{}" });
const output = (id: string) => ({ type: "function_call_output", call_id: id, output: "18°C" });
const customCall = (id: string) => ({ type: "custom_tool_call", call_id: id, name: "apply_patch", input: "*** Begin Patch" });
const customOutput = (id: string) => ({ type: "custom_tool_call_output", call_id: id, output: "Done" });

/** The 400 `checkToolPairing` throws for `items`, as the client gets it. */
function rejection(items: unknown[]): unknown {
  try {
    checkToolPairing(items);
  } catch (e) {
    expect(e).toBeInstanceOf(ResponsesError);
    expect((e as ResponsesError).status).toBe(400);
    return (e as ResponsesError).toJSON();
  }
  throw new Error("accepted");
}

const openai = (message: string) => ({ error: { message, type: "invalid_request_error", param: "input", code: null } });

describe("checkToolPairing: an output needs its call", () => {
  it("an output whose call_id matches no call: OpenAI's words, param input, code null", () => {
    expect(rejection([user("hi"), output("call_x")])).toEqual(openai("No tool call found for function call output with call_id call_x."));
  });

  it("a custom tool output whose call_id matches no call", () => {
    expect(rejection([user("hi"), customOutput("call_c")])).toEqual(openai("No tool call found for custom tool call output with call_id call_c."));
  });

  it("the call must come before its output, not after", () => {
    expect(rejection([user("hi"), output("call_1"), call("call_1")])).toEqual(openai("No tool call found for function call output with call_id call_1."));
  });

  it("the output of one call does not answer another id", () => {
    expect(rejection([user("hi"), call("call_1"), output("call_2")])).toEqual(openai("No tool call found for function call output with call_id call_2."));
  });
});

describe("checkToolPairing: a call needs its output before the conversation moves on", () => {
  it("a user message after a call without output", () => {
    expect(rejection([user("hi"), call("call_1"), user("never mind")])).toEqual(openai("No tool output found for function call call_1."));
  });

  it("a developer or system message between a call and its output is an instruction, not a turn: allowed", () => {
    for (const role of ["developer", "system"]) expect(() => checkToolPairing([user("hi"), call("call_1"), { role, content: "Approved." }, output("call_1")])).not.toThrow();
  });

  it("an assistant message between a call and its output", () => {
    expect(rejection([user("hi"), call("call_1"), assistant("Checking."), output("call_1")])).toEqual(openai("No tool output found for function call call_1."));
  });

  it("the input ends with a call the model would answer without its output", () => {
    expect(rejection([user("hi"), call("call_1")])).toEqual(openai("No tool output found for function call call_1."));
  });

  it("custom tool calls likewise, in their own words", () => {
    expect(rejection([user("hi"), customCall("call_p"), user("go on")])).toEqual(openai("No tool output found for custom tool call call_p."));
  });

  it("of parallel calls, the first one left unanswered is named", () => {
    expect(rejection([user("hi"), call("call_1"), call("call_2"), call("call_3"), output("call_1"), user("next")])).toEqual(openai("No tool output found for function call call_2."));
  });
});

describe("checkToolPairing: what is accepted", () => {
  it("a plain conversation, an empty one, and a string-content message", () => {
    for (const items of [[], [user("hi")], [user("hi"), assistant("hello"), user("bye")]]) expect(() => checkToolPairing(items)).not.toThrow();
  });

  it("parallel calls answered in any order, reasoning and further calls between a call and its output", () => {
    const items = [user("hi"), { type: "reasoning", summary: [] }, call("call_1"), customCall("call_2"), { type: "reasoning", summary: [] }, call("call_3"), output("call_3"), customOutput("call_2"), output("call_1"), assistant("done"), user("thanks")];
    expect(() => checkToolPairing(items)).not.toThrow();
  });

  it("a round trip ending with the output (the model answers next)", () => {
    expect(() => checkToolPairing([user("hi"), call("call_1"), output("call_1")])).not.toThrow();
  });

  it("the clients' own conversations (Codex, the Agents SDK)", () => {
    expect(() => checkToolPairing(codexRequest.input as unknown[])).not.toThrow();
    expect(() => checkToolPairing(agentsSdkRequest.input as unknown[])).not.toThrow();
  });

  it("items it does not know, and malformed ones, are left to the translation", () => {
    expect(() => checkToolPairing([null, 3, { type: "compaction", encrypted_content: "x" }, { type: "function_call" }, { type: "function_call_output" }, user("hi")])).not.toThrow();
  });
});

describe("tool search items pair like calls and outputs", () => {
  it("a tool_search_output answers its tool_search_call; one without its call, or a call left open, is a 400", () => {
    const call = { type: "tool_search_call", call_id: "ts_1", execution: "client", arguments: { query: "echo" } };
    const output = { type: "tool_search_output", call_id: "ts_1", execution: "client", tools: [] };
    expect(() => checkToolPairing([{ role: "user", content: "hi" }, call, output])).not.toThrow();
    expect(() => checkToolPairing([{ role: "user", content: "hi" }, output])).toThrow("No tool call found for tool search output with call_id ts_1.");
    expect(() => checkToolPairing([{ role: "user", content: "hi" }, call, { role: "user", content: "and?" }])).toThrow("No tool output found for tool search call ts_1.");
  });
});
