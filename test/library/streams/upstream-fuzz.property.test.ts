import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createResponsesReader, type ResponseStreamEvent } from "../../../src/index.ts";
import { checkInvariants, parseSseStrict } from "../../support/invariants.ts";
import { faultyBody } from "../../support/faulty-upstream.ts";
import { splitAt, testOptions } from "../../support/helpers.ts";

/**
 * Generated upstreams, end to end through the reader core (bytes → SSE
 * events): chunks of the fields providers really use with hostile values
 * mixed in, comments, junk frames, cut at any byte, ending cleanly, without
 * [DONE], or with a connection reset. Every output must hold every protocol
 * invariant. Seeded, so a failure replays; fast-check shrinks it to a
 * minimal upstream.
 */
const SEED = 20_261_125;
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);

const str = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("<think>", "</think>", '{"a":', '{"input":"x', "}", "\\", "\u2028", "😀", "é"));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const toolCall = fc.record(
  {
    index: maybe(fc.oneof(fc.nat(2), fc.constant(null))),
    id: maybe(fc.oneof(fc.constantFrom("call_a", "call_b"), fc.constant(null))),
    function: maybe(fc.oneof(fc.record({ name: maybe(fc.constantFrom("f", "g", "patch", "")), arguments: maybe(str) }, { requiredKeys: [] }), fc.constant(null))),
  },
  { requiredKeys: [] },
);
const delta = fc.record(
  {
    content: maybe(fc.oneof(str, fc.constant(null), fc.constant(42))),
    refusal: maybe(str),
    reasoning_content: maybe(str),
    reasoning: maybe(str),
    tool_calls: maybe(fc.oneof(fc.array(toolCall, { maxLength: 2 }), fc.constant(null))),
    annotations: maybe(fc.constant([{ type: "url_citation", url_citation: { url: "https://x", title: "t", start_index: 0, end_index: 1 } }])),
  },
  { requiredKeys: [] },
);
const chunkJson = fc.oneof(
  { weight: 10, arbitrary: fc.record({ choices: fc.array(fc.record({ index: fc.constantFrom(0, 0, 1), delta: fc.oneof(delta, fc.constant(null)), finish_reason: maybe(fc.constantFrom(null, "stop", "length", "tool_calls", "content_filter", "error")), logprobs: maybe(fc.constant({ content: [{ token: "a", logprob: -1, bytes: null, top_logprobs: null }] })) }), { maxLength: 2 }), usage: maybe(fc.record({ prompt_tokens: fc.oneof(fc.nat(), fc.double()), completion_tokens: fc.nat() })) }).map((c) => JSON.stringify(c)) },
  { weight: 1, arbitrary: fc.constantFrom('{"error":{"message":"overloaded","code":503}}', "{}", '{"choices":null}', "[]", "null", '"text"', "{not json", "[DONE]") },
);
const frame = fc.oneof(
  { weight: 12, arbitrary: chunkJson.map((j) => `data: ${j}\n\n`) },
  { weight: 1, arbitrary: fc.constantFrom(": keep-alive\n\n", ":\n\n", "event: error\ndata: {\"message\":\"boom\"}\n\n", "\r\n", "data:{\"choices\":[]}\r\n\r\n") },
);

const upstream = fc.record({
  frames: fc.array(frame, { maxLength: 14 }),
  done: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
  /** Keep only this fraction of the bytes (1 = all). */
  keep: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  ending: fc.constantFrom("close" as const, "reset" as const),
  thinkTags: fc.boolean(),
  custom: fc.boolean(),
});

const utf8 = new TextEncoder();

describe("generated upstreams through the reader core", () => {
  it(`${RUNS} streams: every output holds every invariant, and never completes after a cut or reset`, async () => {
    await fc.assert(
      fc.asyncProperty(upstream, async (u) => {
        const whole = utf8.encode(u.frames.join("") + (u.done ? "data: [DONE]\n\n" : ""));
        const kept = whole.subarray(0, Math.floor(whole.length * u.keep));
        const body = faultyBody(splitAt(kept, u.cuts), u.ending);
        const tools = u.custom ? new Map([["patch", { kind: "custom" as const, name: "apply_patch" }]]) : undefined;
        const reader = createResponsesReader(body.body, { ...testOptions({ thinkTags: u.thinkTags, tools }), idleTimeoutMs: 0 });
        let raw = "";
        const sink = { event: (type: string, json: string) => void (raw += `event: ${type}\ndata: ${json}\n\n`), keepAlive: () => void (raw += ": keep-alive\n\n") };
        while (await reader.pull(sink));
        raw += "data: [DONE]\n\n";
        const events: ResponseStreamEvent[] = parseSseStrict(raw);
        const final = checkInvariants(raw, events, { obfuscated: true });
        expect(reader.response).toEqual(final);
        const keptText = new TextDecoder().decode(kept);
        // Only a [DONE] that arrived before the reset can end it any other way.
        if (u.ending === "reset" && !keptText.includes("data: [DONE]")) expect(final.status).toBe("failed");
        // A body that stops before [DONE] and before any finish_reason never claims success.
        if (!keptText.includes("data: [DONE]") && !keptText.includes('"finish_reason":"')) expect(final.status).not.toBe("completed");
      }),
      { seed: SEED, numRuns: RUNS },
    );
  }, 300_000);

  it("text that arrived is delivered whole, whatever the cut and however it ends", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 20 }), fc.nat(), fc.array(fc.nat(), { maxLength: 5 }), fc.constantFrom("close" as const, "reset" as const), async (texts, cutAt, cuts, ending) => {
        const frames = texts.map((t) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: t } }] })}\n\n`);
        const whole = utf8.encode(frames.join(""));
        const kept = whole.subarray(0, cutAt % (whole.length + 1));
        // The text of every frame inside the kept bytes. At a clean close a last `data:` line
        // without its blank line still counts (servers that close right after it); after a reset it does not.
        let expected = "";
        let at = 0;
        for (let i = 0; i < frames.length; i++) {
          at += utf8.encode(frames[i]!).length;
          if (at - (ending === "close" ? 2 : 0) <= kept.length) expected += texts[i];
        }
        const reader = createResponsesReader(faultyBody(splitAt(kept, cuts), ending).body, { ...testOptions(), idleTimeoutMs: 0 });
        const jsons: string[] = [];
        while (await reader.pull({ event: (_t, j) => jsons.push(j) }));
        const events = jsons.map((j) => JSON.parse(j) as ResponseStreamEvent);
        checkInvariants(null, events);
        const got = events.filter((e) => e.type === "response.output_text.delta").map((e) => (e as { delta: string }).delta).join("");
        expect(got).toBe(expected);
        expect(reader.response.status).toBe("failed");
      }),
      { seed: SEED + 1, numRuns: 1_000 },
    );
  });
});
