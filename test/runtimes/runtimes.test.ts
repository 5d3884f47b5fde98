import { spawnGroup, stopGroup } from "../support/start-worker.ts";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scriptedUpstream } from "../support/scripted-upstream.ts";
import { BUN, comparable, DENO, denoEnv, expectSameConversions as same, FIXTURES, fixtureServer, NODE, docSnippet, referenceConversions, ROOT, run, userProject } from "./harness.ts";

// Every fixture, converted in Node, Deno and Bun by the same user-style code (convert-fixtures.js:
// fetch → pipeThrough → pipeTo), from the built package resolved through its `exports`, and for Deno
// also from the TypeScript source. Each output must hold the protocol invariants and equal what the
// library produces in this process (ids, clocks and obfuscation padding aside).

let server: Awaited<ReturnType<typeof fixtureServer>>;
let user: ReturnType<typeof userProject>;
let reference: Map<string, unknown[]>;
const denoJson = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as { exports: Record<string, string>; imports: Record<string, string> };

beforeAll(async () => {
  server = await fixtureServer(scriptedUpstream);
  user = userProject();
  reference = await referenceConversions();
});
afterAll(async () => {
  await server?.close();
  user?.remove();
});

function expectSameConversions(stdout: string): void {
  same(JSON.parse(stdout) as Record<string, string>, reference);
}

describe("the fixtures, converted as a user writes it", () => {
  it("has enough fixtures to mean something", () => {
    expect(FIXTURES.size).toBeGreaterThan(20);
  });

  it("Node, the built package by its exports", async () => {
    expectSameConversions((await run(NODE, ["main.js", server.url], { cwd: user.dir })).stdout);
  });

  it("Deno, the built package by its exports (package.json + node_modules)", async () => {
    expectSameConversions((await run(DENO, ["run", "--allow-net=127.0.0.1", "main.js", server.url], { cwd: user.dir, env: denoEnv() })).stdout);
  });

  it("Deno, the TypeScript source (as the deno.json / JSR export)", async () => {
    const source = userProject({
      // A Deno user's map: the package name to its JSR export (the source), the rest as this repo's deno.json maps it.
      "deno.json": JSON.stringify({ imports: { ...denoJson.imports, "responses-bridge": `file://${join(ROOT, denoJson.exports["."]!)}` }, nodeModulesDir: "manual" }),
    });
    try {
      expectSameConversions((await run(DENO, ["run", "--allow-net=127.0.0.1", "main.js", server.url], { cwd: source.dir, env: denoEnv() })).stdout);
    } finally {
      source.remove();
    }
  });

  it("Bun, the built package by its exports", async () => {
    expectSameConversions((await run(BUN, ["main.js", server.url], { cwd: user.dir })).stdout);
  });
});

describe("README snippets, run as written", () => {
  it("Deno: a chat server's stream piped to stdout as Responses events", async () => {
    const project = userProject({ "bridge.ts": docSnippet("deno") });
    try {
      const { stdout } = await run(DENO, ["run", "--allow-net=127.0.0.1", "--allow-env", "bridge.ts"], {
        cwd: project.dir,
        env: denoEnv({ UPSTREAM_BASE_URL: `${server.url}/v1`, UPSTREAM_API_KEY: "sk-snippet" }),
      });
      const events = comparable(stdout) as Array<{ type: string; delta?: string }>;
      expect(events.at(-1)).toMatchObject({ type: "response.completed" });
      expect(events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("")).toBe("Hello from the scripted upstream.");
    } finally {
      project.remove();
    }
  });

  it("Bun: a Responses endpoint the openai SDK streams a tool call from", async () => {
    const project = userProject({ "server.ts": docSnippet("bun") });
    const child = spawnGroup(BUN, ["server.ts"], { cwd: project.dir, env: { PATH: process.env.PATH, PORT: "0", UPSTREAM_BASE_URL: `${server.url}/v1`, UPSTREAM_API_KEY: "sk-snippet" } });
    try {
      let out = "";
      child.stderr.on("data", (d) => (out += d));
      const [first] = (await once(child.stdout, "data")) as [Buffer];
      const client = new OpenAI({ baseURL: first.toString().trim(), apiKey: "sk-client", maxRetries: 0 });
      const tools = [{ type: "function" as const, name: "get_weather", strict: false, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
      const final = await client.responses.stream({ model: "scripted-tools", input: "Weather in Paris?", tools }).finalResponse();
      expect(final.output, out).toMatchObject([{ type: "function_call", name: "get_weather", arguments: '{"city":"Paris"}', status: "completed" }]);
      expect(final.status).toBe("completed");
    } finally {
      await stopGroup(child);
      project.remove();
    }
  });
});
