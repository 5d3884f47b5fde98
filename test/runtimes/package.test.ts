import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { build } from "esbuild";
import { DENO, denoEnv, NODE, ROOT, run, userProject } from "./harness.ts";

/**
 * The library as a browser app ships it: src bundled with its one dependency, minified. Raise only with a reason.
 * +256 / +128 bytes: the SSE sink's shared-block encoding (~200 bytes) cut the Node bench's CPU per token by about a fifth.
 * +1706 / +660 bytes: the frame memo (a token frame like the last one becomes its chunk without JSON.parse), what it
 * measured (49,357 → 51,063 minified, 16,498 → 17,158 gzipped); it took the Node bench from ~1.0 to 0.84× the limit.
 * +399 / +160 bytes: the same fast path for a tool call's streamed arguments (51,063 → 51,462, 17,158 → 17,318), the bulk
 * of what Codex's patches and commands stream.
 */
const BUDGET = { minified: 48 * 1024 + 256 + 1706 + 399, gzipped: 16 * 1024 + 128 + 660 + 160 };
/** The same for an app that imports only the stream (the package is `sideEffects: false`). */
const STREAM_BUDGET = { minified: 32 * 1024, gzipped: 11 * 1024 };

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { version: string; exports: string; imports: Record<string, string> };

describe("the package", () => {
  it(`minified bundle stays within ${BUDGET.minified / 1024} KiB (${BUDGET.gzipped / 1024} KiB gzipped)`, async () => {
    // The bundle the page loads: src with eventsource-parser, minified by esbuild (scripts/build-page.mjs).
    await run(NODE, ["scripts/build-page.mjs"], { cwd: ROOT });
    const code = readFileSync(join(ROOT, "public/lib/responses-bridge.js"));
    // Bundled for real: the converter is in it, and nothing is left to import (eventsource-parser inlined).
    expect(code.toString()).toContain("response.output_text.delta");
    expect(code.toString()).not.toMatch(/\bimport\s*[{("'*]|\bfrom\s*["']/);
    expect(code.byteLength).toBeLessThan(BUDGET.minified);
    expect(gzipSync(code, { level: 9 }).byteLength).toBeLessThan(BUDGET.gzipped);
  });

  it(`what a page that only streams ships (ChatToResponsesStream, tree-shaken) stays within ${STREAM_BUDGET.minified / 1024} KiB (${STREAM_BUDGET.gzipped / 1024} KiB gzipped)`, async () => {
    const result = await build({
      stdin: { contents: 'export { ChatToResponsesStream } from "./src/index.ts";', resolveDir: ROOT, loader: "js" },
      bundle: true,
      minify: true,
      format: "esm",
      platform: "neutral",
      write: false,
      logLevel: "silent",
    });
    const code = result.outputFiles[0]!.contents;
    expect(code.byteLength).toBeLessThan(STREAM_BUDGET.minified);
    expect(gzipSync(code, { level: 9 }).byteLength).toBeLessThan(STREAM_BUDGET.gzipped);
  });

  it("a bundler resolves it by name through its exports (esbuild, browser platform)", async () => {
    const project = userProject({ "entry.js": 'import { ChatToResponsesStream } from "responses-bridge";\nglobalThis.Bridge = ChatToResponsesStream;\n' });
    try {
      const result = await build({ entryPoints: [join(project.dir, "entry.js")], absWorkingDir: project.dir, bundle: true, platform: "browser", format: "esm", write: false, metafile: true, preserveSymlinks: true, logLevel: "silent" });
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.some((i) => i.endsWith("node_modules/responses-bridge/dist/index.js"))).toBe(true);
      expect(inputs.some((i) => i.includes("eventsource-parser"))).toBe(true);
    } finally {
      project.remove();
    }
  });

  it("deno.json describes the same package as package.json (version, dependency ranges)", () => {
    expect(deno.version).toBe(pkg.version);
    expect(deno.exports).toBe("./src/index.ts");
    for (const [name, range] of Object.entries(pkg.dependencies)) expect(deno.imports[name]).toBe(`npm:${name}@${range}`);
  });

  it("deno publish --dry-run accepts it (types, no slow types, files)", async () => {
    const { stdout, stderr } = await run(DENO, ["publish", "--dry-run", "--allow-dirty"], { cwd: ROOT, env: denoEnv(), timeoutMs: 120_000 });
    const out = stdout + stderr;
    expect(out).toContain("Dry run complete");
    expect(out).toContain("src/index.ts");
  });
});
