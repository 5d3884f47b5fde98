import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { createResponsesToChatConverter, type ChatFrame, fromResponse, ResponsesToChatStream, responsesToChatSse, type ResponsesToChatOptions } from "../../../src/index.ts";
import { RESPONSES_FIXTURES } from "../../fixtures/responses-streams.ts";
import { checkChatSse, checkChatStream } from "../../support/chat-invariants.ts";
import { bytesOf, streamOf } from "../../support/helpers.ts";

const fixtures = Object.entries(RESPONSES_FIXTURES);

async function viaPipe(sse: string, options: ResponsesToChatOptions = {}): Promise<string> {
  return await new Response(streamOf([bytesOf(sse)]).pipeThrough(new ResponsesToChatStream(options))).text();
}
async function viaPull(sse: string | Uint8Array[], options: ResponsesToChatOptions = {}): Promise<string> {
  return await new Response(responsesToChatSse(streamOf(typeof sse === "string" ? [bytesOf(sse)] : sse), options)).text();
}

describe("fixtures of real Responses streams → chat chunks", () => {
  it.each(fixtures)("%s: invariants hold with and without include_usage, both shells and the object API agree", async (_name, f) => {
    for (const includeUsage of [false, true]) {
      const raw = await viaPull(f.sse, { includeUsage });
      const summary = checkChatSse(raw, { includeUsage });
      expect(summary.error !== null).toBe(f.fails);
      expect(await viaPipe(f.sse, { includeUsage })).toBe(raw);
      const conv = createResponsesToChatConverter({ includeUsage });
      const frames: ChatFrame[] = [];
      for (const e of f.events) frames.push(...conv.push(e));
      frames.push(...conv.finish());
      expect(frames).toEqual(raw.split("\n\n").filter((x) => x && x !== "data: [DONE]").map((x) => JSON.parse(x.slice(6))));
      checkChatStream(frames, !f.fails, { includeUsage });
    }
  });

  it("text: OpenAI's chunk shapes exactly", async () => {
    const raw = await viaPull(RESPONSES_FIXTURES["textStream"]!.sse, { includeUsage: true });
    const lines = raw.split("\n\n").filter(Boolean);
    const head = { id: "chatcmpl-68c1text", object: "chat.completion.chunk", created: 1_764_000_000, model: "gpt-4o-2024-08-06" };
    expect(JSON.parse(lines[0]!.slice(6))).toEqual({ ...head, choices: [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }], usage: null });
    expect(lines[1]).toBe(`data: {"id":"chatcmpl-68c1text","object":"chat.completion.chunk","created":1764000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}`);
    expect(JSON.parse(lines.at(-3)!.slice(6))).toEqual({ ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }], usage: null });
    expect(JSON.parse(lines.at(-2)!.slice(6))).toEqual({
      ...head,
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 10, total_tokens: 19, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    });
    expect(lines.at(-1)).toBe("data: [DONE]");
    expect(checkChatSse(raw, { includeUsage: true }).content).toBe("Hello! How can I help you today?");
  });

  it("reasoning summary: reasoning_content deltas first (parts set apart by a blank line), then the text; reasoning tokens in usage", async () => {
    const s = checkChatSse(await viaPull(RESPONSES_FIXTURES["reasoningStream"]!.sse, { includeUsage: true }), { includeUsage: true });
    expect(s.reasoning).toBe("**Considering the greeting**\n\nThe user says hello; a short reply fits.\n\n**Answering**\n\nKeep it friendly.");
    expect(s.content).toBe("Hi there! What's up?");
    expect(s.finishReason).toBe("stop");
    expect(s.usage).toMatchObject({ completion_tokens: 230, completion_tokens_details: { reasoning_tokens: 192 } });
  });

  it("parallel function calls: own indexes, id/type/name first, then argument deltas; finish_reason tool_calls", async () => {
    const raw = await viaPull(RESPONSES_FIXTURES["parallelCallsStream"]!.sse, { includeUsage: true });
    const s = checkChatSse(raw, { includeUsage: true });
    expect(s.calls).toEqual([
      { id: "call_Wea7hEr1", name: "get_weather", arguments: '{"city":"Paris"}' },
      { id: "call_T1me2", name: "get_time", arguments: '{"tz":"Europe/Paris"}' },
    ]);
    expect(s.finishReason).toBe("tool_calls");
    expect(s.usage).toMatchObject({ prompt_tokens_details: { cached_tokens: 64 } });
    const tc = s.chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(tc[0]).toEqual({ index: 0, id: "call_Wea7hEr1", type: "function", function: { name: "get_weather", arguments: "" } });
    expect(tc[1]).toEqual({ index: 0, function: { arguments: '{"' } });
  });

  it("refusal in delta.refusal; incomplete → length; content filter → content_filter; citations as annotations", async () => {
    const refusal = checkChatSse(await viaPull(RESPONSES_FIXTURES["refusalStream"]!.sse));
    expect(refusal).toMatchObject({ refusal: "I'm sorry, but I can't help with that.", content: "", finishReason: "stop" });
    expect(checkChatSse(await viaPull(RESPONSES_FIXTURES["incompleteStream"]!.sse)).finishReason).toBe("length");
    expect(checkChatSse(await viaPull(RESPONSES_FIXTURES["filteredStream"]!.sse)).finishReason).toBe("content_filter");
    const cite = checkChatSse(await viaPull(RESPONSES_FIXTURES["citationStream"]!.sse));
    expect(cite.chunks.flatMap((c) => c.choices[0]?.delta.annotations ?? [])).toEqual([{ type: "url_citation", url_citation: { url: "https://en.wikipedia.org/wiki/Paris", title: "Paris", start_index: 0, end_index: 5 } }]);
  });

  it("response.failed and error events end in an error frame in OpenAI's shape, after the text that arrived, without [DONE]", async () => {
    const failed = await viaPull(RESPONSES_FIXTURES["failedStream"]!.sse);
    const s = checkChatSse(failed);
    expect(s.content).toBe("Partial answer");
    expect(s.error).toEqual({ message: "The server had an error while processing your request. Sorry about that!", type: "server_error", param: null, code: "server_error" });
    expect(failed).not.toContain("[DONE]");
    expect(failed).not.toContain('"finish_reason":"stop"');
    const rate = checkChatSse(await viaPull(RESPONSES_FIXTURES["errorEventStream"]!.sse));
    expect(rate.error).toEqual({ message: "Rate limit reached for gpt-5. Please try again in 20s.", type: "rate_limit_exceeded", param: null, code: "rate_limit_exceeded" });
  });

  it("a stream cut before its terminal event ends in an error frame, never a clean stop", async () => {
    const sse = RESPONSES_FIXTURES["textStream"]!.sse;
    const cut = sse.slice(0, sse.indexOf("response.output_text.done") - 10);
    const s = checkChatSse(await viaPipe(cut));
    expect(s.error?.message).toMatch(/ended before the response did/);
    expect(s.content.length).toBeGreaterThan(0);
  });

  it("a reset mid-stream reaches the pull form's client as an error frame", async () => {
    const bytes = bytesOf(RESPONSES_FIXTURES["textStream"]!.sse);
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (!sent) {
          sent = true;
          return c.enqueue(bytes.subarray(0, bytes.length >> 1));
        }
        c.error(new TypeError("terminated"));
      },
    });
    const s = checkChatSse(await new Response(responsesToChatSse(body)).text());
    expect(s.error).toMatchObject({ code: "upstream_disconnected", message: expect.stringContaining("terminated") });
  });

  it("a stalled upstream ends with an idle-timeout error frame and is cancelled", async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytesOf(RESPONSES_FIXTURES["textStream"]!.sse.split("event: response.output_text.delta")[0]!));
      },
      cancel() {
        cancelled = true;
      },
    });
    const s = checkChatSse(await new Response(responsesToChatSse(body, { idleTimeoutMs: 50 })).text());
    expect(s.error).toMatchObject({ code: "upstream_idle_timeout" });
    expect(cancelled).toBe(true);
  });

  it("a server that sends only done events, or only the final response, still gives every text and call", async () => {
    const full = RESPONSES_FIXTURES["textThenCallStream"]!.events;
    const noDeltas = full.filter((e) => !e.type.endsWith(".delta"));
    const conv = createResponsesToChatConverter();
    const frames = [...noDeltas.flatMap((e) => conv.push(e)), ...conv.finish()];
    expect(checkChatStream(frames, true)).toMatchObject({ content: "Let me check.", calls: [{ id: "call_M1x", name: "lookup", arguments: '{"q":"x"}' }], finishReason: "tool_calls" });
    const onlyFinal = full.filter((e) => e.type === "response.created" || e.type === "response.completed");
    const c2 = createResponsesToChatConverter();
    expect(checkChatStream([...onlyFinal.flatMap((e) => c2.push(e)), ...c2.finish()], true)).toMatchObject({ content: "Let me check.", finishReason: "tool_calls" });
  });

  it("a Response object sent where a stream was asked for is converted whole", async () => {
    const final = RESPONSES_FIXTURES["reasoningStream"]!.events.at(-1)!["response"];
    const s = checkChatSse(await viaPull(JSON.stringify(final)));
    expect(s).toMatchObject({ content: "Hi there! What's up?", finishReason: "stop" });
    const err = checkChatSse(await viaPull(JSON.stringify({ error: { message: "nope", type: "invalid_request_error", code: null, param: null } })));
    expect(err.error?.message).toContain("nope");
  });
});

describe("the openai SDK reads the converted stream", () => {
  const client = (raw: () => Promise<ReadableStream<Uint8Array>>) =>
    new OpenAI({ apiKey: "sk-test", baseURL: "http://sdk.test/v1", maxRetries: 0, fetch: async () => new Response(await raw(), { headers: { "content-type": "text/event-stream" } }) });

  it("chat.completions.stream(): final completion with parallel tool calls and usage", async () => {
    const sdk = client(async () => responsesToChatSse(streamOf([bytesOf(RESPONSES_FIXTURES["parallelCallsStream"]!.sse)]), { includeUsage: true }));
    const stream = sdk.chat.completions.stream({ model: "gpt-5", messages: [{ role: "user", content: "x" }], stream_options: { include_usage: true } });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    expect(final.choices[0]!.message.tool_calls?.map((t) => (t.type === "function" ? [t.id, t.function.name, t.function.arguments] : []))).toEqual([
      ["call_Wea7hEr1", "get_weather", '{"city":"Paris"}'],
      ["call_T1me2", "get_time", '{"tz":"Europe/Paris"}'],
    ]);
    expect(final.usage?.total_tokens).toBe(144);
  });

  it("an error frame becomes the SDK's APIError", async () => {
    const sdk = client(async () => responsesToChatSse(streamOf([bytesOf(RESPONSES_FIXTURES["failedStream"]!.sse)])));
    const stream = await sdk.chat.completions.create({ model: "gpt-5", messages: [{ role: "user", content: "x" }], stream: true });
    const seen: string[] = [];
    const error = await (async () => {
      for await (const c of stream) seen.push(c.choices[0]?.delta.content ?? "");
    })().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as Error).message).toContain("The server had an error");
    expect(seen.join("")).toBe("Partial answer");
  });
});

describe("fromResponse: one chat.completion", () => {
  const finalOf = (name: string) => RESPONSES_FIXTURES[name]!.events.at(-1)!["response"];

  it("text, reasoning, usage", () => {
    expect(fromResponse(finalOf("reasoningStream"))).toEqual({
      id: "chatcmpl-68c1reas",
      object: "chat.completion",
      created: 1_764_000_000,
      model: "gpt-5-2025-08-07",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hi there! What's up?", refusal: null, annotations: [], reasoning_content: "**Considering the greeting**\n\nThe user says hello; a short reply fits.\n\n**Answering**\n\nKeep it friendly." },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 12, completion_tokens: 230, total_tokens: 242, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 192 } },
    });
  });

  it("tool calls, refusal, incomplete, failed", () => {
    const calls = fromResponse(finalOf("parallelCallsStream"));
    expect(calls.choices[0]).toMatchObject({ finish_reason: "tool_calls", message: { content: null, tool_calls: [{ id: "call_Wea7hEr1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }, { id: "call_T1me2" }] } });
    expect(fromResponse(finalOf("refusalStream")).choices[0]!.message).toMatchObject({ content: null, refusal: "I'm sorry, but I can't help with that." });
    expect(fromResponse(finalOf("incompleteStream")).choices[0]!.finish_reason).toBe("length");
    expect(() => fromResponse(finalOf("failedStream"))).toThrow(/The server had an error/);
    const limited = { ...(finalOf("errorEventStream") as object), status: "failed", error: { code: "rate_limit_exceeded", message: "Slow down." } };
    expect(() => fromResponse(limited)).toThrow(expect.objectContaining({ status: 429, code: "rate_limit_exceeded", type: "rate_limit_exceeded" }));
    expect(() => fromResponse({ object: "list" })).toThrow(expect.objectContaining({ status: 502 }));
  });
});

describe("keep-alives", () => {
  it("upstream SSE comments reach the client as `: keep-alive`, at most once per keepAliveMs", async () => {
    const events = RESPONSES_FIXTURES["reasoningStream"]!.sse.split("\n\n").filter(Boolean);
    let now = 0;
    const withComments = [events[0], ": ping", ": ping", events[1], ": ping", ...events.slice(2)].join("\n\n") + "\n\n";
    const clock = () => (now += 600);
    const raw = await new Response(responsesToChatSse(streamOf(withComments.split(/(?<=\n\n)/).map(bytesOf)), { keepAliveMs: 1000, clock })).text();
    expect(raw.match(/^: keep-alive$/gm)).toHaveLength(2);
    expect(checkChatSse(raw).content).toBe("Hi there! What's up?");
  });
});

describe("the pull form's idle timeout", () => {
  it("counts only time spent waiting on the upstream: a client that reads slowly is not an idle upstream", async () => {
    const frames = RESPONSES_FIXTURES["textStream"]!.sse.split(/(?<=\n\n)/).map(bytesOf);
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (i < frames.length) c.enqueue(frames[i++]!);
        else c.close();
      },
    });
    const reader = responsesToChatSse(body, { idleTimeoutMs: 40 }).getReader();
    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      // The consumer pauses longer than the idle timeout between reads; the upstream always had bytes ready.
      await new Promise((r) => setTimeout(r, 60));
    }
    const s = checkChatSse(text);
    expect(s.error).toBeNull();
    expect(s.content).toBe("Hello! How can I help you today?");
  });
});
