import OpenAI from "openai";
import { beforeEach, describe, expect, it } from "vitest";
import { type ChatMessage } from "../../src/index.ts";
import { MemoryResponseStore } from "../../src/server.ts";
import { configFromEnv } from "../../worker/config.ts";
import type { Env } from "../../worker/env.ts";
import { asksForReasoningContent, withReasoningContentEverywhere } from "../../worker/run/reasoning-retry.ts";
import type { Platform } from "../../worker/router.ts";
import { DEEPSEEK_REASONING_REQUIRED } from "../support/scripted-upstream.ts";
import { events, UPSTREAM, withEnv } from "./bridge.ts";

// The scripted upstream plays DeepSeek's thinking mode for models named `…deepseek…` (reasoning in
// `reasoning_content` every turn; 400 when a tool loop's reasoning is not passed back) and an
// OpenAI-strict server for `…strict…` (400 on any message field it does not know).

type Item = { type: string; id?: string; call_id?: string; summary?: Array<{ text: string }>; [k: string]: unknown };
type Message = { role: string; content?: unknown; reasoning_content?: string; reasoning?: string; tool_calls?: unknown[] };

const tools = [{ type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];

/** One request through the Worker; the final Response object (from the stream's terminal event, or the JSON body). */
async function turn(call: ReturnType<typeof withEnv>, body: Record<string, unknown>): Promise<{ status: number; output: Item[]; error?: { message: string } }> {
  const res = await call("/v1/responses", { method: "POST", body: JSON.stringify({ tools, ...body }) });
  if (res.status !== 200) return { status: res.status, output: [], error: ((await res.json()) as { error: { message: string } }).error };
  if (body.stream !== true) return { status: 200, output: ((await res.json()) as { output: Item[] }).output };
  const terminal = events(await res.text()).at(-1) as { type: string; response: { output: Item[] } };
  expect(terminal.type).toBe("response.completed");
  return { status: 200, output: terminal.response.output };
}

/** The messages of each chat request the Worker sent upstream, recorded here (other test files share the scripted server's log). */
let sent: Message[][] = [];
function bridge(env: Partial<Env>, platform: Platform = {}) {
  return withEnv(
    env,
    async (input, init) => {
      sent.push((JSON.parse(String(init?.body)) as { messages: Message[] }).messages);
      return fetch(input, init);
    },
    platform,
  );
}

const call = bridge({});
const output = (item: Item) => ({ type: "function_call_output", call_id: item.call_id, output: "18C and sunny" });

beforeEach(() => {
  sent = [];
});

describe("DeepSeek thinking mode through a tool loop, default settings", () => {
  for (const stream of [true, false]) {
    it(`the openai SDK's replay of response.output completes three requests (${stream ? "streamed" : "JSON"})`, async () => {
      const model = "scripted-deepseek-tools";
      const history: unknown[] = [{ role: "user", content: "Weather in Paris?" }];
      const first = await turn(call, { model, input: history, stream });
      expect(first.output.map((o) => o.type)).toEqual(["reasoning", "function_call"]);
      history.push(...first.output, output(first.output[1]!));

      const second = await turn(call, { model, input: history, stream });
      expect(second.status).toBe(200);
      expect(second.output.map((o) => o.type)).toEqual(["reasoning", "message"]);
      history.push(...second.output, { role: "user", content: "And in Rome?" });

      const third = await turn(call, { model, input: history, stream });
      expect(third.status, third.error?.message).toBe(200);

      // What DeepSeek got back, first time every time: each assistant turn's own reasoning, in reasoning_content.
      expect(sent).toHaveLength(3);
      const assistants = sent.at(-1)!.filter((m) => m.role === "assistant");
      expect(assistants.map((m) => m.reasoning_content)).toEqual([first.output[0]!.summary![0]!.text, second.output[0]!.summary![0]!.text]);
      expect(assistants[0]!.reasoning_content).toBe("Thinking it over (turn 0).");
      expect(assistants.every((m) => !("reasoning" in m))).toBe(true);
    });
  }

  it("the openai SDK's own tool loop (responses.stream, output items passed back as documented)", async () => {
    const handler = call;
    const client = new OpenAI({ apiKey: "sk-client", baseURL: "http://bridge.test/v1", maxRetries: 0, fetch: (input, init) => handler(new URL(String(input)).pathname, init) });
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: "Weather in Paris?" }];
    const params = { model: "scripted-deepseek-tools", tools: [{ ...tools[0]!, type: "function" as const, strict: false }] };
    for (let i = 0; i < 3; i++) {
      const response = await client.responses.stream({ ...params, input }).finalResponse();
      input.push(...(response.output as OpenAI.Responses.ResponseInputItem[]));
      const call = response.output.find((o) => o.type === "function_call");
      if (call) input.push({ type: "function_call_output", call_id: call.call_id, output: "18C" });
      else input.push({ role: "user", content: "And tomorrow?" });
    }
    expect(sent).toHaveLength(3);
    expect(sent[2]!.filter((m) => m.role === "assistant").map((m) => m.reasoning_content)).toEqual(["Thinking it over (turn 0).", "Thinking it over (turn 1)."]);
  });

  // A DeepSeek upstream that asked once is remembered (per isolate), so the tests that make it ask use models of their own.
  it("reasoning of unknown origin (ids dropped by the client): DeepSeek's 400, then one more request with it, which succeeds", async () => {
    const model = "scripted-deepseek-tools-ids";
    const first = await turn(call, { model, input: "Weather in Paris?" });
    const stripped = first.output.map(({ id: _id, ...item }) => item);
    sent = [];
    const second = await turn(call, { model, input: [{ role: "user", content: "Weather in Paris?" }, ...stripped, output(first.output[1]!)] });
    expect(second.status, second.error?.message).toBe(200);
    // The first attempt went without (origin unknown), and the fixture refused it as DeepSeek does.
    expect(sent.map((messages) => messages.find((m) => m.role === "assistant")!.reasoning_content)).toEqual([undefined, "Thinking it over (turn 0)."]);
  });

  it("a model switch on the same DeepSeek server (flash → pro) is refused once, then sent with the reasoning; later turns go right the first time", async () => {
    const first = await turn(call, { model: "scripted-deepseek-tools", input: "Weather in Paris?", stream: true });
    sent = [];
    const history: unknown[] = [{ role: "user", content: "Weather in Paris?" }, ...first.output, output(first.output[1]!)];
    const next = await turn(call, { model: "scripted-deepseek-pro-tools", input: history, stream: true });
    expect(next.status, next.error?.message).toBe(200);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.find((m) => m.role === "assistant")!.reasoning_content).toBe("Thinking it over (turn 0).");
    // The flash turn's reasoning never matches pro; pro has asked once, so it now gets reasoning without asking.
    history.push(...next.output, { role: "user", content: "And in Rome?" });
    sent = [];
    const third = await turn(call, { model: "scripted-deepseek-pro-tools", input: history, stream: true });
    expect(third.status, third.error?.message).toBe(200);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.filter((m) => m.role === "assistant").map((m) => m.reasoning_content)).toEqual(["Thinking it over (turn 0).", "Thinking it over (turn 1)."]);
  });

  it("an assistant turn with no reasoning at all gets an empty reasoning_content on the second attempt", async () => {
    const first = await turn(call, { model: "scripted-deepseek-tools-bare", input: "Weather in Paris?" });
    sent = [];
    const next = await turn(call, { model: "scripted-deepseek-tools-bare", input: [{ role: "user", content: "Weather in Paris?" }, first.output[1], output(first.output[1]!)] });
    expect(next.status, next.error?.message).toBe(200);
    expect(sent.map((messages) => messages.find((m) => m.role === "assistant")!.reasoning_content)).toEqual([undefined, ""]);
  });

  it("other 400s are not retried, and an explicit REASONING_HISTORY is not second-guessed", async () => {
    const first = await turn(call, { model: "scripted-deepseek-tools", input: "Weather in Paris?" });
    sent = [];
    const dropped = await turn(bridge({ REASONING_HISTORY: "drop" }), { model: "scripted-deepseek-tools", input: [{ role: "user", content: "Weather in Paris?" }, ...first.output, output(first.output[1]!)] });
    expect(dropped.error?.message).toBe(DEEPSEEK_REASONING_REQUIRED);
    const forced = await turn(bridge({ REASONING_HISTORY: "reasoning_content" }), { model: "scripted-strict-tools", input: [{ role: "user", content: "Weather in Paris?" }, ...first.output, output(first.output[1]!)] });
    expect(forced.status).toBe(400);
    expect(sent).toHaveLength(2);
  });
});

describe("never to an upstream that did not produce it", () => {
  it("a DeepSeek history continued on a strict upstream (another server, by MODEL_MAP) succeeds, without reasoning fields", async () => {
    const mixed = bridge({ MODEL_MAP: JSON.stringify({ strict: { model: "scripted-strict-tools", base_url: "http://strict.test/v1" } }) });
    const first = await turn(mixed, { model: "scripted-deepseek-tools", input: "Weather in Paris?", stream: true });
    const next = await turn(mixed, { model: "strict", input: [{ role: "user", content: "Weather in Paris?" }, ...first.output, output(first.output[1]!)], stream: true });
    expect(next.status, next.error?.message).toBe(200);
    const [, toStrict] = sent;
    expect(toStrict!.find((m) => m.role === "assistant")).toEqual({ role: "assistant", content: null, tool_calls: [expect.objectContaining({ id: first.output[1]!.call_id })] });
    // The fixture is strict: the same request with the field forced in is refused.
    const forced = bridge({ MODEL_MAP: JSON.stringify({ strict: { model: "scripted-strict-tools", reasoning_history: "reasoning_content" } }) });
    const refused = await turn(forced, { model: "strict", input: [{ role: "user", content: "Weather in Paris?" }, ...first.output, output(first.output[1]!)] });
    expect(refused.status).toBe(400);
    expect(refused.error?.message).toBe("Unrecognized request argument supplied: messages[].reasoning_content");
  });

  it("the same server, another model: reasoning stays behind", async () => {
    const first = await turn(call, { model: "scripted-deepseek-tools", input: "Weather in Paris?" });
    const next = await turn(call, { model: "scripted-strict-tools", input: [{ role: "user", content: "Weather in Paris?" }, ...first.output, output(first.output[1]!)] });
    expect(next.status, next.error?.message).toBe(200);
  });
});

describe("REASONING_HISTORY and MODEL_MAP's reasoning_history override the automatic choice", () => {
  const foreign = [
    { role: "user", content: "Weather in Paris?" },
    { type: "reasoning", id: "rs_68af4030592c8193b9f6ec5d2b1f61ba", summary: [{ type: "summary_text", text: "Reasoning from elsewhere." }] },
    { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
    { type: "function_call_output", call_id: "call_1", output: "18C" },
  ];

  it("REASONING_HISTORY=reasoning_content sends reasoning the bridge did not mark; drop sends none", async () => {
    expect((await turn(bridge({ REASONING_HISTORY: "reasoning_content" }), { model: "scripted-deepseek-tools", input: foreign })).status).toBe(200);
    expect(sent[0]!.find((m) => m.role === "assistant")!.reasoning_content).toBe("Reasoning from elsewhere.");
    const first = await turn(call, { model: "scripted-deepseek-tools", input: "Weather in Paris?" });
    const dropped = await turn(bridge({ REASONING_HISTORY: "drop" }), { model: "scripted-deepseek-tools", input: [{ role: "user", content: "Weather in Paris?" }, ...first.output, output(first.output[1]!)] });
    expect(dropped.error?.message).toBe(DEEPSEEK_REASONING_REQUIRED);
  });

  it("per model in MODEL_MAP, which wins over REASONING_HISTORY", async () => {
    const env = bridge({ REASONING_HISTORY: "drop", MODEL_MAP: JSON.stringify({ ds: { model: "scripted-deepseek-tools", reasoning_history: "reasoning_content" }, vllm: { model: "scripted-vllm-tools", reasoning_history: "reasoning" } }) });
    expect((await turn(env, { model: "ds", input: foreign })).status).toBe(200);
    expect((await turn(env, { model: "vllm", input: foreign })).status).toBe(200);
    const [ds, vllm] = sent;
    expect(ds!.find((m) => m.role === "assistant")!.reasoning_content).toBe("Reasoning from elsewhere.");
    expect(vllm!.find((m) => m.role === "assistant")!.reasoning).toBe("Reasoning from elsewhere.");
  });

  it("a misspelt value is a configuration error naming the variable", () => {
    expect(() => configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, REASONING_HISTORY: "keep" })).toThrow(/REASONING_HISTORY/);
    expect(() => configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, MODEL_MAP: JSON.stringify({ ds: { reasoning_history: "keep" } }) })).toThrow(/MODEL_MAP\["ds"\]\.reasoning_history/);
  });
});

describe("include: reasoning.encrypted_content (store: false clients that keep only the token)", () => {
  const sealed = bridge({ BRIDGE_SECRET: "worker-test-secret" });
  const include = ["reasoning.encrypted_content"];

  it("every reasoning item carries a sealed token, in output_item.done and the final response, streamed or not", async () => {
    const res = await sealed("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-deepseek-tools", input: "hi", tools, include, store: false, stream: true }) });
    const list = events(await res.text()) as Array<{ type: string; item?: Item; response?: { output: Item[] } }>;
    const done = list.find((e) => e.type === "response.output_item.done" && e.item!.type === "reasoning")!.item!;
    expect(done.encrypted_content).toMatch(/^rb1\./);
    expect(list.at(-1)!.response!.output[0]!.encrypted_content).toBe(done.encrypted_content);
    const json = await turn(sealed, { model: "scripted-deepseek-tools", input: "hi", include, store: false });
    expect(json.output[0]!.encrypted_content).toMatch(/^rb1\./);
    // Not asked for, not sent.
    expect((await turn(sealed, { model: "scripted-deepseek-tools", input: "hi", store: false })).output[0]).not.toHaveProperty("encrypted_content");
  });

  it("a tool loop whose client sends back only the token (no summary, no id, as the AI SDK does) completes on DeepSeek", async () => {
    const model = "scripted-deepseek-tools";
    const history: unknown[] = [{ role: "user", content: "Weather in Paris?" }];
    const tokenOnly = (item: Item) => (item.type === "reasoning" ? { type: "reasoning", summary: [], encrypted_content: item.encrypted_content } : item);
    for (let i = 0; i < 3; i++) {
      const r = await turn(sealed, { model, input: history, include, store: false, stream: true });
      expect(r.status, r.error?.message).toBe(200);
      history.push(...r.output.map(tokenOnly));
      const fc = r.output.find((o) => o.type === "function_call");
      history.push(fc ? output(fc) : { role: "user", content: "And tomorrow?" });
    }
    expect(sent).toHaveLength(3);
    expect(sent[2]!.filter((m) => m.role === "assistant").map((m) => m.reasoning_content)).toEqual(["Thinking it over (turn 0).", "Thinking it over (turn 1)."]);
    expect(JSON.stringify(sent)).not.toContain("rb1.");
  });

  it("forged, tampered and foreign tokens are dropped quietly: the request succeeds and no token goes upstream", async () => {
    const first = await turn(sealed, { model: "scripted-deepseek-tools", input: "Weather in Paris?", include, store: false });
    const real = first.output[0]!.encrypted_content as string;
    const tokens = ["gAAAAABpOpenAIEncryptedReasoningFromAnotherProvider==", "rb1.Zm9yZ2VkLXRva2VuLWZvcmdlZC10b2tlbi1mb3JnZWQ", real.slice(0, -3) + (real.endsWith("abc") ? "xyz" : "abc")];
    for (const token of tokens) {
      sent = [];
      const r = await turn(sealed, {
        model: "scripted-strict-tools",
        input: [{ role: "user", content: "Weather in Paris?" }, { type: "reasoning", summary: [], encrypted_content: token }, first.output[1], output(first.output[1]!)],
        store: false,
      });
      expect(r.status, r.error?.message).toBe(200);
      expect(JSON.stringify(sent)).not.toContain(token.slice(4, 20));
    }
    // A genuine token made for the DeepSeek route is not sent to another upstream either.
    sent = [];
    const elsewhere = await turn(sealed, { model: "scripted-strict-tools", input: [{ role: "user", content: "Weather in Paris?" }, { type: "reasoning", summary: [], encrypted_content: real }, first.output[1], output(first.output[1]!)] });
    expect(elsewhere.status, elsewhere.error?.message).toBe(200);
    // …while another Worker secret cannot open this one's tokens: DeepSeek gets no reasoning text, only the empty stand-in.
    sent = [];
    await turn(bridge({ BRIDGE_SECRET: "another-secret" }), {
      model: "scripted-deepseek-tools-other",
      input: [{ role: "user", content: "Weather in Paris?" }, { type: "reasoning", summary: [], encrypted_content: real }, first.output[1], output(first.output[1]!)],
    });
    expect(sent.map((messages) => messages.find((m) => m.role === "assistant")!.reasoning_content)).toEqual([undefined, ""]);
  });

  it("a Worker without any secret and an anonymous client: no sealer, so no token (and none opens)", async () => {
    const r = await turn(bridge({}), { model: "scripted-deepseek-tools", input: "hi", include, store: false });
    expect(r.status).toBe(200);
    expect(r.output[0]).not.toHaveProperty("encrypted_content");
  });
});

describe("with stored state", () => {
  it("an item_reference to a reasoning item restores its text (the AI SDK's default, store: true)", async () => {
    const store = new MemoryResponseStore();
    const stateful = bridge({}, { storeFor: () => store });
    const first = await turn(stateful, { model: "scripted-deepseek-tools", input: [{ role: "user", content: "Weather in Paris?" }], stream: true });
    const [rs, fc] = first.output;
    const second = await turn(stateful, {
      model: "scripted-deepseek-tools",
      input: [{ role: "user", content: "Weather in Paris?" }, { type: "item_reference", id: rs!.id }, { type: "item_reference", id: fc!.id }, output(fc!)],
      stream: true,
    });
    expect(second.status, second.error?.message).toBe(200);
    expect(sent).toHaveLength(2);
    expect(sent[1]!.find((m) => m.role === "assistant")!.reasoning_content).toBe("Thinking it over (turn 0).");
  });

  it("a tool loop by previous_response_id alone keeps each turn's reasoning", async () => {
    const store = new MemoryResponseStore();
    const stateful = bridge({}, { storeFor: () => store });
    const res1 = await stateful("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-deepseek-tools", tools, input: "Weather in Paris?" }) });
    const r1 = (await res1.json()) as { id: string; output: Item[] };
    const res2 = await stateful("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-deepseek-tools", tools, previous_response_id: r1.id, input: [output(r1.output[1]!)] }) });
    const r2 = (await res2.json()) as { id: string };
    expect(res2.status, JSON.stringify(r2)).toBe(200);
    const res3 = await stateful("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-deepseek-tools", tools, previous_response_id: r2.id, input: "And in Rome?" }) });
    expect(res3.status, await res3.clone().text()).toBe(200);
    expect(sent).toHaveLength(3);
    expect(sent[2]!.filter((m) => m.role === "assistant").map((m) => m.reasoning_content)).toEqual(["Thinking it over (turn 0).", "Thinking it over (turn 1)."]);
  });
});

describe("an upstream asking for its reasoning back", () => {
  it("recognises DeepSeek's words (current and deepseek-reasoner's), and nothing else", () => {
    expect(asksForReasoningContent(400, "The `reasoning_content` in the thinking mode must be passed back to the API.")).toBe(true);
    expect(asksForReasoningContent(400, "Missing `reasoning_content` field in the assistant message at message index 2")).toBe(true);
    expect(asksForReasoningContent(400, "Unrecognized request argument supplied: messages[].reasoning_content")).toBe(false);
    expect(asksForReasoningContent(400, "'messages.2' : for 'role:assistant' the following must be satisfied[('messages.2' : property 'reasoning_content' is unsupported)]")).toBe(false);
    expect(asksForReasoningContent(429, "The `reasoning_content` in the thinking mode must be passed back to the API.")).toBe(false);
  });

  it("fills an empty reasoning_content where an assistant message has none, leaving the rest", () => {
    const request = { model: "m", messages: [{ role: "user", content: "x" }, { role: "assistant", content: null, reasoning_content: "kept" }, { role: "assistant", content: "y" }] as ChatMessage[] };
    expect(withReasoningContentEverywhere(request).messages).toEqual([{ role: "user", content: "x" }, { role: "assistant", content: null, reasoning_content: "kept" }, { role: "assistant", content: "y", reasoning_content: "" }]);
    expect(request.messages[2]).not.toHaveProperty("reasoning_content");
  });
});
