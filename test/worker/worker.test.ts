import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { configFromEnv } from "../../worker/config.ts";
import { type Fetch, handle } from "../../worker/router.ts";
import { SCRIPTED_KEY } from "../support/scripted-upstream.ts";
import { BRIDGE, events, post, resetSeen, seen, UPSTREAM, withEnv } from "./bridge.ts";

beforeEach(resetSeen);

describe("POST /v1/responses", () => {
  it("streams: SSE headers, converted events, upstream asked for an uncompressed stream with usage", async () => {
    const res = await post("/v1/responses", { model: "scripted-text", input: "hi", stream: true, store: false });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const list = events(await res.text());
    expect(list.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array(4).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect((list.at(-1) as unknown as { response: { usage: { total_tokens: number } } }).response.usage.total_tokens).toBe(18);
    const up = (await seen()).requests[0]!;
    expect(up.url).toBe("/v1/chat/completions");
    expect(up.body).toMatchObject({ model: "scripted-text", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    expect(up.headers["accept"]).toBe("text/event-stream");
    expect(up.headers["authorization"]).toBe(`Bearer ${SCRIPTED_KEY}`);
  });

  it("also answers on /responses, and non-streaming with a Response object", async () => {
    const res = await post("/responses", { model: "scripted-reasoning", input: "hi" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; status: string; output: Array<{ type: string }> };
    expect(body).toMatchObject({ object: "response", status: "completed" });
    expect(body.output.map((o) => o.type)).toEqual(["reasoning", "message"]);
  });

  it("tool calls stream as function_call items", async () => {
    const res = await post("/v1/responses", { model: "scripted-tools", input: "weather?", stream: true, tools: [{ type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }] });
    const list = events(await res.text());
    const done = list.find((e) => e.type === "response.output_item.done") as unknown as { item: { type: string; name: string; arguments: string; call_id: string } };
    expect(done.item).toMatchObject({ type: "function_call", name: "get_weather", arguments: '{"city":"Paris"}', call_id: "call_scripted_0" });
  });

  it("reports dropped hosted tools in a header; strict mode rejects them with 400", async () => {
    const body = { model: "scripted-text", input: "hi", tools: [{ type: "web_search" }, { type: "file_search", vector_store_ids: ["vs_1"] }] };
    const res = await post("/v1/responses", body);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-responses-bridge-dropped-tools")).toBe("web_search, file_search");
    const strict = await withEnv({ HOSTED_TOOLS: "reject" })("/v1/responses", { method: "POST", body: JSON.stringify(body) });
    expect(strict.status).toBe(400);
    expect(((await strict.json()) as { error: { param: string } }).error.param).toBe("tools[0]");
  });

  it("maps models through MODEL_MAP", async () => {
    const call = withEnv({ MODEL_MAP: JSON.stringify({ "gpt-5-codex": "scripted-text" }) });
    const res = await call("/v1/responses", { method: "POST", body: JSON.stringify({ model: "gpt-5-codex", input: "hi" }) });
    expect(res.status).toBe(200);
    expect((await seen()).requests[0]!.body.model).toBe("scripted-text");
  });

  it("bad requests are 400 in OpenAI's shape, and never reach the upstream", async () => {
    const malformed = await post("/v1/responses", "{nope");
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { type: "invalid_request_error", code: "invalid_json" } });
    const noModel = await post("/v1/responses", { input: "x" });
    expect(await noModel.json()).toMatchObject({ error: { type: "invalid_request_error", param: "model" } });
    const prev = await post("/v1/responses", { model: "m", input: "x", previous_response_id: "resp_1" });
    expect(prev.status).toBe(400);
    expect((await seen()).requests).toHaveLength(0);
  });
});

describe("upstream errors keep their status and reach the client in OpenAI's shape", () => {
  it("429 with Retry-After and rate-limit headers forwarded, wording kept", async () => {
    const res = await post("/v1/responses", { model: "scripted-429", input: "hi", stream: true });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(res.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(await res.json()).toEqual({ error: { message: "Rate limit reached for requests. Please try again in 7s.", type: "rate_limit_exceeded", param: null, code: "rate_limit_exceeded", request_id: expect.stringMatching(/^req_/) } });
  });

  it("401 and 404 keep status and message", async () => {
    const r401 = await withEnv({})("/v1/responses", { method: "POST", headers: { authorization: "Bearer sk-client-key" }, body: JSON.stringify({ model: "scripted-401", input: "x" }) });
    expect(r401.status).toBe(401);
    expect(await r401.json()).toMatchObject({ error: { code: "invalid_api_key", type: "invalid_request_error" } });
    const r404 = await post("/v1/responses", { model: "scripted-404", input: "x" });
    expect(r404.status).toBe(404);
    expect(await r404.json()).toMatchObject({ error: { code: "model_not_found", message: "The model `scripted-404` does not exist." } });
  });

  it("5xx with an HTML body keeps the status and gives the page's text as message", async () => {
    const res = await post("/v1/responses", { model: "scripted-500", input: "x" });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: { type: "server_error", code: "server_error", message: "502 Bad Gateway" } });
  });

  it("unreachable upstream → 502; slow upstream → 504", async () => {
    const down = handle(new Request(`${BRIDGE}/v1/responses`, { method: "POST", body: JSON.stringify({ model: "m", input: "x" }) }), configFromEnv({ UPSTREAM_BASE_URL: "http://127.0.0.1:9/v1", UPSTREAM_API_KEY: SCRIPTED_KEY }), () =>
      Promise.reject(new TypeError(`connect ECONNREFUSED 127.0.0.1:9 (key ${SCRIPTED_KEY})`)),
    );
    const r = await down;
    expect(r.status).toBe(502);
    const text = await r.text();
    expect(JSON.parse(text)).toMatchObject({ error: { type: "upstream_error", code: "upstream_unreachable" } });
    expect(text).not.toContain(SCRIPTED_KEY);
    const slow = await withEnv({ UPSTREAM_TIMEOUT_MS: "200" })("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-slow", input: "x" }) });
    expect(slow.status).toBe(504);
    expect(await slow.json()).toMatchObject({ error: { code: "upstream_timeout" } });
  });

  it("a failure after streaming began is response.failed in the stream", async () => {
    const res = await post("/v1/responses", { model: "scripted-midstream-error", input: "x", stream: true });
    expect(res.status).toBe(200);
    const list = events(await res.text());
    expect(list.at(-2)).toMatchObject({ type: "error", code: "rate_limit_exceeded", message: "Upstream overloaded. Please try again in 30s." });
    expect(list.at(-1)).toMatchObject({ type: "response.failed", response: { status: "failed", error: { code: "rate_limit_exceeded" } } });
  });

  it("nor in a stream's error event", async () => {
    const res = await post("/v1/responses", { model: "scripted-midstream-error-echo", input: "x", stream: true });
    const text = await res.text();
    expect(text).toContain("Key Bearer [redacted] is over quota");
    expect(text).not.toContain(SCRIPTED_KEY);
  });

  it("the upstream key never appears in a response, even when the upstream echoes it", async () => {
    // scripted-401 quotes the Authorization it received, as OpenAI's own 401 does.
    const res = await post("/v1/responses", { model: "scripted-401", input: "x" });
    const text = await res.text();
    expect(text).toContain("[redacted]");
    expect(text).not.toContain(SCRIPTED_KEY);
  });
});

describe("client-specific output", () => {
  it("refusals reach Codex as output_text (it cannot parse refusal parts), and others as refusal parts", async () => {
    const body = { model: "scripted-refusal", input: "x", stream: true };
    const codex = events(await (await post("/v1/responses", body, { originator: "codex_exec", "user-agent": "codex_exec/0.169.0" })).text());
    expect(codex.map((e) => e.type)).toContain("response.output_text.delta");
    expect(codex.map((e) => e.type)).not.toContain("response.refusal.delta");
    const sdk = events(await (await post("/v1/responses", body, { "user-agent": "OpenAI/JS 7.57.0" })).text());
    expect(sdk.map((e) => e.type)).toContain("response.refusal.delta");
    const forced = events(await (await withEnv({ REFUSAL_AS_TEXT: "true" })("/v1/responses", { method: "POST", body: JSON.stringify(body) })).text());
    expect(forced.map((e) => e.type)).toContain("response.output_text.delta");
  });
});

describe("auth", () => {
  it("PROXY_API_KEYS: the client must present one; the proxy key is never sent upstream", async () => {
    const call = withEnv({ PROXY_API_KEYS: "pk-one, pk-two" });
    const body = JSON.stringify({ model: "scripted-text", input: "x" });
    expect((await call("/v1/responses", { method: "POST", body })).status).toBe(401);
    const wrong = await call("/v1/responses", { method: "POST", body, headers: { authorization: "Bearer pk-three" } });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: "invalid_api_key" } });
    expect((await call("/v1/responses", { method: "POST", body, headers: { authorization: "Bearer pk-two" } })).status).toBe(200);
    expect((await seen()).requests.at(-1)!.headers["authorization"]).toBeUndefined();
  });

  it("without UPSTREAM_API_KEY the client's Authorization is forwarded", async () => {
    await withEnv({})("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: "x" }), headers: { authorization: "Bearer sk-client" } });
    expect((await seen()).requests.at(-1)!.headers["authorization"]).toBe("Bearer sk-client");
  });

  it("with UPSTREAM_API_KEY the client's Authorization is replaced", async () => {
    await post("/v1/responses", { model: "scripted-text", input: "x" }, { authorization: "Bearer sk-client" });
    expect((await seen()).requests.at(-1)!.headers["authorization"]).toBe(`Bearer ${SCRIPTED_KEY}`);
  });
});

describe("routing and CORS", () => {
  it("GET /v1/models and POST /v1/chat/completions pass through", async () => {
    const models = await exports.default.fetch(`${BRIDGE}/v1/models`);
    expect(models.status).toBe(200);
    expect(await models.json()).toMatchObject({ object: "list", data: [{ id: "scripted-text" }, { id: "scripted-tools" }] });
    const chat = await post("/v1/chat/completions", { model: "scripted-text", messages: [{ role: "user", content: "hi" }], stream: true });
    expect(chat.headers.get("content-type")).toBe("text/event-stream");
    const text = await chat.text();
    expect(text).toContain('"chat.completion.chunk"');
    expect(text).toContain("data: [DONE]");
    expect((await seen()).requests.map((r) => r.url)).toEqual(["/v1/models", "/v1/chat/completions"]);
  });

  it("unknown paths are JSON 404, wrong methods JSON 405", async () => {
    const nf = await exports.default.fetch(`${BRIDGE}/v1/embeddings`, { method: "POST", body: "{}" });
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ error: { type: "invalid_request_error", code: "unknown_url" } });
    const na = await exports.default.fetch(`${BRIDGE}/v1/responses`, { method: "PUT", body: "{}" });
    expect(na.status).toBe(405);
    expect(na.headers.get("allow")).toBe("POST, GET, OPTIONS");
    expect(await na.json()).toMatchObject({ error: { code: "method_not_allowed" } });
  });

  it("preflight and CORS headers for allowed origins only", async () => {
    const pre = await exports.default.fetch(`${BRIDGE}/v1/responses`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(pre.headers.get("access-control-allow-headers")).toContain("authorization");
    // Every method the bridge serves, DELETE /v1/responses/{id} included.
    expect(pre.headers.get("access-control-allow-methods")!.split(", ").sort()).toEqual(["DELETE", "GET", "OPTIONS", "POST"]);
    const other = await exports.default.fetch(`${BRIDGE}/v1/responses`, { method: "OPTIONS", headers: { origin: "https://evil.example" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const res = await post("/v1/responses", { model: "scripted-text", input: "x" }, { origin: "https://app.example" });
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const star = await withEnv({ CORS_ALLOWED_ORIGINS: "*" })("/v1/models", { headers: { origin: "https://any.example" } });
    expect(star.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("without a store, previous_response_id and item_reference are unknown ids (OpenAI's 400s), not unsupported", async () => {
    const noStore = withEnv({});
    const res = await noStore("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", previous_response_id: "resp_x", input: "hi" }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "previous_response_not_found", param: "previous_response_id" } });
    const ref = await noStore("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: [{ type: "item_reference", id: "msg_x" }] }) });
    expect(await ref.json()).toMatchObject({ error: { code: "item_not_found", param: "input[0].id" } });
  });

  it("a streamed answer with no body is response.failed in the stream, as over the WebSocket (not a 502)", async () => {
    const empty = withEnv({}, async () => new Response(null, { status: 200, headers: { "content-type": "text/event-stream" } }));
    const res = await empty("/v1/responses", { method: "POST", body: JSON.stringify({ model: "m", input: "hi", stream: true }) });
    expect(res.status).toBe(200);
    const last = events(await res.text()).at(-1)!;
    expect(last).toMatchObject({ type: "response.failed", response: { error: { message: "Upstream answered without a body." } } });
  });

  it("a misconfigured Worker says which variable is wrong", () => {
    expect(() => configFromEnv({})).toThrow(/UPSTREAM_BASE_URL/);
    expect(() => configFromEnv({ UPSTREAM_BASE_URL: "http://x", MODEL_MAP: "{" })).toThrow(/MODEL_MAP/);
    expect(() => configFromEnv({ UPSTREAM_BASE_URL: "http://x", REASONING_MODE: "loud" })).toThrow(/REASONING_MODE/);
  });
});

describe("streaming behaviour", () => {
  /** An upstream whose stream is under the test's control. */
  function controlledUpstream() {
    const state = { cancelled: false, signal: null as AbortSignal | null, controller: null as ReadableStreamDefaultController<Uint8Array> | null };
    const fetchUpstream: Fetch = async (_input, init) => {
      state.signal = init?.signal ?? null;
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          state.controller = c;
        },
        cancel() {
          state.cancelled = true;
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    return { state, fetchUpstream };
  }
  const enc = new TextEncoder();
  const frame = (delta: Record<string, unknown>, finish: string | null = null) => enc.encode(`data: ${JSON.stringify({ created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);

  it("each upstream chunk's events reach the client before the next chunk exists", async () => {
    const { state, fetchUpstream } = controlledUpstream();
    const res = await handle(new Request(`${BRIDGE}/v1/responses`, { method: "POST", body: JSON.stringify({ model: "m", input: "x", stream: true }) }), configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1` }), fetchUpstream);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    state.controller!.enqueue(frame({ content: "first" }));
    let got = "";
    while (!got.includes('"delta":"first"')) got += dec.decode((await reader.read()).value);
    // Nothing more has been sent upstream, yet the first delta is already out.
    state.controller!.enqueue(frame({ content: " second" }, "stop"));
    state.controller!.enqueue(enc.encode("data: [DONE]\n\n"));
    state.controller!.close();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      got += dec.decode(value);
    }
    expect(got).toContain("response.completed");
  });

  it("the client hanging up cancels the upstream stream", async () => {
    const { state, fetchUpstream } = controlledUpstream();
    const res = await handle(new Request(`${BRIDGE}/v1/responses`, { method: "POST", body: JSON.stringify({ model: "m", input: "x", stream: true }) }), configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1` }), fetchUpstream);
    const reader = res.body!.getReader();
    state.controller!.enqueue(frame({ content: "partial" }));
    await reader.read();
    await reader.cancel("client went away");
    expect(state.cancelled).toBe(true);
  });

  it("a client abort before the upstream answers aborts the upstream request", async () => {
    const client = new AbortController();
    let upstreamSignal: AbortSignal | undefined;
    const pending = handle(
      new Request(`${BRIDGE}/v1/responses`, { method: "POST", body: JSON.stringify({ model: "m", input: "x", stream: true }), signal: client.signal }),
      configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1` }),
      (_i, init) =>
        new Promise((_resolve, reject) => {
          upstreamSignal = init?.signal ?? undefined;
          upstreamSignal?.addEventListener("abort", () => reject(upstreamSignal!.reason));
        }),
    );
    await new Promise((r) => setTimeout(r, 10));
    client.abort();
    await pending.catch(() => undefined);
    expect(upstreamSignal?.aborted).toBe(true);
  });
});
