import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSealer } from "../../../src/server.ts";

describe("sealed tokens", () => {
  const sealer = createSealer("worker-secret-1");

  it("round-trips any JSON value for its purpose", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const token = await sealer.seal("reasoning", value);
        expect(token.startsWith("rb1.")).toBe(true);
        expect(await sealer.open("reasoning", token)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 200 },
    );
  });

  it("hides the value: the token does not contain the plaintext, and two seals of one value differ", async () => {
    const a = await sealer.seal("compaction", { summary: "the secret plan" });
    const b = await sealer.seal("compaction", { summary: "the secret plan" });
    expect(a).not.toBe(b);
    expect(a).not.toContain("secret");
    expect(atob(a.slice(4).replace(/-/g, "+").replace(/_/g, "/"))).not.toContain("secret plan");
  });

  it("refuses a token made for another purpose", async () => {
    const token = await sealer.seal("reasoning", { text: "x" });
    expect(await sealer.open("compaction", token)).toBeUndefined();
  });

  it("refuses a token made under another secret", async () => {
    const token = await createSealer("another-worker").seal("reasoning", { text: "x" });
    expect(await sealer.open("reasoning", token)).toBeUndefined();
  });

  it("refuses any single-character tampering", async () => {
    const token = await sealer.seal("reasoning", { text: "hello", field: "reasoning_content" });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4, max: token.length - 1 }), fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), async (at, ch) => {
        fc.pre(token[at] !== ch);
        const forged = token.slice(0, at) + ch + token.slice(at + 1);
        expect(await sealer.open("reasoning", forged)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });

  it("treats foreign and malformed content as not ours, without throwing", async () => {
    // OpenAI's own encrypted reasoning is an opaque base64 blob with no such prefix.
    for (const foreign of ["gAAAAABo0Yx3k2…", "", "rb1.", "rb1.!!!", "rb1.AAAA", null, 42, { token: "rb1.x" }]) {
      expect(await sealer.open("reasoning", foreign)).toBeUndefined();
    }
    expect(sealer.isOurs("gAAAAABo")).toBe(false);
    expect(sealer.isOurs("rb1.abc")).toBe(true);
  });

  it("carries large values whole", async () => {
    const text = "x".repeat(300_000) + "é✓";
    const token = await sealer.seal("compaction", { text });
    expect(await sealer.open("compaction", token)).toEqual({ text });
  });

  it("needs a secret", () => {
    expect(() => createSealer("")).toThrow(TypeError);
  });
});
