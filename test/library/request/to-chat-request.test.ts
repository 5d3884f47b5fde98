import { describe, expect, it } from "vitest";
import { type ChatCompletion, fromChatCompletion, parseResponsesRequest, ResponsesError, type ResponsesRequest, toChatRequest, type ToChatOptions } from "../../../src/index.ts";
import * as up from "../../fixtures/upstreams.ts";
import { agentsSdkRequest, codexAdditionalToolsRequest, codexRequest } from "../../fixtures/requests.ts";
import { convert, deltaText, sse, testOptions } from "../../support/helpers.ts";

function rejects(body: unknown, param: string | null, message?: RegExp) {
  rejectsWith(body, {}, param, message);
}

function rejectsWith(body: unknown, options: ToChatOptions, param: string | null, message?: RegExp) {
  let error: unknown;
  try {
    toChatRequest(body as ResponsesRequest, options);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ResponsesError);
  const e = error as ResponsesError;
  expect(e.status).toBe(400);
  expect(e.toJSON()).toEqual({ error: { message: e.message, type: "invalid_request_error", param, code: e.code } });
  if (message) expect(e.message).toMatch(message);
}

describe("request: Responses → Chat Completions", () => {
  it("string input and instructions", () => {
    const { request } = toChatRequest({ model: "m", instructions: "Be brief.", input: "Hi" });
    expect(request).toEqual({ model: "m", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }] });
  });

  it("message roles and content parts", () => {
    const { request } = toChatRequest({
      model: "m",
      input: [
        { role: "developer", content: [{ type: "input_text", text: "dev rule" }] },
        { role: "system", content: "sys" },
        { role: "user", content: [{ type: "input_text", text: "look" }, { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "low" }] },
        { role: "user", content: [{ type: "input_file", file_data: "data:application/pdf;base64,JVBE", filename: "a.pdf" }] },
        { type: "message", role: "assistant", id: "msg_9", status: "completed", content: [{ type: "output_text", text: "seen" }, { type: "refusal", refusal: "but no" }] },
      ],
    });
    expect(request.messages).toEqual([
      // Consecutive messages of one role are joined (what every chat template accepts), parts kept in order.
      { role: "system", content: "dev rule\n\nsys" },
      {
        role: "user",
        content: [
          { type: "text", text: "look" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "low" } },
          { type: "file", file: { file_data: "data:application/pdf;base64,JVBE", filename: "a.pdf" } },
        ],
      },
      { role: "assistant", content: "seen\nbut no" },
    ]);
    const keep = toChatRequest({ model: "m", input: [{ role: "developer", content: "d" }] }, { developerRole: "developer" });
    expect(keep.request.messages).toEqual([{ role: "developer", content: "d" }]);
  });

  it("function calls merge into the preceding assistant message; outputs become tool messages", () => {
    const { request } = toChatRequest(agentsSdkRequest);
    expect(request.messages).toEqual([
      { role: "system", content: "You are a weather agent." },
      { role: "user", content: "Weather in Paris and Rome?" },
      {
        role: "assistant",
        content: "Checking both.",
        tool_calls: [
          { id: "call_p", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          { id: "call_r", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_p", content: "18C, sunny" },
      { role: "tool", tool_call_id: "call_r", content: "22C, cloudy" },
    ]);
    expect(request).toMatchObject({ model: "gpt-4.1", temperature: 0.5, top_p: 0.9, max_tokens: 500, parallel_tool_calls: true, tool_choice: "auto", stream: true, stream_options: { include_usage: true } });
    expect(request.tools).toEqual([{ type: "function", function: { name: "get_weather", description: "Get the weather", parameters: (agentsSdkRequest.tools![0] as { parameters: unknown }).parameters, strict: true } }]);
    // Responses-only fields stay behind unless asked for.
    for (const k of ["store", "metadata", "truncation", "include", "background", "service_tier"]) expect(request).not.toHaveProperty(k);
    const fwd = toChatRequest(agentsSdkRequest, { forward: ["store", "metadata"], maxTokensField: "max_completion_tokens" }).request;
    expect(fwd).toMatchObject({ store: true, metadata: { trace: "t1" }, max_completion_tokens: 500 });
    expect(fwd).not.toHaveProperty("max_tokens");
  });

  it("tool output images follow the tool messages as a user message", () => {
    const { request } = toChatRequest({
      model: "m",
      input: [
        { type: "function_call", call_id: "c1", name: "view_image", arguments: "{}" },
        { type: "function_call_output", call_id: "c1", output: [{ type: "input_text", text: "image:" }, { type: "input_image", image_url: "data:image/png;base64,BBBB" }] },
        { role: "user", content: "what is it?" },
      ],
    });
    expect(request.messages.slice(1)).toEqual([
      { role: "tool", tool_call_id: "c1", content: "image:" },
      {
        role: "user",
        content: [{ type: "text", text: "Images returned by the tool call above:" }, { type: "image_url", image_url: { url: "data:image/png;base64,BBBB" } }, { type: "text", text: "what is it?" }],
      },
    ]);
  });

  it("reasoning history: dropped by default, or sent as reasoning_content on the next assistant message", () => {
    const input = [
      { type: "reasoning" as const, summary: [{ type: "summary_text", text: "think" }] },
      { type: "function_call" as const, call_id: "c", name: "f", arguments: "{}" },
      { type: "function_call_output" as const, call_id: "c", output: "ok" },
    ];
    expect(toChatRequest({ model: "m", input }).request.messages[0]).toEqual({ role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }] });
    expect(toChatRequest({ model: "m", input }, { reasoningHistory: "reasoning_content" }).request.messages[0]).toMatchObject({ role: "assistant", reasoning_content: "think" });
  });

  it("settings: tool_choice forms, text.format, verbosity, effort, logprobs, user, cache key", () => {
    const base = { model: "m", input: "x", tools: [{ type: "function", name: "a" }, { type: "function", name: "b" }] };
    expect(toChatRequest({ ...base, tool_choice: { type: "function", name: "b" } }).request.tool_choice).toEqual({ type: "function", function: { name: "b" } });
    const allowed = toChatRequest({ ...base, tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "a" }] } }).request;
    expect(allowed.tool_choice).toBe("required");
    expect(allowed.tools!.map((t) => t.function.name)).toEqual(["a"]);
    expect(toChatRequest({ ...base, tool_choice: "none" }).request.tool_choice).toBe("none");
    expect(toChatRequest({ model: "m", input: "x", text: { format: { type: "json_schema", name: "out", schema: { type: "object" }, strict: true, description: "d" } } }).request.response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "out", schema: { type: "object" }, strict: true, description: "d" },
    });
    expect(toChatRequest({ model: "m", input: "x", text: { format: { type: "json_object" } } }).request.response_format).toEqual({ type: "json_object" });
    expect(toChatRequest({ model: "m", input: "x", text: { format: { type: "text" } } }).request).not.toHaveProperty("response_format");
    const r = toChatRequest({
      model: "m",
      input: "x",
      text: { verbosity: "high" },
      reasoning: { effort: "low" },
      top_logprobs: 3,
      include: ["message.output_text.logprobs"],
      safety_identifier: "u1",
      prompt_cache_key: "k",
    }).request;
    expect(r).toMatchObject({ verbosity: "high", reasoning_effort: "low", logprobs: true, top_logprobs: 3, user: "u1", prompt_cache_key: "k" });
    expect(toChatRequest({ model: "m", input: "x", include: ["message.output_text.logprobs"] }).request).toMatchObject({ logprobs: true });
    expect(toChatRequest({ model: "m", input: "x", user: "legacy" }).request.user).toBe("legacy");
    expect(toChatRequest({ model: "m", input: "x", text: { verbosity: "high" } }, { omit: ["verbosity"] }).request).not.toHaveProperty("verbosity");
    expect(toChatRequest({ model: "gpt-x", input: "x" }, { model: (m) => `upstream/${m}` }).request.model).toBe("upstream/gpt-x");
  });

  it("hosted tools: dropped and reported, or rejected in strict mode", () => {
    const body = { model: "m", input: "x", tools: [{ type: "web_search" }, { type: "function", name: "f" }, { type: "mcp", server_label: "s" }, { type: "web_search" }], tool_choice: { type: "web_search" } };
    const t = toChatRequest(body);
    expect(t.dropped).toEqual(["web_search", "mcp"]);
    expect(t.request.tools!.map((x) => x.function.name)).toEqual(["f"]);
    expect(t.request.tool_choice).toBe("auto");
    expect(() => toChatRequest(body, { hostedTools: "reject" })).toThrow(/web_search/);
  });

  it("a real Codex CLI request translates", () => {
    const t = toChatRequest(codexRequest);
    const { request } = t;
    expect(request.model).toBe("gpt-5-codex");
    // Instructions and Codex's developer message joined; its environment context and task joined.
    expect(request.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
    expect(request.messages[0]!.content).toMatch(/\n\n<collaboration_mode>…<\/collaboration_mode>\n<apps_instructions>…<\/apps_instructions>$/);
    expect(request.messages[2]).toEqual({ role: "assistant", content: null, tool_calls: [{ id: "call_X1", type: "function", function: { name: "exec_command", arguments: '{"cmd":"ls -la"}' } }] });
    const names = request.tools!.map((x) => x.function.name);
    expect(names).toEqual([
      "exec_command",
      "write_stdin",
      "request_user_input",
      "view_image",
      "multi_agent_v1__close_agent",
      "multi_agent_v1__resume_agent",
      "multi_agent_v1__send_input",
      "multi_agent_v1__spawn_agent",
      "multi_agent_v1__wait_agent",
      "get_goal",
      "create_goal",
      "update_goal",
      "apply_patch",
    ]);
    expect(t.dropped).toEqual(["web_search"]);
    expect(t.tools.get("multi_agent_v1__spawn_agent")).toEqual({ kind: "function", name: "spawn_agent", namespace: "multi_agent_v1" });
    expect(t.tools.get("apply_patch")).toEqual({ kind: "custom", name: "apply_patch" });
    const applyPatch = request.tools!.find((x) => x.function.name === "apply_patch")!.function;
    expect(applyPatch.parameters).toMatchObject({ type: "object", required: ["input"], properties: { input: { type: "string" } } });
    expect(applyPatch.description).toContain("*** Begin Patch");
    expect(request).toMatchObject({ prompt_cache_key: "01a20b24-961c-7970-b5ec-371260288a22", parallel_tool_calls: true, tool_choice: "auto", stream: true });
    for (const k of ["store", "include", "client_metadata", "reasoning", "reasoning_effort", "text", "instructions", "input"]) expect(request).not.toHaveProperty(k);
  });

  it("history of namespace and custom tool calls is flattened the same way the tools were", () => {
    const { request } = toChatRequest({
      ...codexRequest,
      input: [
        { type: "function_call", call_id: "c1", name: "spawn_agent", namespace: "multi_agent_v1", arguments: '{"id":"a"}' },
        { type: "function_call_output", call_id: "c1", output: "{}" },
        { type: "custom_tool_call", call_id: "c2", name: "apply_patch", input: "*** Begin Patch\n*** End Patch" },
        { type: "custom_tool_call_output", call_id: "c2", output: "Done" },
      ],
    });
    expect(request.messages).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "multi_agent_v1__spawn_agent", arguments: '{"id":"a"}' } }] },
      { role: "tool", tool_call_id: "c1", content: "{}" },
      { role: "assistant", content: null, tool_calls: [{ id: "c2", type: "function", function: { name: "apply_patch", arguments: JSON.stringify({ input: "*** Begin Patch\n*** End Patch" }) } }] },
      { role: "tool", tool_call_id: "c2", content: "Done" },
    ]);
  });
});

describe("Codex on gpt-5.6 and later: tools in an `additional_tools` input item", () => {
  const EXEC_JS = "const r = await tools.exec_command({cmd: 'echo bridged'});\ntext(r.output);";

  it("its tools are offered as tools, its call and output replayed, reasoning.context accepted", () => {
    const t = toChatRequest(codexAdditionalToolsRequest);
    const { request } = t;
    expect(request.tools!.map((x) => x.function.name)).toEqual([
      // `functions` is the namespace of plain functions: names kept.
      "exec",
      "wait",
      "request_user_input",
      "collaboration__followup_task",
      "collaboration__interrupt_agent",
      "collaboration__list_agents",
      "collaboration__send_message",
      "collaboration__spawn_agent",
      "collaboration__wait_agent",
    ]);
    expect(t.tools.get("exec")).toEqual({ kind: "custom", name: "exec", namespace: "functions" });
    expect(t.tools.get("wait")).toEqual({ kind: "function", name: "wait", namespace: "functions" });
    expect(t.tools.get("collaboration__spawn_agent")).toEqual({ kind: "function", name: "spawn_agent", namespace: "collaboration" });
    const exec = request.tools![0]!.function;
    expect(exec.parameters).toMatchObject({ type: "object", required: ["input"], properties: { input: { type: "string" } } });
    expect(exec.description).toContain("await tools.exec_command(...)");
    expect(exec.description).toContain("The `input` must follow this lark grammar:\n\nstart: pragma_source | plain_source");
    expect(request.tools![3]!.function.parameters).toMatchObject({ required: ["target", "message"] });
    expect(t.dropped).toEqual([]);

    // The item itself is no message; the conversation is.
    expect(request.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
    expect(request.messages.slice(-2)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ id: "call_exec_1", type: "function", function: { name: "exec", arguments: JSON.stringify({ input: EXEC_JS }) } }] },
      { role: "tool", tool_call_id: "call_exec_1", content: "Script completed\nWall time 0.1 seconds\nOutput:\n\nbridged\n" },
    ]);
    expect(request).toMatchObject({ model: "gpt-5.6-sol", tool_choice: "auto", parallel_tool_calls: false, reasoning_effort: "low", verbosity: "low", stream: true });
    // `reasoning.context` has no chat field: which reasoning goes back is `reasoningHistory`'s call.
    expect(request).not.toHaveProperty("reasoning");
    expect(JSON.stringify(request)).not.toContain("all_turns");
  });

  it("the upstream's calls come back as Codex declared them: exec as a custom call in `functions`, spawn_agent in `collaboration`", async () => {
    const { tools } = toChatRequest(codexAdditionalToolsRequest);
    const args = JSON.stringify({ input: EXEC_JS });
    const chunk = (delta: object, finish_reason: string | null = null) => ({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason }] });
    const { events, final } = await convert(
      sse([
        chunk({ role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "exec", arguments: "" } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 20) } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(20) } }] }),
        chunk({ tool_calls: [{ index: 1, id: "call_2", type: "function", function: { name: "collaboration__spawn_agent", arguments: '{"task_name":"t","message":"m"}' } }] }),
        chunk({}, "tool_calls"),
      ]),
      testOptions({ request: codexAdditionalToolsRequest, tools }),
    );
    expect(final.output).toMatchObject([
      { type: "custom_tool_call", call_id: "call_1", name: "exec", namespace: "functions", input: EXEC_JS, status: "completed" },
      { type: "function_call", call_id: "call_2", name: "spawn_agent", namespace: "collaboration", arguments: '{"task_name":"t","message":"m"}' },
    ]);
    expect(deltaText(events, "response.custom_tool_call_input.delta")).toBe(EXEC_JS);
    // The envelope echoes the request's own top-level `tools` (none here); the item stays in the input it came in.
    expect(final.tools).toEqual([]);
  });

  it("one chat tool per name: a later declaration replaces an earlier one in place (top-level tools, then items in order)", () => {
    const f = (name: string, description: string) => ({ type: "function", name, description, parameters: { type: "object", properties: {} } });
    const { request, tools } = toChatRequest({
      model: "m",
      tools: [f("a", "top a"), f("b", "top b"), f("exec", "top exec")],
      input: [
        { type: "additional_tools", tools: [f("a", "first item a")] },
        { role: "user", content: "hi" },
        // A continued chain brings its stored item back, and Codex sends the current one.
        { type: "additional_tools", tools: [f("a", "second item a"), { type: "namespace", name: "functions", tools: [{ type: "custom", name: "exec" }] }] },
      ] as ResponsesRequest["input"],
    });
    expect(request.tools!.map((x) => [x.function.name, x.function.description])).toEqual([
      ["a", "second item a"],
      ["b", "top b"],
      ["exec", "Freeform tool exec: pass the raw input as the string `input`."],
    ]);
    expect(tools.get("exec")).toEqual({ kind: "custom", name: "exec", namespace: "functions" });
    expect(request.messages).toEqual([{ role: "user", content: "hi" }]);
  });

  it("an item with no tools offers none; tool_choice and hosted tools work on its tools as on `tools`", () => {
    expect(toChatRequest({ model: "m", input: [{ type: "additional_tools", role: "developer", tools: [] }, { role: "user", content: "hi" }] }).request).toEqual({ model: "m", messages: [{ role: "user", content: "hi" }] });
    const t = toChatRequest({ ...codexAdditionalToolsRequest, tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "custom", name: "exec", namespace: "functions" }, { type: "function", name: "wait_agent", namespace: "collaboration" }] } });
    expect(t.request.tools!.map((x) => x.function.name)).toEqual(["exec", "collaboration__wait_agent"]);
    expect(t.request.tool_choice).toBe("required");
    const hosted = { model: "m", input: [{ type: "additional_tools", tools: [{ type: "web_search" }] }] } as ResponsesRequest;
    expect(toChatRequest(hosted).dropped).toEqual(["web_search"]);
    rejectsWith(hosted, { hostedTools: "reject" }, "input[0].tools[0]");
  });

  it("an item whose tools are not an array, or hold a bad tool → 400 naming it", () => {
    rejects({ model: "m", input: [{ role: "user", content: "hi" }, { type: "additional_tools", tools: {} }] }, "input[1].tools", /expected an array/);
    rejects({ model: "m", input: [{ type: "additional_tools", tools: [{ type: "namespace", name: "functions", tools: [{ type: "function" }] }] }] }, "input[0].tools[0].tools[0].name");
  });
});

describe("bad input → 400 in OpenAI's error shape, naming the field", () => {
  it("malformed JSON", () => {
    expect(() => parseResponsesRequest("{oops")).toThrow(ResponsesError);
    try {
      parseResponsesRequest("{oops");
    } catch (e) {
      expect((e as ResponsesError).toJSON().error).toMatchObject({ type: "invalid_request_error", code: "invalid_json", param: null });
    }
    expect(() => parseResponsesRequest("[1]")).toThrow(/JSON object/);
  });
  it("missing model", () => rejects({ input: "x" }, "model", /model/));
  it("input of the wrong type", () => rejects({ model: "m", input: 42 }, "input"));
  it("unknown item type", () => rejects({ model: "m", input: [{ type: "teleport" }] }, "input[0].type", /teleport/));
  it("unknown content type", () => rejects({ model: "m", input: [{ role: "user", content: [{ type: "input_video" }] }] }, "input[0].content[0].type"));
  it("unknown role", () => rejects({ model: "m", input: [{ role: "critic", content: "x" }] }, "input[0].role"));
  it("previous_response_id without state", () => rejects({ model: "m", input: "x", previous_response_id: "resp_1" }, "previous_response_id"));
  it("item_reference without state", () => rejects({ model: "m", input: [{ type: "item_reference", id: "msg_1" }] }, "input[0]"));
  it("an unresolved item_reference to reasoning is dropped, in every reasoning mode (AI SDK with store: true)", () => {
    for (const reasoningHistory of ["auto", "drop", "reasoning_content", "reasoning"] as const) {
      const input = [{ type: "item_reference" as const, id: "rs_1" }, { role: "user" as const, content: "x" }];
      expect(toChatRequest({ model: "m", input }, { reasoningHistory }).request.messages).toEqual([{ role: "user", content: "x" }]);
    }
  });
  it("a file_id that cannot be resolved", () => rejects({ model: "m", input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1" }] }] }, "input[0].content[0].file_id"));
  it("input_file by id", () => rejects({ model: "m", input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }] }, "input[0].content[0].file_id"));
  it("function_call without call_id", () => rejects({ model: "m", input: [{ type: "function_call", name: "f", arguments: "{}" }] }, "input[0]"));
  it("tools not an array", () => rejects({ model: "m", input: "x", tools: {} }, "tools"));
  it("bad text.format", () => rejects({ model: "m", input: "x", text: { format: { type: "yaml" } } }, "text.format.type"));
});

describe("response: ChatCompletion → Response", () => {
  const completion = (message: Record<string, unknown>, finish_reason = "stop", extra: Record<string, unknown> = {}): ChatCompletion =>
    ({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1_761_000_000,
      model: "deepseek-reasoner",
      choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason, logprobs: null }],
      usage: { prompt_tokens: 10, completion_tokens: 30, total_tokens: 40, completion_tokens_details: { reasoning_tokens: 22 }, prompt_cache_hit_tokens: 8 },
      ...extra,
    }) as ChatCompletion;

  it("produces the same output as the streamed conversion of the same content", async () => {
    const whole = fromChatCompletion(completion({ reasoning_content: "The user greets me; answer briefly.", content: "Hi there." }), testOptions());
    const streamed = await convert(up.deepseekReasoning);
    expect(whole.output).toEqual(streamed.final.output);
    expect(whole.usage).toEqual(streamed.final.usage);
    expect(whole.status).toBe("completed");
    expect(whole.completed_at).not.toBeNull();
  });

  it("tool calls, refusal, annotations, logprobs", () => {
    const r = fromChatCompletion(
      completion({ content: null, tool_calls: [{ id: "call_a", type: "function", function: { name: "f", arguments: '{"x":1}' } }, { id: "call_b", type: "function", function: { name: "g", arguments: "{}" } }] }, "tool_calls"),
      testOptions(),
    );
    expect(r.output.map((o) => o.type === "function_call" && [o.call_id, o.name, o.arguments, o.status])).toEqual([
      ["call_a", "f", '{"x":1}', "completed"],
      ["call_b", "g", "{}", "completed"],
    ]);
    const refusal = fromChatCompletion(completion({ content: null, refusal: "No." }), testOptions());
    expect(refusal.output[0]).toMatchObject({ type: "message", content: [{ type: "refusal", refusal: "No." }] });
    const cited = fromChatCompletion(completion({ content: "See [1]", annotations: [{ type: "url_citation", url_citation: { url: "https://x.test", title: "X", start_index: 4, end_index: 7 } }] }), testOptions());
    expect(cited.output[0]).toMatchObject({ content: [{ text: "See [1]", annotations: [{ type: "url_citation", url: "https://x.test", title: "X", start_index: 4, end_index: 7 }] }] });
    const lp = fromChatCompletion({ ...completion({ content: "Hi" }), choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop", logprobs: { content: [{ token: "Hi", logprob: -0.1, bytes: [72, 105], top_logprobs: [] }] } }] }, testOptions());
    expect(lp.output[0]).toMatchObject({ content: [{ logprobs: [{ token: "Hi", logprob: -0.1, bytes: [72, 105], top_logprobs: [] }] }] });
  });

  it("custom and namespace tools map back", () => {
    const { tools } = toChatRequest(codexRequest);
    const r = fromChatCompletion(
      completion({ content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "apply_patch", arguments: JSON.stringify({ input: "*** Begin Patch\n*** End Patch" }) } }, { id: "c2", type: "function", function: { name: "multi_agent_v1__wait_agent", arguments: '{"id":"a"}' } }] }, "tool_calls"),
      testOptions({ tools }),
    );
    expect(r.output[0]).toMatchObject({ type: "custom_tool_call", call_id: "c1", name: "apply_patch", input: "*** Begin Patch\n*** End Patch" });
    expect(r.output[1]).toMatchObject({ type: "function_call", call_id: "c2", name: "wait_agent", namespace: "multi_agent_v1", arguments: '{"id":"a"}' });
  });

  it("length → incomplete; content_filter → incomplete", () => {
    expect(fromChatCompletion(completion({ content: "Once" }, "length"), testOptions())).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, output: [{ status: "incomplete" }] });
    expect(fromChatCompletion(completion({ content: "" }, "content_filter"), testOptions())).toMatchObject({ status: "incomplete", incomplete_details: { reason: "content_filter" } });
  });

  it("a completion without choices is an upstream error (502), not an empty success", () => {
    expect(() => fromChatCompletion({ choices: [] } as ChatCompletion)).toThrow(ResponsesError);
    try {
      fromChatCompletion({ choices: [], error: { message: "overloaded", code: 503 } } as unknown as ChatCompletion);
    } catch (e) {
      expect((e as ResponsesError).status).toBe(502);
      expect((e as ResponsesError).message).toBe("overloaded");
    }
  });
});

describe("round trip: a tool loop gives the chat history providers expect", () => {
  it("call → output → next turn", async () => {
    // Turn 1: the client asks; the upstream calls a tool.
    const first = toChatRequest({ model: "m", input: "Weather in Paris?", tools: agentsSdkRequest.tools });
    const turn1 = await convert(up.openaiToolCallSplit, testOptions({ tools: first.tools }));
    // The client runs the tool and sends back the output items plus the result.
    const history = [{ role: "user" as const, content: "Weather in Paris?" }, ...turn1.final.output, { type: "function_call_output" as const, call_id: "call_DdmO9pD3xa9XTPNJ32zg2hcA", output: "18C" }];
    const second = toChatRequest({ model: "m", input: history as ResponsesRequest["input"], tools: agentsSdkRequest.tools });
    expect(second.request.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_DdmO9pD3xa9XTPNJ32zg2hcA", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris, France"}' } }] },
      { role: "tool", tool_call_id: "call_DdmO9pD3xa9XTPNJ32zg2hcA", content: "18C" },
    ]);
  });

  it("reasoning + text + call from a DeepSeek turn comes back as one assistant message", async () => {
    const turn = await convert(
      up.deepseekReasoning.replace('"content":" there."', '"content":" there.","tool_calls":[{"index":0,"id":"call_z","type":"function","function":{"name":"f","arguments":"{}"}}]'),
    );
    const next = toChatRequest({ model: "m", input: [...turn.final.output, { type: "function_call_output", call_id: "call_z", output: "ok" }] as ResponsesRequest["input"] }, { reasoningHistory: "reasoning_content" });
    expect(next.request.messages).toEqual([
      { role: "assistant", content: "Hi there.", reasoning_content: "The user greets me; answer briefly.", tool_calls: [{ id: "call_z", type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", tool_call_id: "call_z", content: "ok" },
    ]);
  });
});
