import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { COMPACTION_INSTRUCTIONS } from "../../src/server.ts";
import { checkInvariants } from "../support/invariants.ts";
import { BRIDGE, events, post, resetSeen, seen, withEnv } from "./bridge.ts";
import { connectWs, type Frame } from "./ws-client.ts";

// Remote compaction (Codex's v2, for a provider it takes for OpenAI's): a /v1/responses request whose input ends
// with {"type":"compaction_trigger"} gets one sealed `compaction` item, written by the upstream model, then completed.

const WEATHER_TOOL = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };
const TRIGGER = { type: "compaction_trigger" };
const CONVERSATION = [
  { role: "user", content: "What is the weather in Paris? Remember the code word PERIWINKLE." },
  { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
  { type: "function_call_output", call_id: "call_1", output: "18°C, light rain" },
  { type: "message", role: "assistant", content: [{ type: "output_text", text: "It is 18°C with light rain in Paris." }] },
  { role: "user", content: [{ type: "input_text", text: "Thanks. Next, Lyon." }] },
];
/** What the scripted upstream writes as the summary (its text answer). */
const SCRIPTED_SUMMARY = "Hello from the scripted upstream.";
const EXPECTED_EVENTS = ["response.created", "response.in_progress", "response.output_item.added", "response.output_item.done", "response.completed"];

type Upstream = { stream?: boolean; messages: Array<{ role: string; content: unknown; tool_calls?: unknown[] }>; tool_choice?: string; tools?: unknown[] };
type CompactionItem = { type: string; id: string; encrypted_content: string };
const text = (content: unknown) => (typeof content === "string" ? content : JSON.stringify(content));

beforeEach(resetSeen);

/** What reached the upstream for the summary: one tool-free summary request over the whole conversation. */
async function expectSummaryRequest(stream: boolean) {
  const { requests } = await seen();
  expect(requests).toHaveLength(1);
  const up = requests[0]!.body as unknown as Upstream;
  expect(up.stream ?? false).toBe(stream);
  expect(up.messages[0]).toEqual({ role: "system", content: COMPACTION_INSTRUCTIONS });
  expect(up.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"]);
  expect(text(up.messages[3]!.content)).toContain("18°C, light rain");
  expect(text(up.messages.at(-1)!.content)).toMatch(/summary/i);
  expect(JSON.stringify(up)).not.toContain("compaction_trigger");
  // Tools stay declared (a history of tool calls stays valid for strict upstreams), but none may be called.
  expect(up.tools).toHaveLength(1);
  expect(up.tool_choice).toBe("none");
}

function expectCompactionItem(item: unknown): CompactionItem {
  const c = item as CompactionItem;
  expect(Object.keys(c).sort()).toEqual(["encrypted_content", "id", "type"]);
  expect(c.type).toBe("compaction");
  expect(c.id).toMatch(/^cmp_/);
  expect(c.encrypted_content).toMatch(/^rb1\./);
  expect(c.encrypted_content).not.toContain("scripted");
  return c;
}

describe("compaction_trigger over HTTP", () => {
  it("SSE: created, in_progress, the compaction item added and done, completed with the summary call's usage", async () => {
    const res = await post("/v1/responses", { model: "scripted-text", stream: true, input: [...CONVERSATION, TRIGGER], tools: [WEATHER_TOOL], instructions: "You are Codex." });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const raw = await res.text();
    const list = events(raw);
    expect(list.map((e) => e.type)).toEqual(EXPECTED_EVENTS);
    const final = checkInvariants(raw);
    expect(final.status).toBe("completed");
    expect(final.output).toHaveLength(1);
    const item = expectCompactionItem(final.output[0]);
    expect(list[2]!.item).toEqual(item);
    expect(final.usage).toMatchObject({ input_tokens: 11, output_tokens: 7, total_tokens: 18 });
    // The envelope echoes the client's request, not the summary request.
    expect(final.instructions).toBe("You are Codex.");
    expect(final.tools).toHaveLength(1);
    expect(raw.trimEnd().endsWith("data: [DONE]")).toBe(true);
    await expectSummaryRequest(true);
  });

  it("JSON: the Response object with the compaction item as its one output", async () => {
    const res = await post("/v1/responses", { model: "scripted-text", input: [...CONVERSATION, TRIGGER], tools: [WEATHER_TOOL] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; status: string; id: string; output: unknown[]; usage: Record<string, number> };
    expect(body).toMatchObject({ object: "response", status: "completed", usage: { input_tokens: 11, output_tokens: 7 } });
    expect(body.id).toMatch(/^resp_/);
    expect(body.output).toHaveLength(1);
    expectCompactionItem(body.output[0]);
    await expectSummaryRequest(true);
  });

  it("the next turn carrying the item gets the summary in its place; a compacted history compacts again", async () => {
    const first = (await (await post("/v1/responses", { model: "scripted-text", input: [...CONVERSATION, TRIGGER] })).json()) as { output: CompactionItem[] };
    const item = first.output[0]!;
    await resetSeen();
    // What Codex sends next: the user's messages it kept, the item as it came, the new turn.
    const res = await post("/v1/responses", { model: "scripted-text", stream: true, input: [CONVERSATION[0], CONVERSATION[4], item, { role: "user", content: "And tomorrow?" }] });
    expect(events(await res.text()).at(-1)!.type).toBe("response.completed");
    const messages = (await seen()).requests[0]!.body.messages as Array<{ role: string; content: string }>;
    // The user's messages, the summary in the item's place and the new turn: one user turn (same-role messages are joined).
    expect(messages.map((m) => m.role)).toEqual(["user"]);
    expect(messages[0]!.content.split("\n\n").some((part) => part.startsWith("Summary of the earlier part of this conversation"))).toBe(true);
    expect(messages[0]!.content).toContain(SCRIPTED_SUMMARY);
    expect(messages[0]!.content.endsWith("And tomorrow?")).toBe(true);
    await resetSeen();
    const again = await post("/v1/responses", { model: "scripted-text", input: [CONVERSATION[0], item, { role: "user", content: "Now Marseille." }, TRIGGER] });
    const second = (await again.json()) as { output: CompactionItem[] };
    expect(second.output[0]!.encrypted_content).not.toBe(item.encrypted_content);
    expect(JSON.stringify((await seen()).requests[0]!.body)).toContain(SCRIPTED_SUMMARY);
  });

  it("stored as what it stands for: previous_response_id continues from the user's messages and the summary, not the whole conversation", async () => {
    const compacted = (await (await post("/v1/responses", { model: "scripted-text", input: [...CONVERSATION, TRIGGER] })).json()) as { id: string };
    // Its input items: the user's messages it keeps; the stored output: the item, still sealed.
    const listed = (await (await exports.default.fetch(`${BRIDGE}/v1/responses/${compacted.id}/input_items?order=asc`)).json()) as { data: Array<{ role: string; content: Array<{ text: string }> }> };
    expect(listed.data.map((m) => [m.role, m.content[0]!.text])).toEqual([["user", CONVERSATION[0]!.content], ["user", "Thanks. Next, Lyon."]]);
    const stored = await (await exports.default.fetch(`${BRIDGE}/v1/responses/${compacted.id}`)).text();
    expect(stored).not.toContain(SCRIPTED_SUMMARY);
    expectCompactionItem((JSON.parse(stored) as { output: unknown[] }).output[0]);
    await resetSeen();
    const res = await post("/v1/responses", { model: "scripted-text", previous_response_id: compacted.id, input: "And tomorrow?" });
    expect(res.status).toBe(200);
    const messages = (await seen()).requests[0]!.body.messages as Array<{ role: string; content: string }>;
    expect(messages.map((m) => m.role)).toEqual(["user"]);
    expect(messages[0]!.content).toContain("PERIWINKLE");
    expect(messages[0]!.content).toContain(SCRIPTED_SUMMARY);
    expect(JSON.stringify(messages)).not.toContain("18°C, light rain");
    expect(messages[0]!.content.endsWith("\n\nAnd tomorrow?")).toBe(true);
  });

  it("compacts a stored chain named by previous_response_id (the trigger alone as the new input)", async () => {
    const first = (await (await post("/v1/responses", { model: "scripted-text", input: "Plan a trip to Paris." })).json()) as { id: string };
    await resetSeen();
    const res = await post("/v1/responses", { model: "scripted-text", previous_response_id: first.id, input: [TRIGGER] });
    expect(res.status).toBe(200);
    expectCompactionItem(((await res.json()) as { output: unknown[] }).output[0]);
    const up = (await seen()).requests[0]!.body.messages as Array<{ role: string; content: string }>;
    expect(up.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(up[1]!.content).toBe("Plan a trip to Paris.");
  });

  it("a trigger anywhere but last is a 400 naming it; nothing reaches the upstream", async () => {
    const res = await post("/v1/responses", { model: "scripted-text", input: [TRIGGER, { role: "user", content: "hi" }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param: "input[0]", code: "invalid_value" } });
    expect((await seen()).requests).toHaveLength(0);
  });

  it("no key to seal with: 400 naming BRIDGE_SECRET, before any upstream call", async () => {
    const res = await withEnv({})("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: [{ role: "user", content: "hi" }, TRIGGER] }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: "compaction_unavailable", message: expect.stringContaining("BRIDGE_SECRET") });
    expect((await seen()).requests).toHaveLength(0);
  });

  it("an upstream HTTP error keeps its status (SSE too: nothing was sent yet)", async () => {
    const res = await post("/v1/responses", { model: "scripted-429", stream: true, input: [...CONVERSATION, TRIGGER] });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });
  });

  it("a summary without text: SSE ends in error + response.failed (no compaction item); JSON is a 502", async () => {
    const res = await post("/v1/responses", { model: "scripted-refusal", stream: true, input: [...CONVERSATION, TRIGGER] });
    const raw = await res.text();
    expect(events(raw).map((e) => e.type)).toEqual(["response.created", "response.in_progress", "error", "response.failed"]);
    const final = checkInvariants(raw);
    expect(final.error).toMatchObject({ code: "compaction_failed" });
    const json = await post("/v1/responses", { model: "scripted-refusal", input: [...CONVERSATION, TRIGGER] });
    expect(json.status).toBe(502);
    expect(await json.json()).toMatchObject({ error: { code: "compaction_failed" } });
  });

  it("a summary stream that fails midway: the upstream's error, then response.failed, and nothing stored", async () => {
    const res = await post("/v1/responses", { model: "scripted-midstream-error", stream: true, input: [...CONVERSATION, TRIGGER] });
    const raw = await res.text();
    const list = events(raw);
    expect(list.map((e) => e.type)).toEqual(["response.created", "response.in_progress", "error", "response.failed"]);
    expect(JSON.stringify(list[2])).toContain("Upstream overloaded");
    const final = checkInvariants(raw);
    expect(final.output).toEqual([]);
    expect((await exports.default.fetch(`${BRIDGE}/v1/responses/${final.id}`)).status).toBe(404);
  });
});

describe("compaction_trigger over the WebSocket", () => {
  const types = (turn: Frame[]) => turn.map((m) => m.type);

  it("response.create with previous_response_id and the trigger: the same events; the next turn continues from the compaction", async () => {
    const client = await connectWs();
    client.create({ model: "scripted-text", store: false, input: CONVERSATION.slice(0, 3), tools: [WEATHER_TOOL] });
    const first = await client.turn();
    expect(first.at(-1)!.type).toBe("response.completed");
    const firstId = first.at(-1)!.response!.id;
    // What Codex sends when its compaction follows a turn on the same socket: the delta, ending with the trigger.
    client.create({ model: "scripted-text", store: false, previous_response_id: firstId, input: [CONVERSATION[4], TRIGGER], tools: [WEATHER_TOOL] });
    const compaction = await client.turn();
    expect(types(compaction)).toEqual(EXPECTED_EVENTS);
    const final = checkInvariants(null, compaction as never);
    expect(final.usage).toMatchObject({ input_tokens: 11, output_tokens: 7, total_tokens: 18 });
    const item = expectCompactionItem(final.output[0]);
    const up = (await seen()).requests[1]!.body.messages as Array<{ role: string; content: unknown }>;
    expect(up.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"]);

    // Continued by previous_response_id on the socket (store: false: the connection remembers it).
    await resetSeen();
    client.create({ model: "scripted-text", store: false, previous_response_id: final.id, input: "And tomorrow?" });
    expect((await client.turn()).at(-1)!.type).toBe("response.completed");
    const next = (await seen()).requests[0]!.body.messages as Array<{ role: string; content: string }>;
    expect(next.map((m) => m.role)).toEqual(["user"]);
    expect(next[0]!.content).toContain(SCRIPTED_SUMMARY);
    expect(JSON.stringify(next)).not.toContain("18°C, light rain");

    // What Codex does: a full response.create, without previous_response_id, with the item in its input.
    await resetSeen();
    client.create({ model: "scripted-text", store: false, input: [CONVERSATION[0], CONVERSATION[4], item, { role: "user", content: "Go on." }] });
    expect((await client.turn()).at(-1)!.type).toBe("response.completed");
    expect(((await seen()).requests[0]!.body.messages as Array<{ content: string }>)[0]!.content).toContain(SCRIPTED_SUMMARY);
    client.ws.close();
  });

  it("a failed compaction continuation is an error frame, and the response it continued is forgotten", async () => {
    const client = await connectWs();
    client.create({ model: "scripted-text", store: false, input: "hi" });
    const id = (await client.turn()).at(-1)!.response!.id;
    client.create({ model: "scripted-429", store: false, previous_response_id: id, input: [TRIGGER] });
    expect(await client.turn()).toMatchObject([{ type: "error", status: 429 }]);
    client.create({ model: "scripted-text", store: false, previous_response_id: id, input: [TRIGGER] });
    expect(await client.turn()).toMatchObject([{ type: "error", status: 400, error: { code: "previous_response_not_found" } }]);
    client.ws.close();
  });
});
