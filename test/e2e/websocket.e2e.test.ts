import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import OpenAI from "openai";
import { ResponsesWS } from "openai/resources/responses/ws";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { docSnippet } from "../runtimes/harness.ts";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// Node's own WebSocket client → wrangler dev (workerd) → a real local HTTP chat server.
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());
beforeEach(() => {
  seen.requests.length = 0;
  seen.cancelled = 0;
});

type Event = { type: string; delta?: string; status?: number; error?: { code: string }; response?: { id: string; status: string; output: Array<{ type: string; call_id?: string }> } };

/** A socket to the Worker, and every message it receives, each parsed. */
async function open(): Promise<{ ws: WebSocket; events: Event[]; next(type: string): Promise<Event> }> {
  const ws = new WebSocket(`${stack.url.replace("http", "ws")}/v1/responses`, { headers: { authorization: "Bearer sk-client" } } as never);
  const events: Event[] = [];
  const waiting: Array<{ type: string; resolve(e: Event): void }> = [];
  ws.onmessage = ({ data }) => {
    const event = JSON.parse(String(data)) as Event;
    events.push(event);
    const i = waiting.findIndex((w) => w.type === event.type);
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(event);
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`WebSocket did not open:\n${stack.output()}`));
  });
  return {
    ws,
    events,
    next: (type) => new Promise<Event>((resolve) => waiting.push({ type, resolve })),
  };
}

const create = (ws: WebSocket, body: object) => ws.send(JSON.stringify({ type: "response.create", store: false, ...body }));
const WEATHER_TOOL = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

describe("the Responses WebSocket, end to end", () => {
  it("two turns on one socket: text streams as frames, the second sends only its new input", async () => {
    const { ws, events, next } = await open();
    create(ws, { model: "scripted-text", input: "Name a colour." });
    const first = (await next("response.completed")).response!;
    expect(events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("")).toBe("Hello from the scripted upstream.");
    create(ws, { model: "scripted-text", previous_response_id: first.id, input: "Another one." });
    const second = (await next("response.completed")).response!;
    expect(second.status).toBe("completed");
    const messages = (seen.requests.at(-1)!.body as { messages: Array<{ role: string; content: string }> }).messages;
    expect(messages).toEqual([
      { role: "user", content: "Name a colour." },
      { role: "assistant", content: "Hello from the scripted upstream." },
      { role: "user", content: "Another one." },
    ]);
    ws.close();
  });

  it("a tool loop by previous_response_id, and an error frame that leaves the socket usable", async () => {
    const { ws, next } = await open();
    create(ws, { model: "scripted-tools", tools: [WEATHER_TOOL], input: "Weather in Paris?" });
    const first = (await next("response.completed")).response!;
    const call = first.output[0]!;
    expect(call.type).toBe("function_call");
    create(ws, { model: "scripted-tools", tools: [WEATHER_TOOL], previous_response_id: "resp_from_another_connection", input: "x" });
    expect(await next("error")).toMatchObject({ status: 400, error: { code: "previous_response_not_found" } });
    const done = next("response.completed");
    // The error (about another id) left this connection's own response in place: the tool loop continues from it.
    ws.send(JSON.stringify({ type: "response.create", model: "scripted-tools", tools: [WEATHER_TOOL], previous_response_id: first.id, input: [{ type: "function_call_output", call_id: call.call_id, output: "18°C" }] }));
    expect(JSON.stringify((await done).response!.output)).toContain("The tool said: 18°C");
    ws.close();
  });

  it("closing the socket mid-answer cancels the upstream request", async () => {
    const { ws, next } = await open();
    create(ws, { model: "scripted-hang", input: "hi" });
    await next("response.output_text.delta");
    ws.close();
    const deadline = Date.now() + 10_000;
    while (seen.cancelled === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen.cancelled, stack.output()).toBe(1);
  });

  it("a compacted history continues over the socket with the summary in context", async () => {
    const res = await fetch(`${stack.baseURL}/responses/compact`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-client" },
      body: JSON.stringify({ model: "scripted-text", input: [{ role: "user", content: "Plan a trip" }, { role: "assistant", content: "Paris, then Lyon." }] }),
    });
    expect(res.status).toBe(200);
    const { output } = (await res.json()) as { output: unknown[] };
    const { ws, next } = await open();
    create(ws, { model: "scripted-text", input: [...output, { role: "user", content: "How long in Lyon?" }] });
    expect((await next("response.completed")).response!.status).toBe("completed");
    const messages = (seen.requests.at(-1)!.body as { messages: Array<{ content: string }> }).messages;
    // The retained user message, the summary and the new message: one user turn (consecutive user messages are joined).
    expect(messages[0]!.content).toContain("Hello from the scripted upstream.");
    ws.close();
  });

  it("the README's client example runs as written (against this Worker and the scripted model)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ws-snippet-"));
    try {
      const code = docSnippet("websocket").replace("ws://127.0.0.1:8787", stack.url.replace("http", "ws")).replaceAll("deepseek-chat", "scripted-text");
      writeFileSync(join(dir, "client.ts"), code);
      const { stdout } = await promisify(execFile)(process.execPath, [join(dir, "client.ts")], { env: { ...process.env, BRIDGE_API_KEY: "sk-client" }, timeout: 30_000 });
      expect(stdout).toBe("Hello from the scripted upstream.".repeat(2));
      const messages = (seen.requests.at(-1)!.body as { messages: Array<{ content: string }> }).messages;
      expect(messages.map((m) => m.content)).toEqual(["Name a colour.", "Hello from the scripted upstream.", "Another one."]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the openai SDK's own WebSocket client (ResponsesWS) runs a tool loop over one socket; compact() round-trips", async () => {
    const client = new OpenAI({ apiKey: "sk-client", baseURL: stack.baseURL, maxRetries: 0 });
    const socket = new ResponsesWS(client);
    const errors: unknown[] = [];
    socket.on("error", (e) => errors.push(e));
    const completed = () => new Promise<OpenAI.Responses.Response>((resolve) => socket.once("response.completed", (e) => resolve(e.response)));
    try {
      const tools = [{ type: "function" as const, name: "get_weather", strict: false, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
      let done = completed();
      socket.send({ type: "response.create", model: "scripted-tools", store: false, tools, input: "Weather in Paris?" });
      const first = await done;
      const call = first.output.find((o) => o.type === "function_call")!;
      expect(call).toMatchObject({ name: "get_weather", arguments: '{"city":"Paris"}' });
      done = completed();
      socket.send({ type: "response.create", model: "scripted-tools", store: false, tools, previous_response_id: first.id, input: [{ type: "function_call_output", call_id: call.type === "function_call" ? call.call_id : "", output: "18°C" }] });
      expect(JSON.stringify((await done).output)).toContain("The tool said: 18°C");
      expect(errors).toEqual([]);
    } finally {
      socket.close();
    }
    // The SDK's compact(): its CompactedResponse parses, and its output starts the next request.
    const compacted = await client.responses.compact({ model: "scripted-text", input: [{ role: "user", content: "Plan a trip" }] });
    expect(compacted.object).toBe("response.compaction");
    const next = await client.responses.create({ model: "scripted-text", input: [...(compacted.output as OpenAI.Responses.ResponseInputItem[]), { role: "user", content: "Go on." }] });
    expect(next.status).toBe("completed");
    expect(JSON.stringify(seen.requests.at(-1)!.body)).toContain("Summary of the earlier part of this conversation");
  });
});
