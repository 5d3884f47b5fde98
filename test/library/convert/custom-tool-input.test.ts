import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CustomToolCallItem, ResponseStreamEvent } from "../../../src/index.ts";
import { JsonStringFieldReader } from "../../../src/convert/json-string-field.ts";
import { convert, deltaText, sse, testOptions } from "../../support/helpers.ts";

const tools = new Map([["apply_patch", { kind: "custom" as const, name: "apply_patch" }]]);

/** JSON with every non-ASCII character written as \u escapes, the way many servers encode. */
function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function pieces(s: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of [...points, s.length]) {
    out.push(s.slice(prev, p));
    prev = p;
  }
  return out.filter(Boolean);
}

describe("custom tool input streams decoded as it arrives", () => {
  it("a Codex apply_patch call (OpenAI chunk format)", async () => {
    const patch = '*** Begin Patch\n*** Add File: hello.txt\n+Hi "there" \\ 😀\n*** End Patch';
    const args = JSON.stringify({ input: patch });
    const chunks = [
      { choices: [{ index: 0, delta: { role: "assistant", tool_calls: [{ index: 0, id: "call_p", type: "function", function: { name: "apply_patch", arguments: "" } }] } }] },
      ...pieces(args, [3, 11, 20, 33, 47, 52, 60]).map((a) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: a } }] } }] })),
      { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
    ];
    const r = await convert(sse(chunks), testOptions({ tools }));
    const deltas = r.events.filter((e): e is Extract<ResponseStreamEvent, { type: "response.custom_tool_call_input.delta" }> => e.type === "response.custom_tool_call_input.delta");
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltaText(r.events, "response.custom_tool_call_input.delta")).toBe(patch);
    expect(r.final.output[0]).toEqual({ id: "ctc_2", type: "custom_tool_call", call_id: "call_p", name: "apply_patch", input: patch, status: "completed" });
  });

  it("any text, any escaping, any split: the deltas join to the input, and done agrees", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme", maxLength: 30 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 10 }), async (input, ascii, cuts) => {
        const args = ascii ? asciiJson({ input }) : JSON.stringify({ input });
        const chunks = [
          { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: "c", function: { name: "apply_patch", arguments: "" } }] } }] },
          ...pieces(args, cuts).map((a) => ({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: a } }] } }] })),
          { choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] },
        ];
        const r = await convert(sse(chunks), testOptions({ tools }));
        expect(deltaText(r.events, "response.custom_tool_call_input.delta")).toBe(input);
        expect((r.final.output[0] as CustomToolCallItem).input).toBe(input);
        // No delta carries half a surrogate pair.
        for (const e of r.events) if (e.type === "response.custom_tool_call_input.delta") expect(e.delta.isWellFormed()).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("arguments in another shape are read whole at the end", () => {
    const other = new JsonStringFieldReader("input");
    expect(other.feed('{"patch": "x"}')).toBe("");
    expect(other.started).toBe(false);
    const bare = new JsonStringFieldReader("input");
    expect(bare.feed("*** Begin Patch")).toBe("");
    expect(bare.started).toBe(false);
  });
});
