import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResponsesToChatStream, responsesToChatSse } from "../../src/index.ts";
import { RESPONSES_FIXTURES } from "../fixtures/responses-streams.ts";
import { checkChatSse } from "../support/chat-invariants.ts";
import { serve } from "../support/serve.ts";
import { BUN, DENO, denoEnv, NODE, run, userProject } from "./harness.ts";

// The reverse direction as a user writes it, in Node, Deno and Bun, from the built package by its
// exports: fetch a Responses stream (served in 7-byte writes), convert it with both shells, compare
// with what the library makes of it in this process, byte for byte (nothing in it varies by run).
const SCRIPT = `import { ResponsesToChatStream, responsesToChatSse } from "responses-bridge";
const base = globalThis.Deno ? globalThis.Deno.args[0] : process.argv[2];
const names = await fetch(base + "/reverse").then((r) => r.json());
const out = {};
for (const name of names) {
  const pipe = await fetch(base + "/reverse/" + name).then((r) => new Response(r.body.pipeThrough(new ResponsesToChatStream({ includeUsage: true }))).text());
  const pull = await fetch(base + "/reverse/" + name).then((r) => new Response(responsesToChatSse(r, { includeUsage: true })).text());
  out[name] = { pipe, pull };
}
console.log(JSON.stringify(out));
`;

let server: Awaited<ReturnType<typeof serve>>;
let user: ReturnType<typeof userProject>;
const reference: Record<string, { pipe: string; pull: string }> = {};

beforeAll(async () => {
  server = await serve(async (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/reverse") return Response.json(Object.keys(RESPONSES_FIXTURES));
    const fixture = RESPONSES_FIXTURES[path.slice("/reverse/".length)];
    if (!fixture) return new Response("not found", { status: 404 });
    const bytes = new TextEncoder().encode(fixture.sse);
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull: (c) => (at >= bytes.length ? c.close() : c.enqueue(bytes.slice(at, (at += 7)))),
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  });
  user = userProject({ "reverse.js": SCRIPT });
  for (const [name, f] of Object.entries(RESPONSES_FIXTURES)) {
    const pipe = await new Response(new Response(f.sse).body!.pipeThrough(new ResponsesToChatStream({ includeUsage: true }))).text();
    const pull = await new Response(responsesToChatSse(new Response(f.sse), { includeUsage: true })).text();
    checkChatSse(pull, { includeUsage: true });
    reference[name] = { pipe, pull };
  }
});
afterAll(async () => {
  await server?.close();
  user?.remove();
});

describe("the reverse direction, converted as a user writes it", () => {
  it("Node, the built package by its exports", async () => {
    expect(JSON.parse((await run(NODE, ["reverse.js", server.url], { cwd: user.dir })).stdout)).toEqual(reference);
  });

  it("Deno, the built package by its exports", async () => {
    const { stdout } = await run(DENO, ["run", "--allow-net=127.0.0.1", "reverse.js", server.url], { cwd: user.dir, env: denoEnv() });
    expect(JSON.parse(stdout)).toEqual(reference);
  });

  it("Bun, the built package by its exports", async () => {
    expect(JSON.parse((await run(BUN, ["reverse.js", server.url], { cwd: user.dir })).stdout)).toEqual(reference);
  });
});
