import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readUpstreamError } from "../../src/index.ts";
import { ConfigError, configFromEnv } from "../../worker/config.ts";
import type { Env } from "../../worker/env.ts";
import type { ResponseLine } from "../../worker/ops/types.ts";
import { refusedFields, refusedFor, retryWithoutRefused, asUpstreamTakesIt } from "../../worker/run/refused-fields.ts";
import { ANTHROPIC_THINKING_REQUIRED } from "../support/refusing-upstream.ts";
import { events, UPSTREAM, withEnv } from "./bridge.ts";
import { connectWs } from "./ws-client.ts";

// Fields an upstream refuses, learned like templates (issue 25, item 1), and upstream error bodies
// in providers' own shapes reaching the client as OpenAI's (item 3). The scripted upstream plays a
// refusing provider for models named `scripted-refuse-<style>…@fields` and an erring one for
// `scripted-error-<shape>` (test/support/refusing-upstream.ts). Each test uses its own model names:
// what the Worker learns is per upstream and model, for the isolate's life.

type Body = Record<string, unknown>;

/** Each provider's refusal as it arrives, read as the Worker reads it: `readUpstreamError`, then the recogniser. */
const read = (status: number, body: unknown) => refusedFields(status, readUpstreamError(body, status).error);

describe("the recogniser: each provider's own words", () => {
  it("Google: the array-wrapped error, top-level and nested names", () => {
    expect(read(400, [{ error: { code: 400, message: 'Invalid JSON payload received. Unknown name "prompt_cache_key": Cannot find field.', status: "INVALID_ARGUMENT" } }])).toEqual(["prompt_cache_key"]);
    expect(read(400, [{ error: { code: 400, message: "Invalid JSON payload received. Unknown name \"strict\" at 'tools[0].function': Cannot find field.", status: "INVALID_ARGUMENT" } }])).toEqual(["tools.0.function.strict"]);
    expect(read(400, [{ error: { code: 400, message: 'Invalid JSON payload received. Unknown name "include_usage" at \'stream_options\': Cannot find field.\nInvalid JSON payload received. Unknown name "store": Cannot find field.', status: "INVALID_ARGUMENT" } }])).toEqual(["stream_options.include_usage", "store"]);
  });

  it("OpenAI-style: `Unrecognized request argument supplied`, `Unknown parameter`, `Unsupported parameter`, and `param` with its code", () => {
    expect(read(400, { error: { message: "Unrecognized request argument supplied: prompt_cache_key", type: "invalid_request_error", param: null, code: null } })).toEqual(["prompt_cache_key"]);
    expect(read(400, { error: { message: "Unrecognized request arguments supplied: seed, user", type: "invalid_request_error" } })).toEqual(["seed", "user"]);
    expect(read(400, { error: { message: "Unknown parameter: 'safety_identifier'.", type: "invalid_request_error", param: "safety_identifier", code: "unknown_parameter" } })).toEqual(["safety_identifier"]);
    expect(read(400, { error: { message: "Unsupported parameter: 'parallel_tool_calls' is not supported with this model.", type: "invalid_request_error", param: "parallel_tool_calls", code: "unsupported_parameter" } })).toEqual(["parallel_tool_calls"]);
    expect(read(400, { error: { message: "This model does not take that.", type: "invalid_request_error", param: "service_tier", code: "unsupported_parameter" } })).toEqual(["service_tier"]);
  });

  it("pydantic: vLLM's Python repr, FastAPI's 422 detail, Mistral's message list", () => {
    expect(read(400, { object: "error", message: "[{'type': 'extra_forbidden', 'loc': ('body', 'stream_options'), 'msg': 'Extra inputs are not permitted', 'input': {}}]", type: "BadRequestError", param: null, code: 400 })).toEqual(["stream_options"]);
    expect(read(400, { object: "error", message: "[{'type': 'extra_forbidden', 'loc': ('body', 'messages', 0, 'typed-dict', 'id'), 'msg': 'Extra inputs are not permitted', 'input': 1}]", type: "BadRequestError", code: 400 })).toEqual(["messages.0.typed-dict.id"]);
    expect(read(422, { detail: [{ type: "extra_forbidden", loc: ["body", "prompt_cache_key"], msg: "Extra inputs are not permitted", input: "k" }] })).toEqual(["prompt_cache_key"]);
    const list = [{ type: "extra_forbidden", loc: ["body", "metadata"], msg: "Extra inputs are not permitted", input: {} }];
    expect(read(422, { object: "Error", detail: list, message: list, type: "invalid_request_error", code: 3001 })).toEqual(["metadata"]);
    // The JSON form, when a server quotes the list as text.
    expect(refusedFields(422, { message: JSON.stringify(list), param: null, code: null })).toEqual(["metadata"]);
  });

  it("Groq: `property 'x' is unsupported`, top-level and inside a message", () => {
    expect(read(400, { error: { message: "property 'store' is unsupported, did you mean 'stop'?", type: "invalid_request_error" } })).toEqual(["store"]);
    expect(read(400, { error: { message: "property 'reasoning_effort' is unsupported, did you mean 'reasoning_format'?", type: "invalid_request_error" } })).toEqual(["reasoning_effort"]);
    expect(read(400, { error: { message: "'messages.0' : for 'role:user' the following must be satisfied[('messages.0' : property 'timestamp' is unsupported)]", type: "invalid_request_error" } })).toEqual(["messages.0.timestamp"]);
  });

  it("LiteLLM's proxy", () => {
    expect(read(400, { error: { message: "litellm.UnsupportedParamsError: openai does not support parameters: ['prompt_cache_key', 'user'], for model=gpt-4o. To drop these, set `litellm.drop_params=True`", type: "invalid_request_error", param: null, code: "400" } })).toEqual(["prompt_cache_key", "user"]);
  });

  it("nothing in other errors, or at other statuses", () => {
    expect(read(400, { error: { message: "Invalid value for 'temperature'.", type: "invalid_request_error" } })).toEqual([]);
    expect(read(400, { error: { message: "The `reasoning_content` in the thinking mode must be passed back to the API.", type: "invalid_request_error" } })).toEqual([]);
    expect(read(500, { error: { message: "Unrecognized request argument supplied: user" } })).toEqual([]);
    expect(read(401, { error: { message: "Unrecognized request argument supplied: user" } })).toEqual([]);
  });
});

describe("what may be dropped", () => {
  const route = { model: "m", baseUrl: "http://unit.test/v1" };
  const refusal = (message: string) => ({ message, type: "invalid_request_error", param: null, code: null });

  it("only optional fields the request carried: never one that carries meaning, never one it did not send, never twice", () => {
    const state = refusedFor(route, "unit-1");
    const sent = { model: "m", messages: [], prompt_cache_key: "k", response_format: { type: "json_object" }, reasoning_effort: "high", temperature: 0.2, max_tokens: 5, max_completion_tokens: 5, logprobs: true, top_logprobs: 3 };
    // logprobs are sent only when the client asked for them: dropped, its answer would silently lack them.
    for (const meaningful of ["response_format", "reasoning_effort", "temperature", "max_tokens", "messages", "tools.0.function.strict", "messages.0.timestamp", "logprobs", "top_logprobs"]) {
      expect(retryWithoutRefused(state, "unit-1", 400, refusal(`Unrecognized request argument supplied: ${meaningful}`), sent)).toBeNull();
    }
    expect(retryWithoutRefused(state, "unit-1", 400, refusal("Unrecognized request argument supplied: user"), sent)).toBeNull();
    // A list naming one field that may go and one that may not: nothing is dropped.
    expect(retryWithoutRefused(state, "unit-1", 400, refusal("Unrecognized request arguments supplied: prompt_cache_key, response_format"), sent)).toBeNull();
    expect(retryWithoutRefused(state, "unit-1", 400, refusal("Unrecognized request argument supplied: prompt_cache_key"), sent)).toEqual(["prompt_cache_key"]);
    expect(retryWithoutRefused(state, "unit-1", 400, refusal("Unrecognized request argument supplied: prompt_cache_key"), sent)).toBeNull();
    // Remembered for that upstream only.
    expect([...refusedFor(route, "unit-1").rules]).toEqual([["prompt_cache_key", null]]);
    expect([...refusedFor(route, "unit-2").rules]).toEqual([]);
  });

  it("the output limit is never dropped: sent again under its other name, once, never back", () => {
    const state = refusedFor(route, "unit-5");
    const openai = { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", type: "invalid_request_error", param: "max_tokens", code: "unsupported_parameter" };
    expect(retryWithoutRefused(state, "unit-5", 400, openai, { max_tokens: 50 })).toEqual(["max_tokens"]);
    const body = { model: "m", max_tokens: 50 };
    expect(asUpstreamTakesIt(body, state)).toEqual({ model: "m", max_completion_tokens: 50 });
    expect(state.dropped).toEqual(["max_tokens→max_completion_tokens"]);
    // Refused under the other name as well: nothing more to try.
    expect(retryWithoutRefused(state, "unit-5", 400, refusal("Unrecognized request argument supplied: max_completion_tokens"), { max_completion_tokens: 50 })).toBeNull();
    expect(asUpstreamTakesIt({ model: "m" }, refusedFor(route, "unit-5"))).toEqual({ model: "m" });
  });

  it("a nested name under a field that may go drops the whole field (stream_options.include_usage)", () => {
    const state = refusedFor(route, "unit-3");
    expect(retryWithoutRefused(state, "unit-3", 400, refusal('Unknown name "include_usage" at \'stream_options\': Cannot find field.'), { stream_options: { include_usage: true } })).toEqual(["stream_options"]);
  });

  it("at most four retries for one request", () => {
    const state = refusedFor(route, "unit-4");
    const sent = { prompt_cache_key: "k", user: "u", metadata: {}, seed: 1, store: true, service_tier: "auto" };
    const fields = Object.keys(sent);
    const answers = fields.map((f) => retryWithoutRefused(state, "unit-4", 400, refusal(`Unrecognized request argument supplied: ${f}`), sent));
    expect(answers).toEqual([["prompt_cache_key"], ["user"], ["metadata"], ["seed"], null, null]);
  });
});

// ---- Through the Worker, against the scripted upstream ----

let sent: Body[] = [];
let logged: ResponseLine[] = [];
beforeEach(() => {
  sent = [];
  logged = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    const text = String(args[0]);
    if (text.startsWith('{"event":"response"')) logged.push(JSON.parse(text) as ResponseLine);
  });
});
afterEach(() => vi.restoreAllMocks());

/** The Worker with `env`, counting and keeping every request body that reaches the upstream. */
function bridge(env: Partial<Env> = {}) {
  return withEnv(env, async (input, init) => {
    sent.push(JSON.parse(String(init?.body)) as Body);
    return fetch(input, init);
  });
}

/** What Codex sends every turn: a `prompt_cache_key` (its thread id), and `store: false`. */
const codexTurn = (model: string, extra: Body = {}) => ({ model, instructions: "You are Codex.", input: [{ role: "user", content: [{ type: "input_text", text: "Say hello" }] }], prompt_cache_key: "019a-thread", store: false, ...extra });

async function run(call: ReturnType<typeof bridge>, body: Body) {
  const res = await call("/v1/responses", { method: "POST", body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, json: () => JSON.parse(text) as { error: Record<string, unknown> }, terminal: res.status === 200 && body.stream ? events(text).at(-1) : undefined };
}

describe("refused fields, learned per upstream", () => {
  it("Google refuses Codex's prompt_cache_key: sent again without it, and never again to that upstream (counted)", async () => {
    const call = bridge();
    const first = await run(call, { ...codexTurn("scripted-refuse-google-learn@prompt_cache_key"), stream: true });
    expect(first.status, first.text).toBe(200);
    expect(first.terminal).toMatchObject({ type: "response.completed" });
    expect(sent.length).toBe(2);
    expect(sent[0]!.prompt_cache_key).toBe("019a-thread");
    expect("prompt_cache_key" in sent[1]!).toBe(false);
    expect(logged.at(-1)).toMatchObject({ status: "completed", attempts: 2, dropped_fields: ["prompt_cache_key"] });
    // Later requests (streamed or not, HTTP or WebSocket) leave it out from the first one.
    sent = [];
    expect((await run(call, codexTurn("scripted-refuse-google-learn@prompt_cache_key"))).status).toBe(200);
    const ws = await connectWs((init) => call("/v1/responses", init));
    ws.create(codexTurn("scripted-refuse-google-learn@prompt_cache_key"));
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "response.completed" });
    ws.ws.close();
    expect(sent.length).toBe(2);
    expect(sent.every((b) => !("prompt_cache_key" in b))).toBe(true);
    // Another model on the same server is its own upstream: it still gets the field.
    sent = [];
    expect((await run(call, codexTurn("scripted-text"))).status).toBe(200);
    expect(sent[0]!.prompt_cache_key).toBe("019a-thread");
  });

  it("over a WebSocket the first refusal is learned the same way: the turn completes, one retry", async () => {
    const call = bridge();
    const ws = await connectWs((init) => call("/v1/responses", init));
    ws.create(codexTurn("scripted-refuse-groq-ws@prompt_cache_key"));
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "response.completed" });
    ws.create(codexTurn("scripted-refuse-groq-ws@prompt_cache_key"));
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "response.completed" });
    ws.ws.close();
    expect(sent.map((b) => "prompt_cache_key" in b)).toEqual([true, false, false]);
  });

  it("each provider's refusal, as it sends it, is understood (streamed and not)", async () => {
    const call = bridge();
    for (const style of ["google", "openai", "groq", "vllm", "fastapi", "mistral"]) {
      for (const stream of [false, true]) {
        sent = [];
        const model = `scripted-refuse-${style}-each-${stream}@prompt_cache_key`;
        const r = await run(call, { ...codexTurn(model), stream });
        expect(r.status, `${style}: ${r.text}`).toBe(200);
        expect(sent.length, style).toBe(2);
        expect("prompt_cache_key" in sent[1]!, style).toBe(false);
      }
    }
  });

  it("a large conversation (its body streamed) is sent again the same way, from the body factory", async () => {
    const streamed: boolean[] = [];
    const call = withEnv({}, async (input, init) => {
      const stream = init?.body instanceof ReadableStream;
      streamed.push(stream);
      const text = stream ? await new Response(init!.body).text() : String(init?.body);
      sent.push(JSON.parse(text) as Body);
      return fetch(input, { ...init, body: text });
    });
    const big = "long history. ".repeat(80_000);
    const r = await run(call, { ...codexTurn("scripted-refuse-openai-large@prompt_cache_key"), input: [{ role: "user", content: big }], stream: true });
    expect(r.status, r.text.slice(0, 300)).toBe(200);
    expect(r.terminal).toMatchObject({ type: "response.completed" });
    expect(streamed).toEqual([true, true]);
    expect(sent.map((b) => "prompt_cache_key" in b)).toEqual([true, false]);
    expect((sent[1]!.messages as Array<{ content: string }>).at(-1)!.content).toBe(big);
  });

  it("several refused fields in a row: one retry each, each learned", async () => {
    const call = bridge({ FORWARD_PARAMS: "metadata" });
    const model = "scripted-refuse-openai-several@prompt_cache_key,user,metadata";
    const turn = codexTurn(model, { safety_identifier: "person-1", metadata: { run: "1" } });
    const first = await run(call, turn);
    expect(first.status, first.text).toBe(200);
    expect(sent.map((b) => ["prompt_cache_key", "user", "metadata"].filter((f) => f in b))).toEqual([["prompt_cache_key", "user", "metadata"], ["user", "metadata"], ["metadata"], []]);
    expect(logged.at(-1)).toMatchObject({ status: "completed", attempts: 4 });
    expect(new Set(logged.at(-1)!.dropped_fields)).toEqual(new Set(["prompt_cache_key", "user", "metadata"]));
    sent = [];
    expect((await run(call, turn)).status).toBe(200);
    expect(sent.length).toBe(1);
  });

  it("retries are bounded: past four, the client gets the upstream's 400", async () => {
    const call = bridge({ FORWARD_PARAMS: "metadata,service_tier,seed" });
    const model = "scripted-refuse-openai-bounded@prompt_cache_key,user,metadata,service_tier,seed";
    const r = await run(call, codexTurn(model, { safety_identifier: "p", metadata: { a: "b" }, service_tier: "auto", seed: 7 }));
    expect(r.status).toBe(400);
    expect(r.json().error).toMatchObject({ message: "Unrecognized request argument supplied: seed", type: "invalid_request_error" });
    expect(sent.length).toBe(5);
  });

  it("a field that carries what the client asked for is never dropped: the client gets the provider's 400, one request", async () => {
    const call = bridge();
    const cases: Array<[string, Body, string]> = [
      ["scripted-refuse-openai-meaning@response_format", { text: { format: { type: "json_object" } } }, "Unrecognized request argument supplied: response_format"],
      ["scripted-refuse-groq-meaning@reasoning_effort", { reasoning: { effort: "high" } }, "property 'reasoning_effort' is unsupported, did you mean 'stop'?"],
      ["scripted-refuse-google-meaning@temperature", { temperature: 0.2 }, 'Invalid JSON payload received. Unknown name "temperature": Cannot find field.'],
    ];
    for (const [model, extra, message] of cases) {
      for (const stream of [false, true]) {
        sent = [];
        const r = await run(call, { ...codexTurn(model), ...extra, stream });
        expect(r.status, r.text).toBe(400);
        expect(r.json().error).toMatchObject({ message, type: "invalid_request_error" });
        expect(sent.length).toBe(1);
      }
    }
  });

  it("a refused max_tokens goes again as max_completion_tokens, the limit kept, and so from then on", async () => {
    const call = bridge();
    const model = "scripted-refuse-vllm-limit@max_tokens";
    const r = await run(call, { ...codexTurn(model), max_output_tokens: 50 });
    expect(r.status, r.text).toBe(200);
    expect(sent.map((b) => [b.max_tokens, b.max_completion_tokens])).toEqual([[50, undefined], [undefined, 50]]);
    expect(logged.at(-1)!.dropped_fields).toEqual(["max_tokens→max_completion_tokens"]);
    sent = [];
    expect((await run(call, { ...codexTurn(model), max_output_tokens: 60 })).status).toBe(200);
    expect(sent.map((b) => [b.max_tokens, b.max_completion_tokens])).toEqual([[undefined, 60]]);
  });

  it("MODEL_MAP's omit: never sent, from the first request, and said in the log line", async () => {
    const call = bridge({ MODEL_MAP: JSON.stringify({ gemini: { model: "scripted-refuse-google-omit@prompt_cache_key,user", omit: ["prompt_cache_key", "user"] } }) });
    const r = await run(call, { ...codexTurn("gemini"), safety_identifier: "p", stream: true });
    expect(r.status, r.text).toBe(200);
    expect(sent.length).toBe(1);
    expect(Object.keys(sent[0]!)).not.toContain("prompt_cache_key");
    expect(Object.keys(sent[0]!)).not.toContain("user");
    expect(logged.at(-1)).toMatchObject({ model: "gemini", status: "completed", attempts: 1 });
    expect(new Set(logged.at(-1)!.dropped_fields)).toEqual(new Set(["prompt_cache_key", "user"]));
  });

  it("learned for the upstream that refused, after a fallback: that route leaves the field out, the first route still gets it", async () => {
    const fallback = "scripted-refuse-google-fallback@prompt_cache_key";
    const call = bridge({ MODEL_MAP: JSON.stringify({ fast: { model: "scripted-500", base_url: `${UPSTREAM}/v1`, fallback: [fallback] } }) });
    const models = () => sent.map((b) => [b.model, "prompt_cache_key" in b]);
    const first = await run(call, { ...codexTurn("fast"), stream: true });
    expect(first.status, first.text).toBe(200);
    expect(first.terminal).toMatchObject({ type: "response.completed" });
    // The first route's 500, the fallback's refusal, the fallback again without the field (not the first route again).
    expect(models()).toEqual([["scripted-500", true], [fallback, true], [fallback, false]]);
    sent = [];
    expect((await run(call, codexTurn("fast"))).status).toBe(200);
    expect(models()).toEqual([["scripted-500", true], [fallback, false]]);
  });

  it("MODEL_MAP's omit is checked when the configuration is read", () => {
    const base = { UPSTREAM_BASE_URL: `${UPSTREAM}/v1` };
    expect(() => configFromEnv({ ...base, MODEL_MAP: JSON.stringify({ m: { omit: "prompt_cache_key" } }) })).toThrow(ConfigError);
    expect(() => configFromEnv({ ...base, MODEL_MAP: JSON.stringify({ m: { omit: ["messages"] } }) })).toThrow(/cannot name "messages"/);
    expect(() => configFromEnv({ ...base, MODEL_MAP: JSON.stringify({ m: { model: "x", fallback: [{ model: "y", omit: [1] }] } }) })).toThrow(/fallback\[0\]\.omit/);
    expect(configFromEnv({ ...base, MODEL_MAP: JSON.stringify({ m: { model: "x", omit: ["seed"], fallback: [{ model: "y", omit: ["user"] }] } }) }).route("m")).toMatchObject({ omit: ["seed"], fallback: [{ model: "y", omit: ["user"] }] });
  });
});

describe("provider error shapes reach the client as OpenAI's, with the real status and message", () => {
  const ANTHROPIC = { message: ANTHROPIC_THINKING_REQUIRED, type: "invalid_request_error", param: null, code: null };

  it("OpenRouter's envelope: the provider's raw message, over JSON and SSE, the provider in the log line", async () => {
    const call = bridge();
    for (const stream of [false, true]) {
      const r = await run(call, { model: "scripted-error-openrouter", input: "hi", stream });
      expect(r.status).toBe(400);
      expect(r.json().error).toMatchObject(ANTHROPIC);
      expect(logged.at(-1)).toMatchObject({ status: "failed", http_status: 400, upstream_provider: "Anthropic", error_code: "invalid_request_error" });
    }
  });

  it("Google's array-wrapped 429, FastAPI's 422, a plain-text 503", async () => {
    const call = bridge();
    const google = await run(call, { model: "scripted-error-google-429", input: "hi" });
    expect(google.status).toBe(429);
    expect(google.json().error).toMatchObject({ message: "Resource has been exhausted (e.g. check quota).", type: "rate_limit_exceeded", code: "rate_limit_exceeded" });
    expect(logged.at(-1)).toMatchObject({ http_status: 429, upstream_provider: "Google" });
    const fastapi = await run(call, { model: "scripted-error-fastapi", input: "hi", stream: true });
    expect(fastapi.status).toBe(422);
    expect(fastapi.json().error).toMatchObject({ message: "body.messages: Field required", type: "invalid_request_error" });
    const text = await run(call, { model: "scripted-error-text", input: "hi" });
    expect(text.status).toBe(503);
    expect(text.json().error).toMatchObject({ message: "upstream connect error or disconnect/reset before headers. reset reason: overflow", type: "server_error", code: "server_error" });
  });

  it("over a WebSocket: an error frame with the real status and message, and the socket goes on", async () => {
    const call = bridge();
    const ws = await connectWs((init) => call("/v1/responses", init));
    ws.create({ model: "scripted-error-openrouter", input: "hi" });
    // The spec's WebSocketErrorEvent requires a string code: the type stands in for a null one.
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "error", status: 400, error: { ...ANTHROPIC, code: "invalid_request_error" } });
    ws.create({ model: "scripted-text", input: "hi" });
    expect((await ws.turn()).at(-1)).toMatchObject({ type: "response.completed" });
    ws.ws.close();
  });

  it("mid-stream, OpenRouter's envelope in a chunk: response.failed with the provider's words", async () => {
    const call = bridge();
    const r = await run(call, { model: "scripted-midstream-error-openrouter", input: "hi", stream: true });
    expect(r.status).toBe(200);
    expect(r.terminal).toMatchObject({ type: "response.failed", response: { status: "failed", error: { message: "Overloaded" } } });
  });
});
