import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FunctionCallItem, MessageItem, ReasoningItem } from "../../../src/index.ts";
import * as up from "../../fixtures/upstreams.ts";
import { bytesOf, convert, convertRaw, splitAt, sse, testOptions } from "../../support/helpers.ts";

const fixtures = Object.entries(up).filter((e): e is [string, string] => typeof e[1] === "string");

describe("byte splitting never changes the output", () => {
  it.each(fixtures)("%s", async (_name, text) => {
    const bytes = bytesOf(text);
    const whole = await convertRaw(text, testOptions({ thinkTags: true }));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
        expect(await convertRaw(splitAt(bytes, cuts), testOptions({ thinkTags: true }))).toBe(whole);
      }),
      { numRuns: 60 },
    );
  });

  it("one byte at a time", async () => {
    for (const [, text] of fixtures) {
      const bytes = bytesOf(text);
      const parts = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
      expect(await convertRaw(parts)).toBe(await convertRaw(text));
    }
  });
});

describe("ordering", () => {
  const piece = fc.string({ minLength: 1, maxLength: 6, unit: fc.constantFrom("a", "b", "\"", "\\\\", "{", "}", "é", " ") });

  it("any interleaving of parallel calls' argument chunks yields each call whole, in first-seen order, one at a time", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(piece, { maxLength: 5 }), { minLength: 1, maxLength: 4 }), fc.array(fc.nat(3)), async (pieces, order) => {
        // Every call's arguments are a JSON object whose string value is the pieces.
        const args = pieces.map((ps) => ['{"v":', ...ps.map((p) => JSON.stringify(p)).join("+").split(/(?<=\+)/), "}"]);
        const queues = args.map((a) => [...a]);
        const chunks: unknown[] = pieces.map((_, i) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index: i, id: `call_${i}`, function: { name: `f${i}`, arguments: "" } }] } }] }));
        let k = 0;
        while (queues.some((q) => q.length)) {
          const live = queues.map((q, i) => [q, i] as const).filter(([q]) => q.length);
          const [q, i] = live[(order[k++ % Math.max(order.length, 1)] ?? 0) % live.length]!;
          chunks.push({ choices: [{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: q.shift()! } }] } }] });
        }
        chunks.push({ choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] });
        const r = await convert(sse(chunks));
        const calls = r.final.output as FunctionCallItem[];
        expect(calls.map((c) => [c.call_id, c.arguments])).toEqual(args.map((a, i) => [`call_${i}`, a.join("")]));
      }),
      { numRuns: 150 },
    );
  });

  it("<think> splitting: any chunking of the content gives the same reasoning and text", async () => {
    const content = "  <think>a < b </thin and </think>\n\nanswer </think> <think>";
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(content.length), { maxLength: 12 }), async (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const pieces: string[] = [];
        let prev = 0;
        for (const p of [...points, content.length]) {
          pieces.push(content.slice(prev, p));
          prev = p;
        }
        const chunks = [...pieces.map((c) => ({ choices: [{ index: 0, delta: { content: c } }] })), { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }];
        const r = await convert(sse(chunks), testOptions({ thinkTags: true }));
        expect((r.final.output[0] as ReasoningItem).summary[0]!.text).toBe("a < b </thin and ");
        expect((r.final.output[1] as MessageItem).content[0]).toMatchObject({ text: "answer </think> <think>" });
      }),
      { numRuns: 200 },
    );
  });
});
