import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { poll } from "../support/background-poll.ts";
import { type Stack, startStack } from "../support/stack.ts";

// Background runs for real: `wrangler dev` (its Durable Objects on Miniflare) in front of the scripted chat server
// over HTTP, with the official `openai` SDK (7.60) as the client.
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack();
  client = new OpenAI({ apiKey: "sk-client", baseURL: stack.baseURL, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.stop();
});

const words = (n: number) => Array.from({ length: n }, (_x, i) => `w${i} `).join("");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe("background responses with the openai SDK → wrangler dev", () => {
  it("create with background: true answers queued at once; polling with responses.retrieve sees it complete", async () => {
    // A 1 s answer: a create that waited for it would say completed, not queued (no clock read: a loaded machine is slow).
    const created = await client.responses.create({ model: "scripted-paced-20-50", input: "Count.", background: true });
    expect(created.status).toBe("queued");
    expect(created.background).toBe(true);
    const done = await poll(client, created.id, stack);
    expect(done.status).toBe("completed");
    expect(done.output_text).toBe(words(20));
    // Stored like any response: it can be continued.
    const next = await client.responses.create({ model: "scripted-text", input: "Again.", previous_response_id: created.id });
    expect(next.status).toBe("completed");
  });

  it("responses.retrieve(id, { stream: true, starting_after }) resumes a dropped stream: every event once, in order", async () => {
    const stream = await client.responses.create({ model: "scripted-paced-30-40", input: "Count.", background: true, stream: true });
    const first: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of stream) {
      first.push(e);
      if (first.length === 6) break; // the connection drops
    }
    const id = (first[0] as OpenAI.Responses.ResponseCreatedEvent).response.id;
    expect(first[0]).toMatchObject({ type: "response.created", response: { status: "queued", background: true } });
    const last = first.at(-1)!.sequence_number;
    const rest: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of await client.responses.retrieve(id, { stream: true, starting_after: last })) rest.push(e);
    const all = [...first, ...rest];
    expect(all.map((e) => e.sequence_number)).toEqual(all.map((_e, i) => i));
    expect(rest.at(-1)!.type).toBe("response.completed");
    const text = all.flatMap((e) => (e.type === "response.output_text.delta" ? [e.delta] : [])).join("");
    expect(text).toBe(words(30));
    expect(all.slice(0, 3).map((e) => e.type)).toEqual(["response.created", "response.queued", "response.in_progress"]);
    // The SDK's strict accumulating helper replays the whole finished stream (it refuses any event OpenAI does not define).
    const helper = client.responses.stream({ response_id: id });
    const types: string[] = [];
    for await (const e of helper) types.push(e.type);
    expect(types).toEqual(all.map((e) => e.type));
    const final = await helper.finalResponse();
    expect(final).toMatchObject({ id, status: "completed", background: true, created_at: (first[0] as OpenAI.Responses.ResponseCreatedEvent).response.created_at });
    expect(final.output_text).toBe(words(30));
  });

  it("responses.cancel stops the upstream request and ends the run cancelled", async () => {
    const before = seen.cancelled;
    const created = await client.responses.create({ model: "scripted-paced-300-30", input: "Count.", background: true });
    await sleep(600);
    const cancelled = await client.responses.cancel(created.id);
    expect(cancelled.status).toBe("cancelled");
    for (let i = 0; i < 50 && seen.cancelled === before; i++) await sleep(100);
    expect(seen.cancelled).toBeGreaterThan(before);
    expect((await client.responses.retrieve(created.id)).status).toBe("cancelled");
    expect((await client.responses.cancel(created.id)).status).toBe("cancelled");
  });

  it("a background run survives its client: one that disconnects at once, and a second client that reads the finished response later", async () => {
    const controller = new AbortController();
    const r = await fetch(`${stack.baseURL}/responses`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-client" },
      body: JSON.stringify({ model: "scripted-paced-25-40", input: "Count.", background: true, stream: true }),
      signal: controller.signal,
    });
    const reader = r.body!.getReader();
    const head = new TextDecoder().decode((await reader.read()).value);
    const id = (JSON.parse(head.split("\n")[1]!.slice(6)) as { response: { id: string } }).response.id;
    controller.abort(); // gone, before the run has written a word
    const later = new OpenAI({ apiKey: "sk-client", baseURL: stack.baseURL, maxRetries: 0 });
    const done = await poll(later, id, stack);
    expect(done.status).toBe("completed");
    expect(done.output_text).toBe(words(25));
    // Another key does not see it.
    const stranger = new OpenAI({ apiKey: "sk-other", baseURL: stack.baseURL, maxRetries: 0 });
    await expect(stranger.responses.retrieve(id)).rejects.toMatchObject({ status: 404 });
    await expect(stranger.responses.cancel(id)).rejects.toMatchObject({ status: 404 });
  });
});
