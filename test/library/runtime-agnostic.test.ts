import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const srcDir = new URL("../../src/", import.meta.url);

describe("src/ runs anywhere", () => {
  const files = readdirSync(srcDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  it.each(files)("%s imports nothing from Node and uses no Node globals", (file) => {
    const text = readFileSync(new URL(file, srcDir), "utf8");
    const imports = [...text.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]!);
    for (const spec of imports) expect(spec.startsWith(".") || spec === "eventsource-parser", `${file} imports ${spec}`).toBe(true);
    expect(text).not.toMatch(/\b(process|Buffer|require|__dirname)\s*[.(]/);
  });
});
