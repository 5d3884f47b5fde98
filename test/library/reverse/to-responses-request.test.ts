import { describe, expect, it } from "vitest";
import { ResponsesError, toResponsesRequest } from "../../../src/index.ts";

const user = (content: unknown) => ({ role: "user", content });

describe("toResponsesRequest: messages", () => {
  it("leading system and developer messages → instructions; later ones stay in place", () => {
    const { request } = toResponsesRequest({
      model: "gpt-5-pro",
      messages: [{ role: "system", content: "Be brief." }, { role: "developer", content: [{ type: "text", text: "Use French." }] }, user("Hi"), { role: "system", content: "Now in English." }, user("Again")],
    });
    expect(request.instructions).toBe("Be brief.\n\nUse French.");
    expect(request.input).toEqual([
      { type: "message", role: "user", content: "Hi" },
      { type: "message", role: "system", content: "Now in English." },
      { type: "message", role: "user", content: "Again" },
    ]);
  });

  it("assistant tool_calls → function_call items after its text; tool messages → function_call_output", () => {
    const { request } = toResponsesRequest({
      model: "m",
      messages: [
        user("Weather?"),
        { role: "assistant", content: "Checking.", tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }, { id: "call_2", type: "function", function: { name: "get_time", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "call_1", content: "18C" },
        { role: "tool", tool_call_id: "call_2", content: [{ type: "text", text: "noon" }] },
        { role: "assistant", content: null, refusal: "I can't." },
      ],
    });
    expect(request.instructions).toBeUndefined();
    expect(request.input).toEqual([
      { type: "message", role: "user", content: "Weather?" },
      { type: "message", role: "assistant", content: "Checking." },
      { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
      { type: "function_call", call_id: "call_2", name: "get_time", arguments: "{}" },
      { type: "function_call_output", call_id: "call_1", output: "18C" },
      { type: "function_call_output", call_id: "call_2", output: "noon" },
      { type: "message", role: "assistant", content: "I can't." },
    ]);
  });

  it("images and files → input_image / input_file", () => {
    const { request } = toResponsesRequest({
      model: "m",
      messages: [
        user([
          { type: "text", text: "What is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,AAAA", detail: "high" } },
          { type: "image_url", image_url: { url: "https://example.com/a.png" } },
          { type: "file", file: { file_data: "data:application/pdf;base64,BBBB", filename: "a.pdf" } },
          { type: "file", file: { file_id: "file-abc" } },
        ]),
      ],
    });
    expect(request.input).toEqual([
      {
        type: "message",
        role: "user",
        content: [
          { type: "input_text", text: "What is this?" },
          { type: "input_image", image_url: "data:image/png;base64,AAAA", detail: "high" },
          { type: "input_image", image_url: "https://example.com/a.png", detail: "auto" },
          { type: "input_file", file_data: "data:application/pdf;base64,BBBB", filename: "a.pdf" },
          { type: "input_file", file_id: "file-abc" },
        ],
      },
    ]);
  });
});

describe("toResponsesRequest: options", () => {
  it("tools, tool_choice, parallel_tool_calls, response_format, limits, reasoning, sampling, user, cache key, store, stream", () => {
    const t = toResponsesRequest(
      {
        model: "gpt-5-pro",
        messages: [user("x")],
        tools: [
          { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
          { type: "function", function: { name: "strict_one", parameters: { type: "object" }, strict: true } },
          { type: "function", function: { name: "bare" } },
        ],
        tool_choice: { type: "function", function: { name: "get_weather" } },
        parallel_tool_calls: false,
        response_format: { type: "json_schema", json_schema: { name: "answer", schema: { type: "object" }, strict: true } },
        verbosity: "low",
        max_tokens: 100,
        max_completion_tokens: 200,
        reasoning_effort: "high",
        temperature: 0.3,
        top_p: 0.9,
        presence_penalty: 0,
        frequency_penalty: 0.5,
        user: "user-42",
        prompt_cache_key: "k1",
        seed: 7,
        n: 1,
        stream: true,
        stream_options: { include_usage: true },
      },
      { model: (m) => `${m}-2025-10-06` },
    );
    expect(t).toEqual({
      stream: true,
      includeUsage: true,
      request: {
        model: "gpt-5-pro-2025-10-06",
        input: [{ type: "message", role: "user", content: "x" }],
        tools: [
          { type: "function", name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } }, strict: false },
          { type: "function", name: "strict_one", parameters: { type: "object" }, strict: true },
          { type: "function", name: "bare", parameters: { type: "object", properties: {} }, strict: false },
        ],
        tool_choice: { type: "function", name: "get_weather" },
        parallel_tool_calls: false,
        text: { verbosity: "low", format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true } },
        max_output_tokens: 200,
        reasoning: { effort: "high", summary: "auto" },
        temperature: 0.3,
        top_p: 0.9,
        frequency_penalty: 0.5,
        safety_identifier: "user-42",
        prompt_cache_key: "k1",
        store: false,
        stream: true,
      },
    });
  });

  it("store only when asked; json_object; allowed_tools; logprobs; no summary when told not to; usage only with a stream", () => {
    const t = toResponsesRequest(
      { model: "m", messages: [user("x")], store: true, response_format: { type: "json_object" }, tool_choice: { type: "allowed_tools", allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "a" } }] } }, logprobs: true, top_logprobs: 2, reasoning_effort: "low", safety_identifier: "s", user: "u", stream_options: { include_usage: true } },
      { reasoningSummary: null },
    );
    expect(t.request).toMatchObject({ store: true, text: { format: { type: "json_object" } }, tool_choice: { type: "allowed_tools", mode: "required", tools: [{ type: "function", name: "a" }] }, include: ["message.output_text.logprobs"], top_logprobs: 2, reasoning: { effort: "low" }, safety_identifier: "s" });
    expect(t.request.reasoning).toEqual({ effort: "low" });
    expect(t).toMatchObject({ stream: false, includeUsage: false });
    expect(t.request.stream).toBeUndefined();
  });

  it.each([
    [{ model: "m", messages: [user("x")], n: 2 }, "n"],
    [{ model: "m", messages: [user("x")], stop: ["END"] }, "stop"],
    [{ model: "m", messages: [user("x")], logit_bias: { "50256": -100 } }, "logit_bias"],
    [{ model: "m", messages: [user("x")], modalities: ["text", "audio"] }, "modalities"],
    [{ model: "m", messages: [] }, "messages"],
    [{ messages: [user("x")] }, "model"],
    [{ model: "m", messages: [{ role: "function", content: "x" }] }, "messages[0].role"],
    [{ model: "m", messages: [user([{ type: "input_audio", input_audio: {} }])] }, "messages[0].content[0].type"],
    [{ model: "m", messages: [user("x")], tools: [{ type: "custom", custom: { name: "c" } }] }, "tools[0].type"],
    [{ model: "m", messages: [{ role: "tool", content: "x" }] }, "messages[0].tool_call_id"],
    [{ model: "m", messages: [user("x")], response_format: { type: "yaml" } }, "response_format.type"],
  ])("refuses what it cannot send faithfully: %j → 400 naming %s", (body, param) => {
    let error: unknown;
    try {
      toResponsesRequest(body);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ResponsesError);
    expect(error).toMatchObject({ status: 400, param, type: "invalid_request_error" });
  });
});
