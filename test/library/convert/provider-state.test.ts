import { describe, expect, it } from "vitest";
import { chatToResponsesSse, createChatToResponsesConverter, fromChatCompletion, type ChatCompletionChunk, type FunctionCallItem, type OutputItem, type ReasoningItem, type ResponseResource, toChatRequest } from "../../../src/index.ts";
import { compactionExpander, contextCompactionItem, createSealer, reasoningExpander, sealReasoningEvents, sealReasoningItems, type ConversationItem } from "../../../src/server.ts";
import { providerStateOf } from "../../../src/convert/provider-state.ts";
import { upstreamTag } from "../../../src/convert/reasoning-origin.ts";
import * as up from "../../fixtures/upstreams.ts";
import { GEMINI_SIGNATURE, geminiChunks, geminiSignedCalls, OPENROUTER_DETAILS, OPENROUTER_SIGNATURE, openrouterChunks, openrouterSignedReasoning } from "../../fixtures/provider-state.ts";
import { assertProtocol, bytesOf, convert, counterIds, parseResponsesSse, streamOf, testOptions } from "../../support/helpers.ts";

const sealer = createSealer("provider state secret");
const GEMINI = "https://generativelanguage.googleapis.com/v1beta/openai gemini-3-pro-preview";
const OPENROUTER = "https://openrouter.ai/api/v1 anthropic/claude-sonnet-4.5";

function run(chunks: unknown[], upstream: string): ResponseResource {
  const c = createChatToResponsesConverter({ ids: counterIds(), upstream });
  for (const chunk of chunks) c.push(chunk as ChatCompletionChunk);
  c.done();
  return c.response;
}

/** The output as a client sends it back: JSON (so only what left the bridge), tokens opened by the expander. */
async function sentBack(output: OutputItem[], by = sealer): Promise<ConversationItem[]> {
  const items = JSON.parse(JSON.stringify(output)) as ConversationItem[];
  const expand = reasoningExpander(by);
  const out: ConversationItem[] = [];
  for (const item of items) out.push(...((await expand(item, null)) ?? [item]));
  return out;
}

function nextTurn(history: ConversationItem[], upstream: string, model = "m") {
  const outputs = history.filter((i) => (i as { type?: string }).type === "function_call").map((i) => ({ type: "function_call_output", call_id: (i as FunctionCallItem).call_id, output: "18C" }));
  return toChatRequest({ model, input: [{ role: "user", content: "Weather?" }, ...history, ...outputs] as never }, { upstream }).request;
}

describe("Gemini 3: thought signatures on tool calls", () => {
  it("calls without `index` are told apart by id; the signature is kept beside a reasoning item before the calls, never on any item", async () => {
    const r = run(geminiChunks(), GEMINI);
    expect(r.output.map((i) => i.type)).toEqual(["message", "reasoning", "function_call", "function_call"]);
    const calls = r.output.filter((i): i is FunctionCallItem => i.type === "function_call");
    expect(calls.map((c) => [c.call_id, c.arguments])).toEqual([["function-call-1", '{"city":"Paris"}'], ["function-call-2", '{"city":"Rome"}']]);
    const carrier = r.output[1] as ReasoningItem;
    expect(carrier.summary).toEqual([]);
    expect(providerStateOf(carrier)).toEqual({ upstream: upstreamTag(GEMINI), calls: { "function-call-1": { google: { thought_signature: GEMINI_SIGNATURE } } } });
    expect(JSON.stringify(r)).not.toContain(GEMINI_SIGNATURE);
  });

  it("the SSE stream: a carrier with no summary part, protocol-valid, no signature in the clear; sealed, it goes back on its call", async () => {
    const raw = await new Response(chatToResponsesSse(streamOf([bytesOf(geminiSignedCalls)]), { ...testOptions({ upstream: GEMINI }), beforeFlush: sealReasoningEvents(sealer, false) })).text();
    const events = parseResponsesSse(raw);
    assertProtocol(raw, events);
    expect(events.some((e) => e.type === "response.reasoning_summary_part.added")).toBe(false);
    const final = (events.at(-1) as { response: ResponseResource }).response;
    expect(raw.includes(GEMINI_SIGNATURE)).toBe(false);
    expect((final.output[1] as ReasoningItem).encrypted_content).toMatch(/^rb1\./);
    const request = nextTurn(await sentBack(final.output), GEMINI);
    const assistant = request.messages.find((m) => m.role === "assistant");
    expect(assistant).toMatchObject({ role: "assistant", content: "Checking both." });
    const toolCalls = assistant?.role === "assistant" ? assistant.tool_calls! : [];
    expect(toolCalls.map((c) => c.extra_content)).toEqual([{ google: { thought_signature: GEMINI_SIGNATURE } }, undefined]);
  });

  it("a signature arriving while another call's arguments still stream is carried by a reasoning item at the end", async () => {
    const chunk = (tool_calls: unknown[], finish_reason: string | null = null) => ({ id: "g", choices: [{ index: 0, delta: { tool_calls }, finish_reason }] });
    const r = run(
      [
        chunk([{ index: 0, id: "a", type: "function", function: { name: "get_weather", arguments: '{"ci' } }]),
        chunk([{ index: 1, id: "b", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' }, extra_content: { google: { thought_signature: "sig-b" } } }]),
        chunk([{ index: 0, function: { arguments: 'ty":"Paris"}' } }], "tool_calls"),
      ],
      GEMINI,
    );
    expect(r.output.map((i) => i.type)).toEqual(["function_call", "function_call", "reasoning"]);
    expect(r.output.map((i) => (i as FunctionCallItem).arguments)).toEqual(['{"city":"Paris"}', '{"city":"Rome"}', undefined]);
    expect(providerStateOf(r.output[2]!)?.calls).toEqual({ b: { google: { thought_signature: "sig-b" } } });
    await sealReasoningItems(r.output, sealer, false);
    const assistant = nextTurn(await sentBack(r.output), GEMINI).messages.find((m) => m.role === "assistant");
    expect(assistant?.role === "assistant" && assistant.tool_calls!.map((c) => c.extra_content)).toEqual([undefined, { google: { thought_signature: "sig-b" } }]);
  });

  it("a non-streamed completion keeps the signature alike", async () => {
    const completion = {
      id: "gem-2",
      model: "gemini-3-flash-preview",
      choices: [{ index: 0, finish_reason: "tool_calls", message: { role: "assistant", content: null, tool_calls: [{ id: "fc-9", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' }, extra_content: { google: { thought_signature: "sig-9" } } }] } }],
    };
    const r = fromChatCompletion(completion as never, { ids: counterIds(), upstream: GEMINI });
    expect(r.output.map((i) => i.type)).toEqual(["reasoning", "function_call"]);
    await sealReasoningItems(r.output, sealer, false);
    const request = nextTurn(await sentBack(r.output), GEMINI);
    const assistant = request.messages.find((m) => m.role === "assistant");
    expect(assistant?.role === "assistant" && assistant.tool_calls?.[0]?.extra_content).toEqual({ google: { thought_signature: "sig-9" } });
  });

  it("a text answer's signature (streamed on a last chunk with no content) rides a reasoning item after the message, and goes back on that message", async () => {
    const r = run(
      [
        { id: "g", choices: [{ index: 0, delta: { role: "assistant", content: "Hi there." } }] },
        { id: "g", choices: [{ index: 0, delta: { role: "assistant", extra_content: { google: { thought_signature: "text-sig" } } }, finish_reason: "stop" }] },
      ],
      GEMINI,
    );
    expect(r.output.map((i) => i.type)).toEqual(["message", "reasoning"]);
    await sealReasoningItems(r.output, sealer, false);
    const history = await sentBack(r.output);
    const request = toChatRequest({ model: "m", input: [{ role: "user", content: "Hi" }, ...history, { role: "user", content: "Again" }] as never }, { upstream: GEMINI }).request;
    expect(request.messages).toEqual([
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hi there.", extra_content: { google: { thought_signature: "text-sig" } } },
      { role: "user", content: "Again" },
    ]);
  });

  it("a text answer's signature on its first content delta (as Google's endpoint has been seen to send it) goes back on that message alike", async () => {
    const r = run(
      [
        { id: "g", choices: [{ index: 0, delta: { role: "assistant", content: "Hi", extra_content: { google: { thought_signature: "first-sig" } } } }] },
        { id: "g", choices: [{ index: 0, delta: { content: " there." }, finish_reason: "stop" }] },
      ],
      GEMINI,
    );
    expect(r.output.map((i) => i.type)).toEqual(["message", "reasoning"]);
    await sealReasoningItems(r.output, sealer, false);
    const request = toChatRequest({ model: "m", input: [{ role: "user", content: "Hi" }, ...(await sentBack(r.output)), { role: "user", content: "Again" }] as never }, { upstream: GEMINI }).request;
    expect(request.messages[1]).toEqual({ role: "assistant", content: "Hi there.", extra_content: { google: { thought_signature: "first-sig" } } });
  });

  it("state comes only from a token: the expander drops it in the clear, and keeps it on an item it restored when that item passes again", async () => {
    const r = run(geminiChunks(), GEMINI);
    await sealReasoningItems(r.output, sealer, false);
    const expand = reasoningExpander(sealer);
    const [restored] = (await expand(JSON.parse(JSON.stringify(r.output[1])) as ConversationItem, null))!;
    expect(restored).toHaveProperty("provider_state");
    // Passed again (a summary run over an expanded input): left as it is.
    expect(await expand(restored!, null)).toBeUndefined();
    // The same in the clear (a client's copy): the state is dropped, the rest kept.
    const copy = JSON.parse(JSON.stringify(restored)) as ConversationItem;
    const [cleaned] = (await expand(copy, "input[1]"))!;
    expect(cleaned).not.toHaveProperty("provider_state");
    expect(cleaned).toMatchObject({ type: "reasoning", id: (restored as { id: string }).id });
    expect(JSON.stringify(nextTurn([cleaned!, r.output[2]!] as ConversationItem[], GEMINI))).not.toContain(GEMINI_SIGNATURE);
  });

  it("the turn a server-side compaction keeps holds its state: passed again after the compaction opened (a later summary run), still there", async () => {
    const r = run(geminiChunks(), GEMINI);
    await sealReasoningItems(r.output, sealer, false);
    const turn = [{ role: "user", content: "Weather?" }, ...(await sentBack(r.output))] as ConversationItem[];
    const summary = { output: [{ type: "message", role: "assistant", content: [{ type: "output_text", text: "Earlier: nothing." }] }] } as unknown as ResponseResource;
    const item = await contextCompactionItem(summary, turn, sealer, "cmp_1");
    const opened = (await compactionExpander(sealer)(JSON.parse(JSON.stringify(item)) as ConversationItem, "input[0]"))!;
    const again: ConversationItem[] = [];
    for (const i of opened) again.push(...((await reasoningExpander(sealer)(i, "input[0]")) ?? [i]));
    const assistant = nextTurn(again.slice(2), GEMINI).messages.find((m) => m.role === "assistant");
    expect(assistant?.role === "assistant" && assistant.tool_calls!.map((c) => c.extra_content)).toEqual([{ google: { thought_signature: GEMINI_SIGNATURE } }, undefined]);
  });

  it("never to another upstream, nor from a token another sealer made", async () => {
    const r = run(geminiChunks(), GEMINI);
    await sealReasoningItems(r.output, sealer, false);
    for (const request of [nextTurn(await sentBack(r.output), "https://api.groq.com/openai/v1 llama"), nextTurn(await sentBack(r.output, createSealer("another deployment")), GEMINI)]) {
      expect(JSON.stringify(request)).not.toContain(GEMINI_SIGNATURE);
      expect(JSON.stringify(request)).not.toContain("extra_content");
    }
  });
});

describe("OpenRouter: signed reasoning_details", () => {
  it("pieces merge per index into whole entries, kept beside the reasoning item; the text streams as before", async () => {
    const r = run(openrouterChunks(), OPENROUTER);
    expect(r.output.map((i) => i.type)).toEqual(["reasoning", "function_call"]);
    const reasoning = r.output[0] as ReasoningItem;
    expect(reasoning.summary).toEqual([{ type: "summary_text", text: "The user wants the weather." }]);
    expect(providerStateOf(reasoning)).toEqual({ upstream: upstreamTag(OPENROUTER), details: OPENROUTER_DETAILS });
    expect(JSON.stringify(r)).not.toContain(OPENROUTER_SIGNATURE);
  });

  it("back whole and unchanged on the assistant message that made the call, in place of the plain text", async () => {
    const raw = await new Response(chatToResponsesSse(streamOf([bytesOf(openrouterSignedReasoning)]), { ...testOptions({ upstream: OPENROUTER }), beforeFlush: sealReasoningEvents(sealer, false) })).text();
    const final = (parseResponsesSse(raw).at(-1) as { response: ResponseResource }).response;
    expect(raw.includes(OPENROUTER_SIGNATURE)).toBe(false);
    const request = nextTurn(await sentBack(final.output), OPENROUTER);
    expect(request.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
    const assistant = request.messages[1]!;
    expect(assistant).toMatchObject({ role: "assistant", reasoning_details: OPENROUTER_DETAILS, tool_calls: [{ id: "toolu_01" }] });
    expect(assistant).not.toHaveProperty("reasoning");
  });

  it("entries that come with the calls (OpenRouter's Gemini signatures) stay with that answer: carried at the end, back on its one message", async () => {
    const sig = { type: "reasoning.encrypted", data: "gemini-sig", id: "tool_1", format: "google-gemini-v1", index: 0 };
    const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) => ({ id: "g", choices: [{ index: 0, delta, finish_reason }] });
    const r = run(
      [
        chunk({ content: "Checking." }),
        chunk({ tool_calls: [{ index: 0, id: "tool_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }], reasoning_details: [sig] }),
        chunk({ tool_calls: [{ index: 1, id: "tool_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } }] }, "tool_calls"),
      ],
      OPENROUTER,
    );
    expect(r.output.map((i) => i.type)).toEqual(["message", "function_call", "function_call", "reasoning"]);
    await sealReasoningItems(r.output, sealer, false);
    const request = nextTurn(await sentBack(r.output), OPENROUTER);
    expect(request.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool", "tool"]);
    expect(request.messages[1]).toMatchObject({ content: "Checking.", reasoning_details: [sig], tool_calls: [{ id: "tool_1" }, { id: "tool_2" }] });
  });

  it("a turn whose only reasoning is an encrypted entry still has an item to carry it", async () => {
    const r = run([{ id: "g", choices: [{ index: 0, delta: { reasoning_details: [{ type: "reasoning.encrypted", data: "xyz", format: "anthropic-claude-v1", index: 0 }] } }] }, { id: "g", choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: "stop" }] }], OPENROUTER);
    expect(r.output.map((i) => i.type)).toEqual(["reasoning", "message"]);
    expect(providerStateOf(r.output[0]!)?.details).toEqual([{ type: "reasoning.encrypted", data: "xyz", format: "anthropic-claude-v1", index: 0 }]);
  });
});

describe("a stream without provider state", () => {
  it("keeps its items as they were, and the sealing hook has no batch to seal (no promise)", async () => {
    const hook = sealReasoningEvents(sealer, false);
    let promises = 0;
    const raw = await new Response(
      chatToResponsesSse(streamOf([bytesOf(up.deepseekReasoning)]), {
        ...testOptions({ request: { model: "deepseek-chat" } }),
        beforeFlush: (pending) => {
          const p = hook(pending);
          if (p) promises++;
          return p;
        },
      }),
    ).text();
    expect(promises).toBe(0);
    const plain = await convert(up.deepseekReasoning, testOptions({ request: { model: "deepseek-chat" } }));
    expect(raw).toBe(plain.raw);
  });
});
