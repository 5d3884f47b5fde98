import { describe, expect, it } from "vitest";
import { type ChatCompletion, fromChatCompletion, ResponsesError, type ResponsesRequest, toChatRequest, type ToChatOptions } from "../../../src/index.ts";
import { expandInput, MemoryResponseStore, storedTurn, storeResolver } from "../../../src/server.ts";
import { codexAdditionalToolsRequest } from "../../fixtures/requests.ts";
import { counterIds } from "../../support/helpers.ts";

// What `ai` 7 + `@ai-sdk/openai` 4 send that earlier clients did not: configuration_update items,
// tool_choice allowed_tools, prompt_cache_options, reasoning.summary "detailed", additional_tools mid-conversation.

function rejection(body: unknown, options: ToChatOptions = {}): ResponsesError {
  let error: unknown;
  try {
    toChatRequest(body as ResponsesRequest, options);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ResponsesError);
  const e = error as ResponsesError;
  expect(e.status).toBe(400);
  expect(e.toJSON()).toEqual({ error: { message: e.message, type: "invalid_request_error", param: e.param, code: e.code } });
  return e;
}

const schema = { type: "json_schema", name: "answer", strict: true, schema: { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false } };
const chatSchema = { type: "json_schema", json_schema: { name: "answer", strict: true, schema: schema.schema } };

describe("configuration_update: the settings of the turns after it", () => {
  it("the latest update's effort replaces the request's reasoning.effort; it sends no message", () => {
    const { request } = toChatRequest({
      model: "m",
      reasoning: { effort: "low", summary: "detailed" },
      input: [
        { role: "user", content: "Hi" },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Hello." }] },
        { type: "configuration_update", reasoning: { effort: "high" } },
        { role: "user", content: "Think harder." },
      ],
    });
    expect(request.reasoning_effort).toBe("high");
    expect(request.messages).toEqual([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello." },
      { role: "user", content: "Think harder." },
    ]);
    expect(request).not.toHaveProperty("reasoning");
  });

  it("updates apply in order, each to the settings it names: the effort of one and the format of another both hold", () => {
    const { request } = toChatRequest({
      model: "m",
      reasoning: { effort: "medium" },
      input: [
        { type: "configuration_update", reasoning: { effort: "low" } },
        { role: "user", content: "one" },
        { type: "configuration_update", text: { format: schema } },
        { role: "user", content: "two" },
      ],
    });
    expect(request.reasoning_effort).toBe("low");
    expect(request.response_format).toEqual(chatSchema);
  });

  it("a text update back to plain text drops the request's response_format; effort null drops reasoning_effort", () => {
    const { request } = toChatRequest({
      model: "m",
      reasoning: { effort: "high" },
      text: { format: schema },
      input: [{ role: "user", content: "one" }, { type: "configuration_update", reasoning: { effort: null }, text: { format: { type: "text" } } }, { role: "user", content: "two" }],
    });
    expect(request).not.toHaveProperty("response_format");
    expect(request).not.toHaveProperty("reasoning_effort");
  });

  it("an update with no effort key keeps the effort as it was", () => {
    const { request } = toChatRequest({ model: "m", reasoning: { effort: "high" }, input: [{ type: "configuration_update", reasoning: {}, text: { format: schema } }, { role: "user", content: "x" }] });
    expect(request.reasoning_effort).toBe("high");
    expect(request.response_format).toEqual(chatSchema);
  });

  it("a stored chain: an update made in an earlier turn still holds on the turns continued from it", async () => {
    const store = new MemoryResponseStore();
    const ids = counterIds();
    const answer = (content: string): ChatCompletion =>
      ({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] }) as ChatCompletion;
    const turn = async (request: ResponsesRequest) => {
      const expanded = await expandInput(request, { resolver: storeResolver(store) });
      const chat = toChatRequest(expanded.request).request;
      const response = fromChatCompletion(answer("ok"), { request, ids });
      await store.put(storedTurn(expanded.fresh, response, ids, expanded.previous));
      return { chat, response };
    };
    const one = await turn({ model: "m", reasoning: { effort: "low" }, input: [{ type: "configuration_update", reasoning: { effort: "high" } }, { role: "user", content: "one" }] });
    expect(one.chat.reasoning_effort).toBe("high");
    // The next request says nothing of effort: the stored update still holds.
    const two = await turn({ model: "m", previous_response_id: one.response.id, input: "two" });
    expect(two.chat.reasoning_effort).toBe("high");
    expect(two.chat.messages.map((m) => m.content)).toEqual(["one", "ok", "two"]);
    // A later update replaces it, from then on.
    const three = await turn({ model: "m", previous_response_id: two.response.id, input: [{ type: "configuration_update", reasoning: { effort: "minimal" } }, { role: "user", content: "three" }] });
    expect(three.chat.reasoning_effort).toBe("minimal");
    const four = await turn({ model: "m", previous_response_id: three.response.id, input: "four" });
    expect(four.chat.reasoning_effort).toBe("minimal");
  });

  it("bad updates → 400 naming the field", () => {
    const at = (update: unknown) => ({ model: "m", input: [{ role: "user", content: "x" }, update] });
    expect(rejection(at({ type: "configuration_update" })).param).toBe("input[1]");
    expect(rejection(at({ type: "configuration_update", reasoning: "high" })).param).toBe("input[1].reasoning");
    expect(rejection(at({ type: "configuration_update", reasoning: { effort: 3 } })).param).toBe("input[1].reasoning.effort");
    const summary = rejection(at({ type: "configuration_update", reasoning: { summary: "auto" } }));
    expect(summary).toMatchObject({ param: "input[1].reasoning.summary", code: "unknown_parameter", message: "Unknown parameter: 'input[1].reasoning.summary'." });
    expect(rejection(at({ type: "configuration_update", text: {} })).param).toBe("input[1].text.format");
    expect(rejection(at({ type: "configuration_update", text: { format: { type: "yaml" } } })).param).toBe("input[1].text.format.type");
    expect(rejection(at({ type: "configuration_update", text: { format: { type: "json_schema" } } })).param).toBe("input[1].text.format.name");
  });
});

describe("tool_choice allowed_tools: only the allowed tools are offered", () => {
  const tools = [
    { type: "function", name: "get_weather", parameters: { type: "object", properties: {} } },
    { type: "function", name: "get_time", parameters: { type: "object", properties: {} } },
    { type: "function", name: "search", parameters: { type: "object", properties: {} } },
  ];
  const base = { model: "m", input: "x", tools, parallel_tool_calls: false };
  const names = (body: ResponsesRequest) => toChatRequest(body).request.tools?.map((t) => t.function.name);

  it("mode auto / required / none become tool_choice; the offered tools are the allowed ones, in declaration order", () => {
    const choice = (mode?: string) => ({ type: "allowed_tools", ...(mode ? { mode } : {}), tools: [{ type: "function", name: "search" }, { type: "function", name: "get_weather" }] });
    for (const mode of ["auto", "required", "none"]) {
      const { request } = toChatRequest({ ...base, tool_choice: choice(mode) });
      expect(request.tool_choice).toBe(mode);
      expect(request.tools!.map((t) => t.function.name)).toEqual(["get_weather", "search"]);
      expect(request.parallel_tool_calls).toBe(false);
    }
    // The spec's default mode is auto.
    expect(toChatRequest({ ...base, tool_choice: choice() }).request.tool_choice).toBe("auto");
  });

  it("the routing still knows every declared tool (a call in history of one not allowed now maps back)", () => {
    const t = toChatRequest({ ...base, tool_choice: { type: "allowed_tools", mode: "auto", tools: [{ type: "function", name: "get_time" }] } });
    expect([...t.tools.keys()]).toEqual(["get_weather", "get_time", "search"]);
  });

  it("tools from additional_tools items (loaded mid-conversation) can be allowed", () => {
    const body = {
      model: "m",
      tools: [tools[0]!],
      input: [{ role: "user", content: "x" }, { type: "additional_tools", role: "developer", tools: [tools[2]!] }],
      tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "search" }] },
    } as ResponsesRequest;
    expect(names(body)).toEqual(["search"]);
  });

  it("entries for hosted tools go with the tools (dropped); only hosted tools left → no tools under auto, a 400 under required", () => {
    const withHosted = { ...base, tools: [...tools, { type: "web_search" }, { type: "mcp", server_label: "deepwiki" }] };
    const mixed = toChatRequest({ ...withHosted, tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "web_search" }, { type: "function", name: "get_time" }] } });
    expect(mixed.request.tools!.map((t) => t.function.name)).toEqual(["get_time"]);
    expect(mixed.request.tool_choice).toBe("required");
    expect(mixed.dropped).toEqual(["web_search", "mcp"]);
    const auto = toChatRequest({ ...withHosted, tool_choice: { type: "allowed_tools", mode: "auto", tools: [{ type: "mcp", server_label: "deepwiki" }] } }).request;
    expect(auto).not.toHaveProperty("tools");
    expect(auto).not.toHaveProperty("tool_choice");
    expect(auto).not.toHaveProperty("parallel_tool_calls");
    const e = rejection({ ...withHosted, tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "web_search" }, { type: "mcp", server_label: "deepwiki" }] } });
    expect(e).toMatchObject({ param: "tool_choice.tools", code: "unsupported_tool" });
    expect(e.message).toContain("web_search, mcp");
  });

  it("namespaced entries (Codex's functions / collaboration namespaces) match their flattened names", () => {
    const t = toChatRequest({ ...codexAdditionalToolsRequest, tool_choice: { type: "allowed_tools", mode: "auto", tools: [{ type: "function", name: "wait_agent", namespace: "collaboration" }] } });
    expect(t.request.tools!.map((x) => x.function.name)).toEqual(["collaboration__wait_agent"]);
  });

  it("what Chat Completions cannot say, or the request got wrong → 400 naming the field", () => {
    const bad = (tool_choice: unknown) => rejection({ ...base, tool_choice });
    expect(bad({ type: "allowed_tools", mode: "auto", tools: [{ type: "function", name: "nope" }] })).toMatchObject({ param: "tool_choice.tools[0]", code: "invalid_value" });
    expect(bad({ type: "allowed_tools", mode: "auto", tools: [] })).toMatchObject({ param: "tool_choice.tools", code: "empty_array" });
    expect(bad({ type: "allowed_tools", mode: "auto" })).toMatchObject({ param: "tool_choice.tools", code: "invalid_type" });
    const many = Array.from({ length: 129 }, () => ({ type: "function", name: "search" }));
    expect(bad({ type: "allowed_tools", mode: "auto", tools: many })).toMatchObject({ param: "tool_choice.tools", code: "array_above_max_length" });
    expect(toChatRequest({ ...base, tool_choice: { type: "allowed_tools", mode: "auto", tools: many.slice(0, 128) } }).request.tools).toHaveLength(1);
    expect(bad({ type: "allowed_tools", mode: "sometimes", tools: [{ type: "function", name: "search" }] })).toMatchObject({ param: "tool_choice.mode", code: "invalid_value" });
    expect(bad({ type: "allowed_tools", mode: "auto", tools: [{ type: "function" }] })).toMatchObject({ param: "tool_choice.tools[0].name" });
    expect(bad({ type: "allowed_tools", mode: "auto", tools: ["search"] })).toMatchObject({ param: "tool_choice.tools[0]", code: "invalid_type" });
    // Nothing offered at all, and a function allowed.
    expect(rejection({ model: "m", input: "x", tool_choice: { type: "allowed_tools", mode: "auto", tools: [{ type: "function", name: "search" }] } }).param).toBe("tool_choice.tools[0]");
  });
});

describe("prompt_cache_options, reasoning.summary and the rest", () => {
  it("prompt_cache_options is dropped (prompt_cache_key still goes); prewarm: true is a 400", () => {
    const { request } = toChatRequest({ model: "m", input: "x", prompt_cache_key: "k", prompt_cache_options: { mode: "explicit", ttl: "12h", comparison_response_id: "resp_1" } });
    expect(request).toEqual({ model: "m", messages: [{ role: "user", content: "x" }], prompt_cache_key: "k" });
    expect(rejection({ model: "m", input: "x", prompt_cache_options: { prewarm: true } })).toMatchObject({ param: "prompt_cache_options.prewarm", code: "unsupported_parameter" });
    expect(rejection({ model: "m", input: "x", prompt_cache_options: "12h" })).toMatchObject({ param: "prompt_cache_options", code: "invalid_type" });
    // An upstream that understands it gets it as sent (and answers a prewarm itself).
    const forwarded = toChatRequest({ model: "m", input: "x", prompt_cache_options: { prewarm: true } }, { forward: ["prompt_cache_options"] }).request;
    expect(forwarded.prompt_cache_options).toEqual({ prewarm: true });
  });

  it("prompt_cache_breakpoint on content parts is dropped with the part's other OpenAI-only fields", () => {
    const { request } = toChatRequest({ model: "m", input: [{ role: "system", content: [{ type: "input_text", text: "rules", prompt_cache_breakpoint: { ttl: "30m" } } as never] }, { role: "user", content: "x" }] });
    expect(request.messages).toEqual([{ role: "system", content: "rules" }, { role: "user", content: "x" }]);
  });

  it("reasoning.summary (the AI SDK's default 'detailed' with an effort), mode and context: effort goes, the rest does not", () => {
    const { request } = toChatRequest({ model: "m", input: "x", reasoning: { effort: "high", summary: "detailed", mode: "standard", context: "all_turns" } });
    expect(request).toEqual({ model: "m", messages: [{ role: "user", content: "x" }], reasoning_effort: "high" });
  });

  it("additional_tools: role developer (or none) is accepted; any other role is a 400", () => {
    const tool = { type: "function", name: "late", parameters: { type: "object", properties: {} } };
    const offered = toChatRequest({ model: "m", input: [{ role: "user", content: "x" }, { type: "additional_tools", role: "developer", tools: [tool] }] }).request;
    expect(offered.tools!.map((t) => t.function.name)).toEqual(["late"]);
    expect(rejection({ model: "m", input: [{ type: "additional_tools", role: "user", tools: [tool] }] })).toMatchObject({ param: "input[0].role", code: "invalid_value" });
  });

  it("input items this bridge cannot translate (programmatic tool calling) are a 400, never a crash", () => {
    for (const type of ["program", "program_output", "compaction_trigger"]) {
      expect(rejection({ model: "m", input: [{ role: "user", content: "x" }, { type }] })).toMatchObject({ param: "input[1].type", code: "invalid_value" });
    }
  });
});
