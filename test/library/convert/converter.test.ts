import { describe, expect, it } from "vitest";
import type { FunctionCallItem, MessageItem, ReasoningItem, ResponseStreamEvent } from "../../../src/index.ts";
import { upstreamTag } from "../../../src/convert/reasoning-origin.ts";
import * as up from "../../fixtures/upstreams.ts";
import { convert, deltaText, FIXED_NOW, testOptions } from "../../support/helpers.ts";

const TEXT_ITEM = [
  "response.output_item.added",
  "response.content_part.added",
] as const;
const TEXT_ITEM_END = ["response.output_text.done", "response.content_part.done", "response.output_item.done"] as const;
const CALL_END = ["response.function_call_arguments.done", "response.output_item.done"] as const;
const SUMMARY_START = ["response.output_item.added", "response.reasoning_summary_part.added"] as const;
const SUMMARY_END = ["response.reasoning_summary_text.done", "response.reasoning_summary_part.done", "response.output_item.done"] as const;
const START = ["response.created", "response.in_progress"] as const;

function of<T extends ResponseStreamEvent["type"]>(events: ResponseStreamEvent[], type: T): Extract<ResponseStreamEvent, { type: T }>[] {
  return events.filter((e): e is Extract<ResponseStreamEvent, { type: T }> => e.type === type);
}

describe("text (OpenAI)", () => {
  it("streams each delta as it came and completes with usage", async () => {
    const r = await convert(up.openaiText, testOptions({ request: { model: "gpt-4o-mini", instructions: "Be brief.", temperature: 0.2, metadata: { run: "7" } } }));
    expect(r.types).toEqual([
      ...START,
      ...TEXT_ITEM,
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      ...TEXT_ITEM_END,
      "response.completed",
    ]);
    expect(of(r.events, "response.output_text.delta").map((e) => e.delta)).toEqual(["Hello", ", world", "!"]);
    const msg = r.final.output[0] as MessageItem;
    expect(msg).toEqual({ id: "msg_2", type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Hello, world!", annotations: [], logprobs: [] }] });
    expect(r.final.status).toBe("completed");
    expect(r.final.usage).toEqual({ input_tokens: 12, output_tokens: 4, total_tokens: 16, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } });
    expect(r.final.created_at).toBe(1_761_000_000);
    expect(r.final.completed_at).toBe(FIXED_NOW);
    expect(r.final.model).toBe("gpt-4o-mini-2024-07-18");
    expect(r.final.instructions).toBe("Be brief.");
    expect(r.final.temperature).toBe(0.2);
    expect(r.final.metadata).toEqual({ run: "7" });
    expect(r.final.error).toBeNull();
    expect(r.final.incomplete_details).toBeNull();
  });

  it("a background request begins queued, as OpenAI's does: created and queued (status queued), then in_progress", async () => {
    const r = await convert(up.openaiText, testOptions({ request: { model: "gpt-4o-mini", background: true } }));
    expect(r.types.slice(0, 3)).toEqual(["response.created", "response.queued", "response.in_progress"]);
    expect(r.events.slice(0, 3).map((e) => e.sequence_number)).toEqual([0, 1, 2]);
    const [created, queued, started] = r.events as Array<Extract<ResponseStreamEvent, { type: "response.created" }>>;
    expect(created!.response).toMatchObject({ status: "queued", background: true, output: [] });
    expect(queued!.response).toEqual(created!.response);
    expect(started!.response).toMatchObject({ status: "in_progress", background: true });
    expect(r.final).toMatchObject({ status: "completed", background: true });
  });

  it("createdAt: the response keeps the time it was created at, whatever the upstream's chunks say", async () => {
    const r = await convert(up.openaiText, testOptions({ request: { model: "gpt-4o-mini", background: true }, createdAt: 1_700_000_042 }));
    expect((r.events[0] as Extract<ResponseStreamEvent, { type: "response.created" }>).response.created_at).toBe(1_700_000_042);
    expect(r.final.created_at).toBe(1_700_000_042);
  });

  it("envelope: every field, defaults where the request is silent, created carries an empty output", async () => {
    const r = await convert(up.openaiText);
    const created = r.events[0] as Extract<ResponseStreamEvent, { type: "response.created" }>;
    expect(created.response).toMatchObject({ status: "in_progress", output: [], completed_at: null, usage: null });
    expect(r.final).toMatchObject({
      object: "response",
      previous_response_id: null,
      instructions: null,
      tools: [],
      tool_choice: "auto",
      truncation: "disabled",
      parallel_tool_calls: true,
      text: { format: { type: "text" } },
      top_p: 1,
      temperature: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      top_logprobs: 0,
      reasoning: null,
      max_output_tokens: null,
      max_tool_calls: null,
      store: true, // as OpenAI: stored unless the request says false
      background: false,
      service_tier: "default",
      metadata: {},
      safety_identifier: null,
      prompt_cache_key: null,
    });
  });

  it("echoes the request's settings into the envelope", async () => {
    const request = {
      model: "my-model",
      tools: [{ type: "function", name: "f", description: null, parameters: { type: "object" }, strict: false }],
      tool_choice: "required",
      parallel_tool_calls: false,
      text: { format: { type: "json_object" }, verbosity: "low" },
      reasoning: { effort: "high", summary: "auto" },
      max_output_tokens: 300,
      top_p: 0.9,
      top_logprobs: 2,
      store: false,
      previous_response_id: null,
      safety_identifier: "user-42",
      prompt_cache_key: "thread-9",
      truncation: "auto" as const,
      service_tier: "auto",
    };
    const r = await convert(up.openaiText, testOptions({ request }));
    expect(r.final).toMatchObject({
      tools: request.tools,
      tool_choice: "required",
      parallel_tool_calls: false,
      text: { format: { type: "json_object" }, verbosity: "low" },
      reasoning: { effort: "high", summary: "auto" },
      max_output_tokens: 300,
      top_p: 0.9,
      top_logprobs: 2,
      safety_identifier: "user-42",
      prompt_cache_key: "thread-9",
      truncation: "auto",
      service_tier: "default",
    });
  });
});

describe("refusal (OpenAI delta.refusal)", () => {
  it("becomes a refusal part with refusal events", async () => {
    const r = await convert(up.openaiRefusal);
    expect(r.types).toEqual([
      ...START,
      ...TEXT_ITEM,
      "response.refusal.delta",
      "response.refusal.delta",
      "response.refusal.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect((r.final.output[0] as MessageItem).content).toEqual([{ type: "refusal", refusal: "I'm sorry, I can't help with that." }]);
  });

  it("refusalAsText renders it as output_text for clients that cannot read refusal parts", async () => {
    const r = await convert(up.openaiRefusal, testOptions({ refusalAsText: true }));
    expect(r.types).not.toContain("response.refusal.delta");
    expect((r.final.output[0] as MessageItem).content).toEqual([{ type: "output_text", text: "I'm sorry, I can't help with that.", annotations: [], logprobs: [] }]);
  });
});

describe("tool calls", () => {
  it("streams arguments chunk by chunk (OpenAI)", async () => {
    const r = await convert(up.openaiToolCallSplit);
    expect(r.types).toEqual([...START, "response.output_item.added", ...Array(5).fill("response.function_call_arguments.delta"), ...CALL_END, "response.completed"]);
    const added = of(r.events, "response.output_item.added")[0]!;
    expect(added.item).toEqual({ id: "fc_2", type: "function_call", call_id: "call_DdmO9pD3xa9XTPNJ32zg2hcA", name: "get_weather", arguments: "", status: "in_progress" });
    expect(deltaText(r.events, "response.function_call_arguments.delta")).toBe('{"location":"Paris, France"}');
    expect(r.final.output).toEqual([{ id: "fc_2", type: "function_call", call_id: "call_DdmO9pD3xa9XTPNJ32zg2hcA", name: "get_weather", arguments: '{"location":"Paris, France"}', status: "completed" }]);
    expect(of(r.events, "response.function_call_arguments.done")[0]).toMatchObject({ arguments: '{"location":"Paris, France"}', name: "get_weather" });
  });

  it("holds an interleaved later call until the earlier one's arguments are whole", async () => {
    const r = await convert(up.interleavedParallelTools);
    expect(r.types).toEqual([
      ...START,
      "response.output_item.added", // call_a
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      ...CALL_END,
      "response.output_item.added", // call_b, released with what it buffered
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      ...CALL_END,
      "response.completed",
    ]);
    const calls = r.final.output as FunctionCallItem[];
    expect(calls.map((c) => [c.call_id, c.name, c.arguments])).toEqual([
      ["call_a", "get_weather", '{"city":"Paris"}'],
      ["call_b", "get_time", '{"tz":"CET"}'],
    ]);
    // call_b's buffered '{"tz":' leaves in the same batch as call_a's closing chunk, not at the end.
    const bDeltas = r.events.filter((e) => e.type === "response.function_call_arguments.delta" && e.output_index === 1) as Array<{ delta: string }>;
    expect(bDeltas.map((d) => d.delta)).toEqual(['{"tz":', '"CET"}']);
  });

  it("streams sequential parallel calls without holding anything", async () => {
    const r = await convert(up.sequentialParallelTools);
    const calls = r.final.output as FunctionCallItem[];
    expect(calls.map((c) => c.arguments)).toEqual(['{"city":"Paris"}', '{"city":"Rome"}']);
    expect(of(r.events, "response.function_call_arguments.delta").map((e) => [e.output_index, e.delta])).toEqual([
      [0, '{"city":"Paris"}'],
      [1, '{"city":'],
      [1, '"Rome"}'],
    ]);
  });

  it("takes whole calls without an index (Gemini)", async () => {
    const r = await convert(up.geminiWholeToolCalls);
    const calls = r.final.output as FunctionCallItem[];
    expect(calls.map((c) => [c.call_id, c.name, c.arguments, c.status])).toEqual([
      ["function-call-1", "get_weather", '{"location":"Boston, MA"}', "completed"],
      ["function-call-2", "get_weather", '{"location":"Tokyo"}', "completed"],
    ]);
    expect(r.final.usage).toMatchObject({ input_tokens: 40, output_tokens: 18, total_tokens: 58 });
    expect(r.final.model).toBe("gemini-2.5-flash");
  });

  it("closes the message before the call when text comes first (Mistral)", async () => {
    const r = await convert(up.textThenTool);
    expect(r.types).toEqual([
      ...START,
      ...TEXT_ITEM,
      "response.output_text.delta",
      ...TEXT_ITEM_END,
      "response.output_item.added",
      "response.function_call_arguments.delta",
      ...CALL_END,
      "response.completed",
    ]);
    expect(r.final.output.map((i) => i.type)).toEqual(["message", "function_call"]);
    expect((r.final.output[1] as FunctionCallItem).call_id).toBe("D681PevKs");
  });

  it("maps namespace and custom tools back through the routing table", async () => {
    const tools = new Map([
      ["get_weather", { kind: "function" as const, name: "get_weather", namespace: "weather" }],
    ]);
    const r = await convert(up.openaiToolCallSplit, testOptions({ tools }));
    expect(r.final.output[0]).toMatchObject({ type: "function_call", name: "get_weather", namespace: "weather" });
    const custom = new Map([["get_weather", { kind: "custom" as const, name: "apply_patch" }]]);
    const c = await convert(up.textThenTool, testOptions({ tools: custom }));
    expect(c.types.slice(-5)).toEqual(["response.output_item.added", "response.custom_tool_call_input.delta", "response.custom_tool_call_input.done", "response.output_item.done", "response.completed"]);
    expect(c.final.output[1]).toEqual({ id: "ctc_3", type: "custom_tool_call", call_id: "D681PevKs", name: "apply_patch", input: '{"city": "Paris"}', status: "completed" });
  });
});

describe("reasoning", () => {
  it("DeepSeek reasoning_content → a reasoning item with summary events, before the message; reasoning tokens kept", async () => {
    const r = await convert(up.deepseekReasoning);
    expect(r.types).toEqual([
      ...START,
      ...SUMMARY_START,
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.delta",
      ...SUMMARY_END,
      ...TEXT_ITEM,
      "response.output_text.delta",
      "response.output_text.delta",
      ...TEXT_ITEM_END,
      "response.completed",
    ]);
    // The id says where the reasoning came from: `_c` = reasoning_content, then the upstream's tag (no `upstream` given: "").
    expect(r.final.output[0]).toEqual({ id: `rs_2_c${upstreamTag("")}`, type: "reasoning", summary: [{ type: "summary_text", text: "The user greets me; answer briefly." }], status: "completed" });
    expect((r.final.output[1] as MessageItem).content[0]).toMatchObject({ text: "Hi there." });
    expect(r.final.usage).toEqual({ input_tokens: 10, output_tokens: 30, total_tokens: 40, input_tokens_details: { cached_tokens: 8, cache_write_tokens: 0 }, output_tokens_details: { reasoning_tokens: 22 } });
  });

  it("raw mode emits reasoning_text content instead", async () => {
    const r = await convert(up.deepseekReasoning, testOptions({ reasoning: "raw" }));
    expect(r.types.slice(2, 8)).toEqual([
      "response.output_item.added",
      "response.content_part.added",
      "response.reasoning_text.delta",
      "response.reasoning_text.delta",
      "response.reasoning_text.done",
      "response.content_part.done",
    ]);
    expect(r.final.output[0]).toEqual({ id: `rs_2_c${upstreamTag("")}`, type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: "The user greets me; answer briefly." }], status: "completed" });
  });

  it("vLLM / Ollama delta.reasoning", async () => {
    const r = await convert(up.vllmReasoning);
    expect((r.final.output[0] as ReasoningItem).summary[0]!.text).toBe("Two plus two is four.");
    expect((r.final.output[1] as MessageItem).content[0]).toMatchObject({ text: "4" });
    expect(r.final.usage).toMatchObject({ input_tokens: 15, output_tokens: 25, output_tokens_details: { reasoning_tokens: 0 } });
  });

  it("OpenRouter: reasoning counted once though reasoning_details repeats it; comments ignored", async () => {
    const r = await convert(up.openrouterReasoning);
    expect((r.final.output[0] as ReasoningItem).summary[0]!.text).toBe("Check the math.");
    expect((r.final.output[1] as MessageItem).content[0]).toMatchObject({ text: "It is 4." });
    expect(r.final.usage?.output_tokens_details.reasoning_tokens).toBe(18);
  });

  it("OpenRouter reasoning_details alone; encrypted blocks carry no text", async () => {
    const r = await convert(up.openrouterReasoningDetailsOnly);
    expect((r.final.output[0] as ReasoningItem).summary[0]!.text).toBe("Planning the answer.");
    expect(r.final.output).toHaveLength(2);
  });

  it("<think> tags at the start of content move into reasoning when asked, even split across chunks", async () => {
    const r = await convert(up.thinkTagsInContent, testOptions({ thinkTags: true }));
    expect((r.final.output[0] as ReasoningItem).summary[0]!.text).toBe("\nUser wants a joke.");
    expect((r.final.output[1] as MessageItem).content[0]).toMatchObject({ text: "Why did the <think> cross?" });
    expect(deltaText(r.events, "response.output_text.delta")).toBe("Why did the <think> cross?");
    const plain = await convert(up.thinkTagsInContent);
    expect(plain.final.output).toHaveLength(1);
    expect((plain.final.output[0] as MessageItem).content[0]).toMatchObject({ text: "<think>\nUser wants a joke.</think>\n\nWhy did the <think> cross?" });
  });
});

describe("endings", () => {
  it("no usage sent → usage null, never invented", async () => {
    const r = await convert(up.openaiRefusal);
    expect(r.final.usage).toBeNull();
  });

  it("finish_reason length → response.incomplete, max_output_tokens, item incomplete", async () => {
    const r = await convert(up.openaiLength);
    expect(r.types.at(-1)).toBe("response.incomplete");
    expect(r.final.status).toBe("incomplete");
    expect(r.final.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(r.final.output[0]).toMatchObject({ status: "incomplete", content: [{ text: "Once upon a time" }] });
    expect(r.final.completed_at).toBeNull();
  });

  it("Azure: prompt_filter_results chunk and content_filter_results pass; content_filter → incomplete", async () => {
    const r = await convert(up.azureContentFilter);
    expect(r.final.status).toBe("incomplete");
    expect(r.final.incomplete_details).toEqual({ reason: "content_filter" });
    expect(r.final.output[0]).toMatchObject({ status: "incomplete", content: [{ text: "Here is" }] });
  });

  it("an error frame mid-stream → error event with both shapes, then response.failed; rate limit wording kept", async () => {
    const r = await convert(up.openrouterMidStreamError);
    expect(r.types.slice(-7)).toEqual([...TEXT_ITEM, "response.output_text.delta", ...TEXT_ITEM_END, "error", "response.failed"].slice(-7));
    const err = of(r.events, "error")[0]!;
    const message = "Rate limit reached for deepseek-chat. Please try again in 20s.";
    expect(err).toMatchObject({ code: "rate_limit_exceeded", message, param: null, error: { type: "rate_limit_exceeded", code: "rate_limit_exceeded", message, param: null } });
    expect(r.final.status).toBe("failed");
    expect(r.final.error).toEqual({ code: "rate_limit_exceeded", message });
    expect(r.final.output[0]).toMatchObject({ status: "incomplete", content: [{ text: "Partial an" }] });
  });

  it("vLLM event: error frame → failed with the engine's message", async () => {
    const r = await convert(up.vllmErrorFrame);
    expect(r.final.status).toBe("failed");
    expect(r.final.error).toEqual({ code: "server_error", message: "EngineCore encountered an issue." });
  });

  it("a stream cut before finish_reason and [DONE] fails, never completes; what arrived is kept", async () => {
    const r = await convert(up.truncated);
    expect(r.types.at(-1)).toBe("response.failed");
    expect(r.types).not.toContain("response.completed");
    expect(r.final.output[0]).toMatchObject({ status: "incomplete", content: [{ text: "The answer is forty" }] });
    expect(r.final.error?.message).toMatch(/ended before a finish_reason/);
  });

  it("an empty body fails", async () => {
    const r = await convert("");
    expect(r.types).toEqual([...START, "error", "response.failed"]);
  });

  it("a body that is not SSE (JSON error with status 200) fails with the upstream's message", async () => {
    const r = await convert('{"error":{"message":"model \\"llama9\\" not found, try pulling it first","type":"api_error"}}');
    expect(r.final.error?.message).toContain('model "llama9" not found, try pulling it first');
  });

  it("a server that ignores stream: true and answers with one JSON completion is converted, not failed", async () => {
    const completion = { id: "chatcmpl-1", object: "chat.completion", created: 1_761_000_000, model: "llama3.1", choices: [{ index: 0, message: { role: "assistant", content: "", tool_calls: [{ id: "call_0", type: "function", function: { name: "f", arguments: '{"a":1}' } }] }, finish_reason: "tool_calls" }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } };
    const r = await convert(JSON.stringify(completion));
    expect(r.final.status).toBe("completed");
    expect(r.final.output).toEqual([{ id: "fc_2", type: "function_call", call_id: "call_0", name: "f", arguments: '{"a":1}', status: "completed" }]);
    expect(r.final.usage?.total_tokens).toBe(8);
    const broken = await convert(JSON.stringify({ choices: [], error: { message: "boom" } }));
    expect(broken.final.error?.message).toContain("boom");
  });

  it("a frame that is not JSON fails with a snippet of it", async () => {
    const r = await convert("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: {oops\n\n");
    expect(r.final.status).toBe("failed");
    expect(r.final.error?.message).toContain("{oops");
    expect(r.final.output[0]).toMatchObject({ status: "incomplete", content: [{ text: "a" }] });
  });

  it("arguments for a call that already closed fail the response instead of vanishing", async () => {
    const frames = [
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "c1", function: { name: "a", arguments: '{"x":1}' } }] } }] },
      { choices: [{ index: 0, delta: { content: "text" } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "more" } }] } }] },
    ];
    const r = await convert(frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join(""));
    expect(r.final.status).toBe("failed");
    expect(r.final.error?.message).toMatch(/after it had closed/);
  });

  it("[DONE] without a finish_reason completes", async () => {
    const r = await convert('data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\ndata: [DONE]\n\n');
    expect(r.final.status).toBe("completed");
  });
});

describe("extras", () => {
  it("logprobs → output_text logprobs on deltas and the part (bytes null → [])", async () => {
    const r = await convert(up.openaiLogprobs);
    const deltas = of(r.events, "response.output_text.delta");
    expect(deltas.map((d) => d.logprobs)).toEqual([
      [{ token: "Hi", logprob: -0.01, bytes: [72, 105], top_logprobs: [{ token: "Hi", logprob: -0.01, bytes: [72, 105] }] }],
      [{ token: "!", logprob: -0.5, bytes: [], top_logprobs: [] }],
    ]);
    const part = (r.final.output[0] as MessageItem).content[0]!;
    expect(part).toMatchObject({ text: "Hi!", logprobs: [{ token: "Hi" }, { token: "!" }] });
    expect(of(r.events, "response.output_text.done")[0]!.logprobs).toHaveLength(2);
  });

  it("url citations → annotations and annotation.added", async () => {
    const r = await convert(up.openrouterAnnotations);
    const added = of(r.events, "response.output_text.annotation.added");
    const annotation = { type: "url_citation", url: "https://en.wikipedia.org/wiki/Paris", title: "Paris - Wikipedia", start_index: 21, end_index: 24 };
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ annotation_index: 0, content_index: 0, annotation });
    expect((r.final.output[0] as MessageItem).content[0]).toMatchObject({ annotations: [annotation] });
  });

  it("Groq x_groq.usage", async () => {
    const r = await convert(up.groqUsage);
    expect(r.final.usage).toEqual({ input_tokens: 9, output_tokens: 2, total_tokens: 11, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } });
  });

  it("choices with index > 0 are ignored", async () => {
    const r = await convert(up.twoChoices);
    expect((r.final.output[0] as MessageItem).content[0]).toMatchObject({ text: "AA2" });
  });

  it("llama.cpp: data: without space, CRLF, multi-byte UTF-8", async () => {
    const r = await convert(up.llamacppQuirks);
    expect((r.final.output[0] as ReasoningItem).summary[0]!.text).toBe("Hmm, é ü 😀");
    expect((r.final.output[1] as MessageItem).content[0]).toMatchObject({ text: "Grüße 🌍" });
  });

  it("BOM, comment keep-alive, and a last event with no blank line after it", async () => {
    const r = await convert(up.bomCommentNoTrailingBlank);
    expect((r.final.output[0] as MessageItem).content[0]).toMatchObject({ text: "ok" });
    expect(r.final.usage).toMatchObject({ input_tokens: 3, output_tokens: 1, total_tokens: 4 });
    expect(r.final.status).toBe("completed");
  });
});
