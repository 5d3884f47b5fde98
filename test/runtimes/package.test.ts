import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { build } from "esbuild";
import { DENO, denoEnv, NODE, ROOT, run, userProject } from "./harness.ts";

/**
 * The library as a browser app ships it: entry "." bundled with its one dependency, minified. Raise only with a reason.
 * History (51,462 / 17,318 bytes before the split): +256 / +128 the SSE sink's shared-block encoding, +1,706 / +660 the
 * frame memo, +399 / +160 its tool-call arguments. Then stored state, sealing and compaction moved to "./server"
 * (45,450 / 15,298 bytes measured after the move), and the budget came down to that plus a little.
 * Then +25,618 / +6,781 bytes (71,068 / 22,079): the reverse direction (Responses → Chat Completions: its converter, stream
 * shells, delta memo and request translation, ~20 KB of it), strict chat template shaping (~1.8 KB), tool-call pairing
 * (~1.3 KB) and tool search. A page that needs one direction tree-shakes the other (the stream-only budget below holds).
 * Then +2,540 / +918 bytes (70,911 / 22,077 measured before → 73,451 / 22,995): provider state (Gemini's thought
 * signatures, OpenRouter's reasoning_details: kept by the converter beside the turn's reasoning item, put back by the
 * request side), of which +1,503 / +526 in the stream alone (31,571 / 10,837 → 33,074 / 11,363).
 * Then, merged with the rest of that round, 78,674 / 24,448 (stream alone 34,860 / 12,077): upstream error bodies read in
 * their own shapes (`readUpstreamError`: Google's array, OpenRouter's `metadata.raw`, FastAPI's `detail`, HTML; used
 * mid-stream too, so in the stream alone: about +1,800 / +700), the AI SDK 7's request shapes (`configuration_update`,
 * `allowed_tools`, `prompt_cache_options`, ~2.5 KB) and `conversation` on create.
 */
const BUDGET = { minified: 80 * 1024, gzipped: 25 * 1024 };
/** The same for an app that imports only the stream (the package is `sideEffects: false`). */
const STREAM_BUDGET = { minified: 36 * 1024, gzipped: 12.5 * 1024 };

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string; dependencies: Record<string, string> };
const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { version: string; exports: Record<string, string>; imports: Record<string, string> };

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
      // The server entry resolves by its subpath, and the page's entry does not pull it in.
      expect(inputs.some((i) => i.includes("/dist/state/"))).toBe(false);
      const server = await build({ stdin: { contents: 'export { MemoryResponseStore } from "responses-bridge/server";', resolveDir: project.dir, loader: "js" }, absWorkingDir: project.dir, bundle: true, platform: "browser", format: "esm", write: false, metafile: true, preserveSymlinks: true, logLevel: "silent" });
      expect(Object.keys(server.metafile.inputs).some((i) => i.endsWith("node_modules/responses-bridge/dist/server.js"))).toBe(true);
    } finally {
      project.remove();
    }
  });

  it("deno.json describes the same package as package.json (version, dependency ranges)", () => {
    expect(deno.version).toBe(pkg.version);
    expect(deno.exports).toEqual({ ".": "./src/index.ts", "./server": "./src/server.ts" });
    for (const [name, range] of Object.entries(pkg.dependencies)) expect(deno.imports[name]).toBe(`npm:${name}@${range}`);
  });

  it("deno publish --dry-run accepts it (types, no slow types, files)", async () => {
    const { stdout, stderr } = await run(DENO, ["publish", "--dry-run", "--allow-dirty"], { cwd: ROOT, env: denoEnv(), timeoutMs: 120_000 });
    const out = stdout + stderr;
    expect(out).toContain("Dry run complete");
    expect(out).toContain("src/index.ts");
  });
});
