import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { convert, sse, testOptions } from "../../support/helpers.ts";

// Chunks built from the fields providers really use, with hostile values mixed in.
const str = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("<think>", "</think>", '{"a":', "}", "\\", "\u2028", "😀"));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const toolCall = fc.record(
  {
    index: maybe(fc.oneof(fc.nat(3), fc.constant(-1))),
    id: maybe(fc.oneof(fc.constantFrom("call_a", "call_b", "call_c"), fc.constant(null))),
    type: maybe(fc.constant("function")),
    function: maybe(fc.oneof(fc.record({ name: maybe(fc.constantFrom("f", "g", "")), arguments: maybe(str) }, { requiredKeys: [] }), fc.constant(null))),
    extra_content: maybe(fc.oneof(fc.constant({ google: { thought_signature: "sig" } }), fc.constant(null), fc.constant("x"), fc.constant([]))),
  },
  { requiredKeys: [] },
);
const delta = fc.record(
  {
    role: maybe(fc.constant("assistant")),
    content: maybe(fc.oneof(str, fc.constant(null))),
    refusal: maybe(fc.oneof(str, fc.constant(null))),
    reasoning_content: maybe(str),
    reasoning: maybe(str),
    reasoning_details: maybe(
      fc.array(
        fc.oneof(
          fc.record({ type: fc.constantFrom("reasoning.text", "reasoning.summary", "reasoning.encrypted", "x"), text: maybe(str), summary: maybe(str), data: maybe(str), signature: maybe(str), index: maybe(fc.oneof(fc.nat(2), fc.constant(null))) }),
          fc.constant(null),
          fc.constant("x"),
        ),
        { maxLength: 2 },
      ),
    ),
    extra_content: maybe(fc.oneof(fc.constant({ google: { thought_signature: "text-sig" } }), fc.constant(null), fc.constant(7))),
    tool_calls: maybe(fc.oneof(fc.array(toolCall, { maxLength: 3 }), fc.constant(null))),
    annotations: maybe(fc.array(fc.oneof(fc.constant({ type: "url_citation", url_citation: { url: "https://x", title: "t", start_index: 0, end_index: 1 } }), fc.constant(null), fc.constant({ type: "file" })), { maxLength: 2 })),
  },
  { requiredKeys: [] },
);
const chunk = fc.oneof(
  { weight: 8, arbitrary: fc.record({ choices: fc.array(fc.record({ index: fc.constantFrom(0, 0, 0, 1), delta, finish_reason: maybe(fc.constantFrom(null, "stop", "length", "tool_calls", "content_filter", "error", "weird")), logprobs: maybe(fc.constant({ content: [{ token: "a", logprob: -1, bytes: null, top_logprobs: null }] })) }), { maxLength: 2 }), usage: maybe(fc.record({ prompt_tokens: maybe(fc.oneof(fc.nat(), fc.double(), fc.constant(null))), completion_tokens: maybe(fc.nat()), total_tokens: maybe(fc.nat()) })) }) },
  { weight: 1, arbitrary: fc.record({ error: fc.record({ message: maybe(str), code: maybe(fc.oneof(fc.nat(600), str)) }) }) },
  { weight: 1, arbitrary: fc.oneof(fc.constant({}), fc.constant({ choices: null }), fc.constant({ choices: [null] }), fc.constant({ choices: [{ index: 0, delta: null }] }), fc.constant([]), fc.constant(42), fc.constant("text")) },
);

describe("hostile upstreams", () => {
  it("any sequence of chunks, with or without [DONE], ends in exactly one terminal event and a valid stream", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { maxLength: 12 }), fc.boolean(), fc.boolean(), async (chunks, done, thinkTags) => {
        // `convert` checks every protocol invariant (sequence, one item at a time, ids, output = done items, fields).
        const r = await convert(sse(chunks, { done }), testOptions({ thinkTags }));
        expect(["response.completed", "response.incomplete", "response.failed"]).toContain(r.types.at(-1));
      }),
      { numRuns: 400 },
    );
  });

  it("raw bytes that are not SSE at all never crash the stream", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        const r = await convert([bytes]);
        expect(r.types.at(-1)).toBe("response.failed");
      }),
      { numRuns: 200 },
    );
  });
});
