import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createResponsesToChatConverter, ResponsesToChatStream, responsesToChatSse } from "../../../src/index.ts";
import { RESPONSES_FIXTURES } from "../../fixtures/responses-streams.ts";
import { checkChatSse, checkChatStream } from "../../support/chat-invariants.ts";
import { bytesOf, splitAt, streamOf } from "../../support/helpers.ts";

const fixtures = Object.entries(RESPONSES_FIXTURES);
const pipe = async (parts: Uint8Array[]) => await new Response(streamOf(parts).pipeThrough(new ResponsesToChatStream({ includeUsage: true }))).text();
const pull = async (parts: Uint8Array[]) => await new Response(responsesToChatSse(streamOf(parts), { includeUsage: true })).text();

describe("reverse: byte splitting never changes the output", () => {
  it.each(fixtures)("%s", { timeout: 60_000 }, async (_name, f) => {
    const bytes = bytesOf(f.sse);
    const whole = await pull([bytes]);
    checkChatSse(whole, { includeUsage: true });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
        const parts = splitAt(bytes, cuts);
        expect(await pull(parts)).toBe(whole);
        expect(await pipe(parts)).toBe(whole);
      }),
      { numRuns: 60 },
    );
  });

  it("one byte at a time", { timeout: 60_000 }, async () => {
    for (const [, f] of fixtures) {
      const bytes = bytesOf(f.sse);
      expect(await pull(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)))).toBe(await pull([bytes]));
    }
  });
});

describe("reverse: the tool-call and usage shapes hold for every stream", () => {
  const piece = fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom("a", "é", '"', "\\", "{", "}", " ", "😀") });
  const call = fc.record({ name: fc.constantFrom("get_weather", "lookup", "f"), pieces: fc.array(piece, { maxLength: 5 }) });
  const textPieces = fc.array(piece, { maxLength: 6 });
  const ending = fc.constantFrom("completed", "incomplete", "failed", "error", "cut");

  it("generated turns (reasoning?, text?, calls, any ending), with some delta events dropped", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.property(fc.option(textPieces), fc.option(textPieces), fc.array(call, { maxLength: 4 }), ending, fc.boolean(), fc.boolean(), (reasoning, text, calls, end, dropDeltas, includeUsage) => {
        const events: Array<Record<string, unknown> & { type: string }> = [];
        const output: unknown[] = [];
        const response = (status: string) => ({ id: "resp_p", object: "response", created_at: 1, model: "gpt-5", status, output, usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 }, incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null, error: status === "failed" ? { code: "server_error", message: "boom" } : null });
        events.push({ type: "response.created", response: response("in_progress") });
        const delta = (e: Record<string, unknown> & { type: string }) => void (dropDeltas ? null : events.push(e));
        if (reasoning) {
          const id = "rs_1";
          reasoning.forEach((d) => delta({ type: "response.reasoning_summary_text.delta", item_id: id, output_index: output.length, summary_index: 0, delta: d }));
          const item = { id, type: "reasoning", summary: [{ type: "summary_text", text: reasoning.join("") }] };
          events.push({ type: "response.output_item.done", output_index: output.length, item });
          output.push(item);
        }
        if (text) {
          const id = "msg_1";
          text.forEach((d) => delta({ type: "response.output_text.delta", item_id: id, output_index: output.length, content_index: 0, delta: d }));
          const item = { id, type: "message", role: "assistant", status: "completed", content: [{ type: "output_text", text: text.join(""), annotations: [] }] };
          events.push({ type: "response.output_item.done", output_index: output.length, item });
          output.push(item);
        }
        calls.forEach((c, i) => {
          const id = `fc_${i}`;
          const item = { id, type: "function_call", call_id: `call_${i}`, name: c.name, arguments: c.pieces.join(""), status: "completed" };
          events.push({ type: "response.output_item.added", output_index: output.length, item: { ...item, arguments: "", status: "in_progress" } });
          c.pieces.forEach((d) => delta({ type: "response.function_call_arguments.delta", item_id: id, output_index: output.length, delta: d }));
          events.push({ type: "response.output_item.done", output_index: output.length, item });
          output.push(item);
        });
        if (end === "completed" || end === "incomplete" || end === "failed") events.push({ type: `response.${end}`, response: response(end) });
        else if (end === "error") events.push({ type: "error", code: "server_error", message: "boom", param: null });
        const conv = createResponsesToChatConverter({ includeUsage });
        const frames = [...events.flatMap((e) => conv.push(e)), ...conv.finish()];
        const clean = end === "completed" || end === "incomplete";
        const s = checkChatStream(frames, clean, { includeUsage });
        expect(s.reasoning).toBe((reasoning ?? []).join(""));
        expect(s.content).toBe((text ?? []).join(""));
        expect(s.calls).toEqual(calls.map((c, i) => ({ id: `call_${i}`, name: c.name, arguments: c.pieces.join("") })));
        if (clean) expect(s.finishReason).toBe(end === "incomplete" ? "length" : calls.length ? "tool_calls" : "stop");
        else expect(s.error).not.toBeNull();
      }),
      { numRuns: 300 },
    );
  });
});

describe("reverse: the delta memo (frames read one per read) gives what the full parse gives", () => {
  const text = fc.string({ maxLength: 8, unit: fc.constantFrom("a", "é", '"', "\\", "\\n", "\n", "\t", "\u0001", "😀", "\u2028", "}", ",\"sequence_number\":1}") });

  it("any texts, with escapes, in OpenAI's frames and in frames whose tail the memo does not know", { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(text, { minLength: 1, maxLength: 12 }), fc.array(fc.boolean(), { maxLength: 12 }), async (pieces, odd) => {
        const frame = (e: Record<string, unknown> & { type: string }) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
        const resp = { id: "resp_m", object: "response", created_at: 1, model: "m", status: "in_progress", output: [] };
        const frames = [frame({ type: "response.created", response: resp, sequence_number: 0 })];
        pieces.forEach((delta, i) => {
          const base = { type: "response.output_text.delta", item_id: "msg_m", output_index: 0, content_index: 0, delta };
          // Some frames carry logprobs or an unknown field after the text: the memo must miss them, not misread them.
          const extra = odd[i] ? { logprobs: [{ token: "x", logprob: -1, bytes: [120], top_logprobs: [] }] } : { logprobs: [], obfuscation: "abc" };
          frames.push(frame({ ...base, ...extra, sequence_number: i + 1 }));
        });
        frames.push(frame({ type: "response.completed", response: { ...resp, status: "completed" }, sequence_number: 99 }));
        const perRead = frames.map((f) => bytesOf(f));
        const whole = await pull([bytesOf(frames.join(""))]);
        expect(await pull(perRead)).toBe(whole);
        expect(checkChatSse(whole, { includeUsage: true }).content).toBe(pieces.join(""));
      }),
      { numRuns: 200 },
    );
  });
});
