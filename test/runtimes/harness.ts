import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { expect } from "vitest";
import { join } from "node:path";
import { ChatToResponsesStream } from "../../src/index.ts";
import * as fixtures from "../fixtures/upstreams.ts";
import { checkInvariants, parseSseStrict } from "../support/invariants.ts";
import { serve } from "../support/serve.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;
const BIN = join(ROOT, "test/clients/node_modules/.bin");
export const DENO = join(BIN, "deno");
export const BUN = join(BIN, "bun");
export const NODE = process.execPath;

/** Every upstream fixture that is a whole SSE body, by export name. */
export const FIXTURES: ReadonlyMap<string, string> = new Map(
  Object.entries(fixtures as Record<string, unknown>).flatMap(([name, value]): Array<[string, string]> => {
    if (typeof value === "string") return [[name, value]];
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return [[name, value.join("")]];
    return [];
  }),
);

/**
 * Serves the fixtures over HTTP the way a provider would: `GET /fixtures`
 * lists them, `GET /fixtures/<name>` streams one in 7-byte writes (so every
 * runtime's fetch hands the library bytes split anywhere, inside UTF-8 too).
 * `other` answers anything else (a chat server, a page, files).
 */
export function fixtureServer(other?: (request: Request) => Promise<Response>) {
  return serve(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/fixtures") return Response.json([...FIXTURES.keys()]);
    const body = path.startsWith("/fixtures/") ? FIXTURES.get(path.slice(10)) : undefined;
    if (body !== undefined) {
      const bytes = new TextEncoder().encode(body);
      let at = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= bytes.length) return controller.close();
          controller.enqueue(bytes.slice(at, (at += 7)));
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    }
    return other ? other(request) : new Response("not found", { status: 404 });
  });
}

/**
 * A throwaway project that depends on this package as a user's would:
 * `node_modules/responses-bridge` links to the repository, so its
 * `package.json` `exports` (→ `dist/`, built by `npm test`) decide what loads.
 * `deno.json`, when given, is written too (Deno then maps imports by it).
 */
export function userProject(files: Record<string, string> = {}): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "rb-user-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules/responses-bridge"));
  symlinkSync(join(ROOT, "node_modules/eventsource-parser"), join(dir, "node_modules/eventsource-parser"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true, dependencies: { "responses-bridge": "*", "eventsource-parser": "*" } }));
  for (const f of ["convert-fixtures.js", "main.js"]) copyFileSync(new URL(f, import.meta.url), join(dir, f));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The environment for Deno: its cache in a temp dir, no update check, and an npm registry that does not exist (proof nothing is fetched). */
export function denoEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: tmpdir(), DENO_DIR: join(tmpdir(), "rb-deno-dir"), DENO_NO_UPDATE_CHECK: "1", NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/", NO_COLOR: "1", ...extra };
}

/** Runs a program to its end; rejects with its output when it fails. */
export function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? { PATH: process.env.PATH, HOME: tmpdir(), NO_COLOR: "1" }, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stdout.slice(0, 2000)}\n${stderr.slice(0, 4000)}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** The request every runtime converts the fixtures for (convert-fixtures.js uses the same). */
const FIXTURE_REQUEST = { model: "fixture-model", input: "hi", stream: true };

/** What the library, in this process from the source, makes of every fixture: the reference for other runtimes. */
export async function referenceConversions(): Promise<Map<string, unknown[]>> {
  const out = new Map<string, unknown[]>();
  for (const [name, body] of FIXTURES) {
    out.set(name, comparable(await new Response(new Response(body).body!.pipeThrough(new ChatToResponsesStream({ request: FIXTURE_REQUEST }))).text()));
  }
  return out;
}

/** A runtime's `{fixture name: Responses SSE}` equals the reference, fixture by fixture. */
export function expectSameConversions(got: Record<string, string>, reference: Map<string, unknown[]>): void {
  expect(Object.keys(got).sort()).toEqual([...FIXTURES.keys()].sort());
  for (const [name, raw] of Object.entries(got)) expect(comparable(raw), name).toEqual(reference.get(name));
}

const VOLATILE = new Set(["id", "item_id", "created_at", "completed_at", "obfuscation"]);

/**
 * A Responses SSE text → its events, after checking every protocol invariant,
 * with the fields that differ from run to run (ids, clocks, obfuscation
 * padding) removed, so two runtimes' outputs can be compared whole.
 */
export function comparable(raw: string): unknown[] {
  const events = parseSseStrict(raw);
  checkInvariants(raw, events);
  return JSON.parse(JSON.stringify(events, (key, value) => (VOLATILE.has(key) ? undefined : value)));
}

/** A fenced code block of the README or a page of docs/, found by the `<!-- snippet: name -->` comment right above it. */
export function docSnippet(name: string): string {
  const pages = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f))];
  for (const page of pages) {
    const text = readFileSync(join(ROOT, page), "utf8");
    const match = new RegExp(`<!-- snippet: ${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\``).exec(text);
    if (match) return match[1]!;
  }
  throw new Error(`Neither README.md nor docs/ has a snippet "${name}"`);
}

const TYPES: Record<string, string> = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html; charset=utf-8", ".json": "application/json", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml" };

/** `GET /<path>` → the file under `dir` (symlinks followed), for pages that load modules; `null` when there is none. */
export async function staticFile(dir: string, request: Request): Promise<Response | null> {
  const path = decodeURIComponent(new URL(request.url).pathname);
  if (request.method !== "GET" || path.includes("..")) return null;
  const file = join(dir, path.endsWith("/") ? `${path}index.html` : path);
  try {
    const body = readFileSync(file);
    return new Response(body, { headers: { "content-type": TYPES[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream" } });
  } catch {
    return null;
  }
}
