import { beforeEach, describe, expect, it } from "vitest";
import { COMPACTION_INSTRUCTIONS, createSealer, MemoryResponseStore } from "../../src/server.ts";
import { configFromEnv } from "../../worker/config.ts";
import { handle } from "../../worker/router.ts";
import { SCRIPTED_KEY } from "../support/scripted-upstream.ts";
import { BRIDGE, events, post, resetSeen, seen, UPSTREAM, withEnv } from "./bridge.ts";

interface Compacted {
  id: string;
  object: string;
  created_at: number;
  output: Array<{ type: string; id: string; role?: string; content?: Array<{ type: string; text: string }>; encrypted_content?: string }>;
  usage: { input_tokens: number; output_tokens: number; total_tokens: number };
}

const WEATHER_TOOL = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };

/** A conversation with a tool round trip in it. */
const CONVERSATION = [
  { role: "user", content: "What is the weather in Paris? Remember the code word PERIWINKLE." },
  { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
  { type: "function_call_output", call_id: "call_1", output: "18°C, light rain" },
  { type: "message", role: "assistant", content: [{ type: "output_text", text: "It is 18°C with light rain in Paris." }] },
  { role: "user", content: [{ type: "input_text", text: "Thanks. Next, Lyon." }] },
];

/** What the scripted upstream answers to any non-streaming text request: the "summary" it writes. */
const SCRIPTED_SUMMARY = "Hello from the scripted upstream.";

const textOf = (content: unknown) => (typeof content === "string" ? content : JSON.stringify(content));

async function compact(body: unknown, headers: Record<string, string> = {}): Promise<Compacted> {
  const res = await post("/v1/responses/compact", body, headers);
  expect(res.status).toBe(200);
  return (await res.json()) as Compacted;
}

beforeEach(resetSeen);

describe("POST /v1/responses/compact", () => {
  it("asks the upstream for a summary of the whole conversation, once, non-streaming, and returns a CompactResource", async () => {
    const body = await compact({ model: "scripted-text", input: CONVERSATION, tools: [WEATHER_TOOL] });
    expect(body.object).toBe("response.compaction");
    expect(body.id).toMatch(/^resp_/);
    expect(typeof body.created_at).toBe("number");
    expect(body.usage).toMatchObject({ input_tokens: 11, output_tokens: 7, total_tokens: 18 });
    // The user's messages, as the API keeps them, then exactly one compaction item.
    expect(body.output.map((o) => [o.type, o.role])).toEqual([
      ["message", "user"],
      ["message", "user"],
      ["compaction", undefined],
    ]);
    expect(body.output[0]!.content).toEqual([{ type: "input_text", text: CONVERSATION[0]!.content }]);
    const item = body.output[2]!;
    expect(item.id).toMatch(/^cmp_/);
    expect(item.encrypted_content).toMatch(/^rb1\./);
    expect(item.encrypted_content).not.toContain("scripted");

    const { requests } = await seen();
    expect(requests).toHaveLength(1);
    const up = requests[0]!.body as { stream?: boolean; messages: Array<{ role: string; content: unknown; tool_calls?: unknown[] }>; tool_choice?: string; tools?: unknown[] };
    expect(up.stream).toBeUndefined();
    expect(up.messages[0]).toEqual({ role: "system", content: COMPACTION_INSTRUCTIONS });
    // The whole conversation reaches the summariser, tool call and result included, then the ask (joined to the last user turn).
    expect(up.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"]);
    expect(textOf(up.messages[3]!.content)).toContain("18°C, light rain");
    expect(textOf(up.messages.at(-1)!.content)).toMatch(/summary/i);
    expect(up.tools).toHaveLength(1);
    expect(up.tool_choice).toBe("none");
  });

  it("round trip: a later request carrying the compaction item gives the upstream the summary in its place", async () => {
    const compacted = await compact({ model: "scripted-text", input: CONVERSATION });
    await resetSeen();
    const res = await post("/v1/responses", { model: "scripted-text", stream: true, input: [...compacted.output, { role: "user", content: "And tomorrow?" }] });
    expect(res.status).toBe(200);
    expect(events(await res.text()).at(-1)!.type).toBe("response.completed");
    const messages = (await seen()).requests[0]!.body.messages as Array<{ role: string; content: string }>;
    // The retained user messages, the summary and the new message: one user turn (consecutive user messages are joined).
    expect(messages.map((m) => m.role)).toEqual(["user"]);
    expect(messages[0]!.content).toContain(SCRIPTED_SUMMARY);
    expect(messages[0]!.content).toMatch(/\n\nSummary of the earlier part of this conversation[\s\S]*\n\nAnd tomorrow\?$/);
  });

  it("a compacted history can be compacted again: the earlier summary is part of what is summarised", async () => {
    const first = await compact({ model: "scripted-text", input: CONVERSATION });
    await resetSeen();
    const second = await compact({ model: "scripted-text", input: [...first.output, { role: "user", content: "Now Marseille." }] });
    const up = (await seen()).requests[0]!.body.messages as Array<{ role: string; content: string }>;
    expect(up.some((m) => m.content.includes(SCRIPTED_SUMMARY))).toBe(true);
    // The new summary replaces the old one: one compaction item, after the user's three messages.
    expect(second.output.map((o) => o.type)).toEqual(["message", "message", "message", "compaction"]);
    expect(second.output.at(-1)!.encrypted_content).not.toBe(first.output.at(-1)!.encrypted_content);
  });

  it("compacts a stored chain named by previous_response_id, with the new input after it", async () => {
    const store = new MemoryResponseStore();
    const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, UPSTREAM_API_KEY: SCRIPTED_KEY });
    const call = (path: string, body: unknown) => handle(new Request(`${BRIDGE}${path}`, { method: "POST", body: JSON.stringify(body) }), config, (i, init) => fetch(i, init), { storeFor: () => store });
    const first = (await (await call("/v1/responses", { model: "scripted-text", input: "Plan a trip to Paris." })).json()) as { id: string };
    await resetSeen();
    const res = await call("/v1/responses/compact", { model: "scripted-text", previous_response_id: first.id, input: "And Lyon?" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Compacted;
    expect(body.output.map((o) => o.content?.[0]?.text ?? o.type)).toEqual(["Plan a trip to Paris.", "And Lyon?", "compaction"]);
    const up = (await seen()).requests[0]!.body.messages as Array<{ role: string; content: string }>;
    expect(up.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(up[2]!.content).toBe(SCRIPTED_SUMMARY);
  });

  it("accepts a string input", async () => {
    const body = await compact({ model: "scripted-text", input: "Just one message." });
    expect(body.output.map((o) => o.type)).toEqual(["message", "compaction"]);
  });

  it("missing model → 400 naming it, and nothing reaches the upstream", async () => {
    const res = await post("/v1/responses/compact", { input: CONVERSATION });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param: "model", code: "missing_required_parameter" } });
    expect((await seen()).requests).toHaveLength(0);
  });

  it("an upstream error keeps its status", async () => {
    const res = await post("/v1/responses/compact", { model: "scripted-429", input: CONVERSATION });
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ error: { code: "rate_limit_exceeded" } });
  });
});

describe("compaction tokens", () => {
  async function rejected(item: unknown, call = (body: unknown) => post("/v1/responses", body)) {
    await resetSeen();
    const res = await call({ model: "scripted-text", input: [{ role: "user", content: "hi" }, item] });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect((await seen()).requests).toHaveLength(0);
    return body.error;
  }

  it("a tampered, foreign or other-purpose token is a 400 naming the item; nothing reaches the upstream", async () => {
    const { output } = await compact({ model: "scripted-text", input: CONVERSATION });
    const token = output.at(-1)!.encrypted_content!;
    // One character of the ciphertext changed.
    const flipped = token.slice(0, 20) + (token[20] === "A" ? "B" : "A") + token.slice(21);
    expect(await rejected({ type: "compaction", encrypted_content: flipped })).toMatchObject({ code: "invalid_encrypted_content", param: "input[1].encrypted_content" });
    // OpenAI's own encrypted content, after a provider switch.
    expect((await rejected({ type: "compaction", id: "cmp_1", encrypted_content: "gAAAAABpM0Yj-abc=" })).code).toBe("invalid_encrypted_content");
    // Sealed by this bridge, but for reasoning, not compaction.
    const reasoningToken = await createSealer(`upstream-key:${SCRIPTED_KEY}`).seal("reasoning", { v: 1, summary: "forged" });
    expect((await rejected({ type: "compaction", encrypted_content: reasoningToken })).code).toBe("invalid_encrypted_content");
    expect((await rejected({ type: "compaction" })).code).toBe("missing_required_parameter");
  });

  it("a token made under another secret does not open", async () => {
    const ours = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY, BRIDGE_SECRET: "deployment-a" });
    const theirs = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY, BRIDGE_SECRET: "deployment-b" });
    const made = await ours("/v1/responses/compact", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: "x" }) });
    const item = ((await made.json()) as Compacted).output.at(-1);
    const send = (body: unknown) => theirs("/v1/responses", { method: "POST", body: JSON.stringify(body) });
    expect((await rejected(item, send)).code).toBe("invalid_encrypted_content");
    const same = await ours("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: [item] }) });
    expect(same.status).toBe(200);
  });

  it("a Worker with no secret and an anonymous client: compaction is a 400 that names BRIDGE_SECRET", async () => {
    const anonymous = withEnv({});
    const res = await anonymous("/v1/responses/compact", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: "x" }) });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("compaction_unavailable");
    expect(error.message).toContain("BRIDGE_SECRET");
    // With a client key, that key seals (and only that key opens).
    const keyed = await anonymous("/v1/responses/compact", { method: "POST", headers: { authorization: "Bearer sk-client-1" }, body: JSON.stringify({ model: "scripted-text", input: "x" }) });
    expect(keyed.status).toBe(200);
    const item = ((await keyed.json()) as Compacted).output.at(-1);
    const other = await anonymous("/v1/responses", { method: "POST", headers: { authorization: "Bearer sk-client-2" }, body: JSON.stringify({ model: "scripted-text", input: [item] }) });
    expect(other.status).toBe(400);
  });
});
