import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chatToResponsesSse } from "../src/index.ts";
import { decodeAscii, encodeAscii } from "../src/streams/ascii.ts";
import { bytesOf, deltaText, sse, testOptions } from "./helpers.ts";
import { faultyBody } from "./support/faulty-upstream.ts";
import { checkInvariants, parseSseStrict } from "./support/invariants.ts";

describe("ASCII fast paths", () => {
  it("agree with TextDecoder / TextEncoder on ASCII and step aside otherwise", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const bytes = new TextEncoder().encode(s);
        const ascii = /^[\x00-\x7f]*$/.test(s);
        expect(decodeAscii(bytes)).toBe(ascii ? s : null);
        const enc = encodeAscii(s);
        if (ascii) expect(enc).toEqual(bytes);
        else expect(enc).toBeNull();
      }),
      { numRuns: 2_000 },
    );
  });

  it("a BOM opens the stream only at its very start; U+FEFF later is text; characters split across reads survive", async () => {
    const content = ["\ufeffzero-width first", " café ", "😀", " done"];
    const body = sse([...content.map((c) => ({ choices: [{ index: 0, delta: { content: c } }] })), { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }]);
    const bytes = bytesOf(`\ufeff${body}`);
    // Cut inside the emoji and the é, with ASCII-only reads around them.
    const at = (needle: string, plus: number) => bytes.indexOf(new TextEncoder().encode(needle)[0]!, 10) + plus;
    const cuts = [2, bytes.indexOf(0xef, 3), at("é", 1), at("😀", 1), at("😀", 3)].sort((a, b) => a - b);
    const parts: Uint8Array[] = [];
    let prev = 0;
    for (const c of [...cuts, bytes.length]) {
      parts.push(bytes.subarray(prev, c));
      prev = c;
    }
    const raw = await new Response(chatToResponsesSse(faultyBody(parts).body, testOptions())).text();
    checkInvariants(raw);
    expect(deltaText(parseSseStrict(raw), "response.output_text.delta")).toBe(content.join(""));
  });
});
