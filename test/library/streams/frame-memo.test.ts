import { describe, expect, it } from "vitest";
import { FrameMemo } from "../../../src/streams/frame-memo.ts";

/**
 * The frame memo on its own: what it learns from a frame the usual path
 * parsed, and which later reads it turns into a chunk without parsing. A hit
 * must be exactly `JSON.parse` of the frame's data, key order included; every
 * other read must miss (null), so that it goes the usual way.
 */

/** What the usual path makes of a one-frame read: the data line after `data:` and one optional space. */
function parsed(frame: string): unknown {
  const line = frame.slice(5, frame.indexOf("\n")).replace(/\r$/, "");
  return JSON.parse(line.startsWith(" ") ? line.slice(1) : line);
}

/** A memo that has learned `frame`, as the pump teaches it (the frame and the chunk it was parsed into). */
function learned(frame: string): FrameMemo {
  const memo = new FrameMemo();
  memo.learn(frame, parsed(frame));
  return memo;
}

/** The same frame with its slot's text replaced, serialized as `JSON.stringify` does (or `raw`, as written). */
function around(frame: string, slot: string, text: string, raw = JSON.stringify(text).slice(1, -1)): string {
  const key = `"${slot}":"`;
  const at = frame.indexOf(key) + key.length;
  let end = at;
  while (frame[end] !== '"') end += frame[end] === "\\" ? 2 : 1;
  return frame.slice(0, at) + raw + frame.slice(end);
}

/** Texts that must come through a hit exactly as `JSON.parse` reads them. */
const TEXTS = ["", "plain", 'a "quote" and a \\ backslash', "é ü 😀 Grüße", "line\nbreak\ttab\u0000nul\u001f", "\u2028\u2029", "\ud83d lone", "</think><think>", "0", "1", "\u0001"];

function expectHits(memo: FrameMemo, frame: string, slot: string): void {
  for (const text of TEXTS) {
    const next = around(frame, slot, text);
    const chunk = memo.match(next);
    expect(chunk).toEqual(parsed(next));
    // The same key order as the parse, so whatever serializes the chunk later writes the same bytes.
    expect(JSON.stringify(chunk)).toBe(JSON.stringify(parsed(next)));
  }
}

const frame = (o: unknown, data = "data: ", end = "\n\n") => `${data}${JSON.stringify(o)}${end}`;

/** Token frames as each provider documents its streaming format. */
const PROVIDERS: Array<[string, string, string]> = [
  [
    "OpenAI (system_fingerprint, logprobs: null)",
    frame({ id: "chatcmpl-AbC123", object: "chat.completion.chunk", created: 1_761_000_000, model: "gpt-4o-mini-2024-07-18", system_fingerprint: "fp_44709d6fcb", choices: [{ index: 0, delta: { content: "Hello" }, logprobs: null, finish_reason: null }] }),
    "content",
  ],
  [
    "DeepSeek reasoner (reasoning_content beside content: null)",
    frame({ id: "e2f1a8c4", object: "chat.completion.chunk", created: 1_761_000_000, model: "deepseek-reasoner", system_fingerprint: "fp_ds", choices: [{ index: 0, delta: { content: null, reasoning_content: "The user" }, logprobs: null, finish_reason: null }] }),
    "reasoning_content",
  ],
  [
    "DeepSeek reasoner, the answer (reasoning_content: null)",
    frame({ id: "e2f1a8c4", object: "chat.completion.chunk", created: 1_761_000_000, model: "deepseek-reasoner", system_fingerprint: "fp_ds", choices: [{ index: 0, delta: { content: "Hi", reasoning_content: null }, logprobs: null, finish_reason: null }] }),
    "content",
  ],
  [
    "Ollama (role in every chunk)",
    frame({ id: "chatcmpl-431", object: "chat.completion.chunk", created: 1_761_000_000, model: "llama3.2", system_fingerprint: "fp_ollama", choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }] }),
    "content",
  ],
  [
    "vLLM with a reasoning parser (reasoning)",
    frame({ id: "chatcmpl-9f1", object: "chat.completion.chunk", created: 1_761_000_000, model: "Qwen/Qwen3-8B", choices: [{ index: 0, delta: { reasoning: "Two plus" }, logprobs: null, finish_reason: null }] }),
    "reasoning",
  ],
  [
    "OpenRouter (provider, native_finish_reason, role in every chunk)",
    frame({ id: "gen-1761000000-abc", provider: "OpenAI", model: "openai/gpt-4o", object: "chat.completion.chunk", created: 1_761_000_000, choices: [{ index: 0, delta: { role: "assistant", content: "It is", reasoning: null }, finish_reason: null, native_finish_reason: null, logprobs: null }] }),
    "content",
  ],
  [
    "llama.cpp (choices first, data: without a space)",
    frame({ choices: [{ finish_reason: null, index: 0, delta: { content: "Grüße" } }], created: 1_761_000_000, id: "chatcmpl-ll", model: "qwen3", system_fingerprint: "b6000", object: "chat.completion.chunk" }, "data:"),
    "content",
  ],
  ["a bare chunk (only choices and delta)", frame({ choices: [{ delta: { content: "x" } }] }), "content"],
  [
    "OpenAI, a tool call's arguments streaming (what Codex's patches and commands are made of)",
    frame({ id: "chatcmpl-AbC123", object: "chat.completion.chunk", created: 1_761_000_000, model: "gpt-4o-mini-2024-07-18", system_fingerprint: "fp_44709d6fcb", choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"cmd' } }] }, logprobs: null, finish_reason: null }] }),
    "arguments",
  ],
  [
    "OpenAI, a tool call's first chunk (id, type, name, empty arguments)",
    frame({ id: "chatcmpl-AbC123", object: "chat.completion.chunk", created: 1_761_000_000, model: "gpt-4o-mini-2024-07-18", choices: [{ index: 0, delta: { role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_DdmO9pD3", type: "function", function: { name: "exec_command", arguments: "" } }] }, logprobs: null, finish_reason: null }] }),
    "arguments",
  ],
  [
    "Mistral (tool call arguments whole, id in every call)",
    frame({ id: "cmpl-e5cc", object: "chat.completion.chunk", created: 1_761_000_000, model: "mistral-large-latest", choices: [{ index: 0, delta: { tool_calls: [{ id: "D681PevKs", function: { name: "get_weather", arguments: '{"city": "Paris"}' }, index: 0 }] }, finish_reason: null }] }),
    "arguments",
  ],
];

describe("learn, then match: the chunk JSON.parse would make", () => {
  it.each(PROVIDERS)("%s", (_name, token, slot) => {
    expectHits(learned(token), token, slot);
  });

  it("a text written with escapes the serializer did not use (\\u00e9, a surrogate pair, \\/, a lone surrogate)", () => {
    const [, token] = PROVIDERS[0]!;
    const memo = learned(token);
    for (const raw of ["caf\\u00e9", "\\ud83d\\ude00", "a\\/b", "\\udc00", '\\"\\\\\\b\\f\\n\\r\\t', "\\u0022"]) {
      const next = around(token, "content", "", raw);
      expect(memo.match(next)).toEqual(parsed(next));
    }
  });

  it("a frame ending in CRLF and a blank line (\\r\\n\\n) is learned with its CR", () => {
    const token = frame({ choices: [{ index: 0, delta: { content: "a" } }] }, "data: ", "\r\n\n");
    expectHits(learned(token), token, "content");
  });
});

describe("from text to a tool call and back", () => {
  it("a tool call's argument frames miss the learned text frame, are learned in turn and hit; then text again", () => {
    const env = { id: "c", object: "chat.completion.chunk", created: 1, model: "m" };
    const text = frame({ ...env, choices: [{ index: 0, delta: { content: "a" }, finish_reason: null }] });
    const args = frame({ ...env, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "{" } }] }, finish_reason: null }] });
    const memo = learned(text);
    expect(memo.match(around(text, "content", "b"))).toEqual(parsed(around(text, "content", "b")));
    expect(memo.match(args)).toBeNull();
    memo.learn(args, parsed(args));
    expectHits(memo, args, "arguments");
    expect(memo.match(around(text, "content", "b"))).toBeNull();
  });
});

describe("reads that miss (the usual path takes them)", () => {
  const [, token] = PROVIDERS[0]!;
  const memo = learned(token);
  const chunk = parsed(token) as { created: number; choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }> };
  const other = (edit: (c: typeof chunk) => void) => {
    const c = structuredClone(chunk);
    edit(c);
    return frame(c);
  };

  it.each<[string, string]>([
    ["another envelope (created moved on)", other((c) => (c.created += 1))],
    ["the finish chunk", other((c) => ((c.choices[0]!.delta = {}), (c.choices[0]!.finish_reason = "stop")))],
    ["the text in another field", other((c) => (c.choices[0]!.delta = { refusal: "no" }))],
    ["a tool call", other((c) => (c.choices[0]!.delta = { tool_calls: [{ index: 0, function: { arguments: "{}" } }] }))],
    ["a quote that ends the text early and adds a key", around(token, "content", "", 'a","refusal":"b')],
    ["a quote that ends the text early, duplicating the key", around(token, "content", "", 'a","content":"b')],
    ["a trailing backslash (escapes the closing quote)", around(token, "content", "", "abc\\")],
    ["an escape JSON does not have", around(token, "content", "", "\\x41")],
    ["a short \\u escape", around(token, "content", "", "\\u00e")],
    ["a raw control character", around(token, "content", "", "a\u0001b")],
    ["a raw line break (the line would end there)", around(token, "content", "", "a\nb")],
    ["a raw CR (a line end to SSE)", around(token, "content", "", "a\rdata: b")],
    ["two frames in one read", token + around(token, "content", "x")],
    ["a frame and the start of the next", token + "data: {"],
    ["a comment before the frame", `: keep-alive\n\n${token}`],
    ["an event: line before it", `event: error\n${token}`],
    ["an id: line before it", `id: 7\n${token}`],
    ["CRLF line ends", token.replace(/\n\n$/, "\r\n\r\n")],
    ["no blank line yet", token.slice(0, -1)],
    ["only the start", token.slice(0, 40)],
    ["data: without the space", token.replace("data: ", "data:")],
    ["[DONE]", "data: [DONE]\n\n"],
    ["an error frame", frame({ error: { message: "overloaded", code: 503 } })],
  ])("%s", (_name, read) => {
    expect(memo.match(read)).toBeNull();
  });
});

describe("frames that are not learned (a later frame of the same shape still misses)", () => {
  const base = { id: "c", object: "chat.completion.chunk", created: 1, model: "m" };
  it.each<[string, Record<string, unknown>, string]>([
    ["usage in every chunk (vLLM continuous usage)", { ...base, choices: [{ index: 0, delta: { content: "a" }, finish_reason: null }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }, "content"],
    ["a logprobs object", { ...base, choices: [{ index: 0, delta: { content: "a" }, logprobs: { content: [{ token: "a", logprob: -1, bytes: [97], top_logprobs: [] }] }, finish_reason: null }] }, "content"],
    ["two choices", { ...base, choices: [{ index: 0, delta: { content: "a" } }, { index: 1, delta: { content: "b" } }] }, "content"],
    ["content and reasoning both strings", { ...base, choices: [{ index: 0, delta: { content: "", reasoning: "a" } }] }, "reasoning"],
    ["reasoning with OpenRouter's reasoning_details", { ...base, choices: [{ index: 0, delta: { reasoning: "a", reasoning_details: [{ type: "reasoning.text", text: "a" }] } }] }, "reasoning"],
    ["text beside a tool call", { ...base, choices: [{ index: 0, delta: { content: "a", tool_calls: [{ index: 0, function: { arguments: "" } }] } }] }, "content"],
    ["annotations", { ...base, choices: [{ index: 0, delta: { content: "a", annotations: [] } }] }, "content"],
    ["two tool calls in one delta (Gemini sends them whole)", { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "{}" } }, { index: 1, function: { arguments: "{}" } }] } }] }, "arguments"],
    ["a tool call with reasoning beside it", { ...base, choices: [{ index: 0, delta: { reasoning_content: "r", tool_calls: [{ index: 0, function: { arguments: "a" } }] } }] }, "arguments"],
    ["a tool call with a nested value in its function", { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "a", extra: {} } }] } }] }, "arguments"],
    ["a tool call with a nested value beside its function", { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "a" }, extra: [] }] } }] }, "arguments"],
    ["an arguments key before the tool call's (in the envelope)", { arguments: "top", choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "0" } }] } }] }, "arguments"],
    // Under each of these the first `"content":"` is not the delta's text; learning it would put later texts in the wrong place.
    ["a top-level content key first, the delta's text the same as another marker (\\u0001)", { content: "top", choices: [{ index: 0, delta: { content: "\u0001" } }] }, "content"],
    ["a top-level content key first, the delta's text 0", { content: "top", choices: [{ index: 0, delta: { content: "0" } }] }, "content"],
    ["a top-level content key first, the delta's text 1", { content: "top", choices: [{ index: 0, delta: { content: "1" } }] }, "content"],
    ["a content key in the choice before the delta", { choices: [{ index: 0, content: "c", delta: { content: "0" } }] }, "content"],
    ["a key that ends in \\\"content", { 'x"content': "k", choices: [{ index: 0, delta: { content: "1" } }] }, "content"],
  ])("%s", (_name, chunk, slot) => {
    const token = frame(chunk);
    const memo = learned(token);
    expect(memo.match(token)).toBeNull();
    for (const text of ["next", "0", "1", "\u0001"]) expect(memo.match(around(token, slot, text))).toBeNull();
  });

  it("a duplicated key: the last one wins in JSON.parse, so the first is not the slot", () => {
    const token = 'data: {"choices":[{"index":0,"delta":{"content":"a","content":"0"}}]}\n\n';
    const memo = learned(token);
    expect(memo.match(token.replace('"a"', '"b"'))).toBeNull();
  });

  it("the last of duplicated keys is learned where it is the first of its kind (choices written twice)", () => {
    const token = 'data: {"choices":[{"index":1,"delta":{"refusal":"r"}}],"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n';
    const memo = learned(token);
    const next = token.replace('"a"', '"b"');
    expect(memo.match(next)).toEqual(parsed(next));
  });

  it("a frame whose data is not what the frame reads as JSON (a CR-separated second data line) is not learned", () => {
    // SSE joins the two data lines with a line feed, which JSON reads as a space; the raw frame is not JSON.
    const token = 'data: {"choices":[{"index":0,"delta":{"content":"a"}}]\rdata: }\n\n';
    const memo = new FrameMemo();
    memo.learn(token, JSON.parse('{"choices":[{"index":0,"delta":{"content":"a"}}]\n}'));
    expect(memo.match(token.replace('"a"', '"b"'))).toBeNull();
  });
});

describe("when learning stops", () => {
  const token = (created: number) => frame({ id: "c", created, model: "m", choices: [{ index: 0, delta: { content: "a" } }] });

  it("after 9 frames learned in a row without a hit (every envelope differs) it stops, and forgets the last one", () => {
    const memo = new FrameMemo();
    for (let i = 0; i < 8; i++) memo.learn(token(i), parsed(token(i)));
    expect(memo.learning).toBe(true);
    expect(memo.match(around(token(7), "content", "b"))).not.toBeNull();
    // That hit started the count again.
    for (let i = 0; i < 8; i++) memo.learn(token(100 + i), parsed(token(100 + i)));
    expect(memo.learning).toBe(true);
    memo.learn(token(200), parsed(token(200)));
    expect(memo.learning).toBe(false);
    expect(memo.match(around(token(107), "content", "b"))).toBeNull();
    expect(memo.match(around(token(200), "content", "b"))).toBeNull();
  });

  it("frames it cannot learn count as misses too (a long run of Gemini's whole tool calls)", () => {
    const memo = new FrameMemo();
    const call = frame({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: "{}" } }, { index: 1, function: { arguments: "{}" } }] } }] });
    for (let i = 0; i < 9; i++) memo.learn(call, parsed(call));
    expect(memo.learning).toBe(false);
  });
});
