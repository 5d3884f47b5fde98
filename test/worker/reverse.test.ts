import { beforeEach, describe, expect, it } from "vitest";
import { configFromEnv } from "../../worker/config.ts";
import { checkChatSse } from "../support/chat-invariants.ts";
import { SCRIPTED_KEY } from "../support/scripted-upstream.ts";
import { resetSeen, seen, UPSTREAM, withEnv } from "./bridge.ts";

beforeEach(resetSeen);

const reverse = withEnv({ UPSTREAM_API: "responses", UPSTREAM_API_KEY: SCRIPTED_KEY });
const chat = (body: Record<string, unknown>, call = reverse) => call("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const weather = { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } };

describe("UPSTREAM_API=responses: POST /v1/chat/completions through a Responses upstream", () => {
  it("streams: the upstream gets a Responses request; the client gets OpenAI chat chunks, usage, [DONE]", async () => {
    const res = await chat({ model: "gpt-5-pro", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true }, max_tokens: 50 });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const s = checkChatSse(await res.text(), { includeUsage: true });
    expect(s.content).toBe("Hello from the responses upstream.");
    expect(s.finishReason).toBe("stop");
    expect(s.usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18, prompt_tokens_details: { cached_tokens: 3 }, completion_tokens_details: { reasoning_tokens: 0 } });
    const up = (await seen()).requests[0]!;
    expect(up.url).toBe("/v1/responses");
    expect(up.headers["authorization"]).toBe(`Bearer ${SCRIPTED_KEY}`);
    expect(up.headers["accept"]).toBe("text/event-stream");
    expect(up.body).toEqual({ model: "gpt-5-pro", instructions: "Be brief.", input: [{ type: "message", role: "user", content: "hi" }], max_output_tokens: 50, store: false, stream: true });
  });

  it("non-streaming: one chat.completion", async () => {
    const res = await chat({ model: "scripted-reasoning", messages: [{ role: "user", content: "hi" }], reasoning_effort: "low" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      object: "chat.completion",
      model: "scripted-reasoning",
      choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hello from the responses upstream.", reasoning_content: "The user wants a greeting.\n\nKeep it short." } }],
      usage: { total_tokens: 18, completion_tokens_details: { reasoning_tokens: 4 } },
    });
    expect((await seen()).requests[0]!.body).toMatchObject({ reasoning: { effort: "low", summary: "auto" }, store: false });
  });

  it("OMIT_PARAMS leaves fields out of the Responses request (sampling settings reasoning models reject)", async () => {
    const omitting = withEnv({ UPSTREAM_API: "responses", OMIT_PARAMS: "temperature,top_p" });
    await chat({ model: "gpt-5-pro", messages: [{ role: "user", content: "x" }], temperature: 0.2, top_p: 0.5, max_completion_tokens: 64 }, omitting);
    expect((await seen()).requests[0]!.body).toEqual({ model: "gpt-5-pro", input: [{ type: "message", role: "user", content: "x" }], max_output_tokens: 64, store: false });
  });

  it("a tool round trip: parallel calls streamed with their indexes, then the tool results become function_call_output", async () => {
    const tools = [weather, { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { tz: { type: "string" } } } } }];
    const first = checkChatSse(await (await chat({ model: "scripted-parallel-tools", messages: [{ role: "user", content: "both" }], tools, stream: true })).text());
    expect(first.finishReason).toBe("tool_calls");
    expect(first.calls).toEqual([
      { id: "call_scripted_0", name: "get_weather", arguments: '{"city":"Paris"}' },
      { id: "call_scripted_1", name: "get_time", arguments: '{"tz":"Paris"}' },
    ]);
    const messages = [
      { role: "user", content: "both" },
      { role: "assistant", content: null, tool_calls: first.calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })) },
      { role: "tool", tool_call_id: "call_scripted_0", content: "18C" },
      { role: "tool", tool_call_id: "call_scripted_1", content: "noon" },
    ];
    const second = (await (await chat({ model: "scripted-parallel-tools", messages, tools })).json()) as { choices: Array<{ message: { content: string } }> };
    expect(second.choices[0]!.message.content).toBe("The tool said: noon");
    const input = ((await seen()).requests[1]!.body as { input: Array<{ type: string }> }).input;
    expect(input.map((i) => i.type)).toEqual(["message", "function_call", "function_call", "function_call_output", "function_call_output"]);
  });

  it("refusal, incomplete (length) and failures mid-stream: error frames, never a clean stop", async () => {
    const refusal = checkChatSse(await (await chat({ model: "scripted-refusal", messages: [{ role: "user", content: "x" }], stream: true })).text());
    expect(refusal).toMatchObject({ refusal: "I can't help with that.", finishReason: "stop" });
    expect(checkChatSse(await (await chat({ model: "scripted-length", messages: [{ role: "user", content: "x" }], stream: true })).text()).finishReason).toBe("length");
    const failed = checkChatSse(await (await chat({ model: "scripted-failed", messages: [{ role: "user", content: "x" }], stream: true })).text());
    expect(failed).toMatchObject({ content: "Hello from the", error: { code: "server_error", message: "The server had an error while processing your request." } });
    const rate = checkChatSse(await (await chat({ model: "scripted-error-event", messages: [{ role: "user", content: "x" }], stream: true })).text());
    expect(rate.error).toMatchObject({ code: "rate_limit_exceeded", type: "rate_limit_exceeded" });
    const reset = checkChatSse(await (await chat({ model: "scripted-reset", messages: [{ role: "user", content: "x" }], stream: true })).text());
    // Across Miniflare's outbound service a reset arrives as an early close or as a read error: either way an error frame.
    expect(reset.error?.message).toMatch(/ended before the response did|failed mid-stream/);
    expect(reset.content).toBe("Hello");
    const stalled = withEnv({ UPSTREAM_API: "responses", UPSTREAM_IDLE_TIMEOUT_MS: "200" });
    const hang = checkChatSse(await (await chat({ model: "scripted-hang", messages: [{ role: "user", content: "x" }], stream: true }, stalled)).text());
    expect(hang.error).toMatchObject({ code: "upstream_idle_timeout" });
  });

  it("upstream HTTP errors keep their status, Retry-After and error shape; bad requests are ours, in OpenAI's shape", async () => {
    const limited = await chat({ model: "scripted-429", messages: [{ role: "user", content: "x" }], stream: true });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(await limited.json()).toEqual({ error: { message: "Rate limit reached for requests. Please try again in 7s.", type: "rate_limit_exceeded", param: null, code: "rate_limit_exceeded", request_id: expect.stringMatching(/^req_/) } });
    const rejected = await chat({ model: "scripted-400", messages: [{ role: "user", content: "x" }] });
    expect(rejected.status).toBe(400);
    expect(((await rejected.json()) as { error: { code: string } }).error.code).toBe("unsupported_parameter");
    const ours = await chat({ model: "m", messages: [{ role: "user", content: "x" }], n: 3 });
    expect(ours.status).toBe(400);
    expect(((await ours.json()) as { error: { param: string } }).error.param).toBe("n");
    const broken = await reverse("/v1/chat/completions", { method: "POST", body: "{oops" });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: string } }).error.code).toBe("invalid_json");
    expect((await seen()).requests.length).toBe(2);
  });
});

describe("UPSTREAM_API=responses: the Responses paths go to the upstream unchanged", () => {
  it("POST /v1/responses (stream and not) is forwarded as it is, with MODEL_MAP's model", async () => {
    const call = withEnv({ UPSTREAM_API: "responses", MODEL_MAP: JSON.stringify({ pro: "gpt-5-pro" }) });
    const body = { model: "pro", input: "hi", stream: true, text: { verbosity: "low" }, custom_field: 1 };
    const res = await call("/v1/responses", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const text = await res.text();
    expect(text).toContain("event: response.output_text.delta");
    expect(text).toContain('"model":"gpt-5-pro"');
    expect((await seen()).requests[0]!.body).toEqual({ ...body, model: "gpt-5-pro" });
    const plain = await call("/v1/responses", { method: "POST", body: JSON.stringify({ model: "pro", input: "hi" }) });
    expect(((await plain.json()) as { object: string; status: string }).status).toBe("completed");
  });

  it("stored-response paths are the upstream's", async () => {
    const res = await reverse("/v1/responses/resp_123", { method: "GET" });
    expect(res.status).toBe(404);
    expect((await seen()).requests.at(-1)).toMatchObject({ url: "/v1/responses/resp_123", method: "GET" });
  });

  it("WebSocket: an upstream that takes no WebSocket gets each response.create as a streaming POST, each event relayed as one frame", async () => {
    const res = await reverse("/v1/responses", { headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    ws.accept();
    const frames: Array<{ type: string; response?: { status: string } }> = [];
    const done = new Promise<void>((resolve) =>
      ws.addEventListener("message", (e) => {
        const f = JSON.parse(e.data as string) as (typeof frames)[number];
        frames.push(f);
        if (f.type === "response.completed" || f.type === "error") resolve();
      }),
    );
    ws.send(JSON.stringify({ type: "response.create", model: "scripted-text", input: "hi" }));
    await done;
    const limited = new Promise<Record<string, unknown>>((resolve) => ws.addEventListener("message", (e) => resolve(JSON.parse(e.data as string) as Record<string, unknown>)));
    ws.send(JSON.stringify({ type: "response.create", model: "scripted-429", input: "hi" }));
    expect(await limited).toMatchObject({ type: "error", status: 429, error: { code: "rate_limit_exceeded" }, headers: { "retry-after": "7" } });
    ws.close();
    expect(frames[0]!.type).toBe("response.created");
    expect(frames.filter((f) => f.type === "response.output_text.delta").length).toBe(4);
    expect(frames.find((f) => f.type === "response.completed")!.response!.status).toBe("completed");
    const [upgrade, relayed] = (await seen()).requests;
    // The socket was offered to the upstream first (it answered 404, not 101)…
    expect(upgrade).toMatchObject({ url: "/v1/responses", method: "GET", headers: { upgrade: "websocket", authorization: `Bearer ${SCRIPTED_KEY}` } });
    // …then the frame went as a streaming POST.
    expect(relayed).toMatchObject({ url: "/v1/responses", method: "POST", body: { model: "scripted-text", input: "hi", stream: true } });
  });

  it("WebSocket relay: a cut or stalled upstream stream ends the turn with an error frame", async () => {
    const open = async () => {
      const res = await withEnv({ UPSTREAM_API: "responses", UPSTREAM_IDLE_TIMEOUT_MS: "200" })("/v1/responses", { headers: { upgrade: "websocket" } });
      const ws = res.webSocket!;
      ws.accept();
      return ws;
    };
    const lastFrame = async (model: string) => {
      const ws = await open();
      const frames: Array<{ type: string; error?: { code: string; message: string } }> = [];
      const ended = new Promise<void>((resolve) =>
        ws.addEventListener("message", (e) => {
          const f = JSON.parse(e.data as string) as (typeof frames)[number];
          frames.push(f);
          if (f.type === "error" || f.type === "response.completed") resolve();
        }),
      );
      ws.send(JSON.stringify({ type: "response.create", model, input: "hi" }));
      await ended;
      ws.close();
      return frames;
    };
    const cut = await lastFrame("scripted-reset");
    expect(cut.at(-1)).toMatchObject({ type: "error", error: { code: "upstream_disconnected" } });
    expect(cut.filter((f) => f.type === "response.output_text.delta")).toHaveLength(1);
    const stalled = await lastFrame("scripted-hang");
    expect(stalled.at(-1)).toMatchObject({ type: "error", error: { code: "upstream_disconnected", message: expect.stringContaining("idle for 0.2 s") } });
  });

  it("a MODEL_MAP entry can send one model to a Responses upstream while the rest stay on chat", async () => {
    const mixed = withEnv({ MODEL_MAP: JSON.stringify({ "gpt-5-pro": { api: "responses" } }) });
    expect(configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, MODEL_MAP: JSON.stringify({ "gpt-5-pro": { api: "responses" } }) }).route("gpt-5-pro")).toEqual({ model: "gpt-5-pro", baseUrl: `${UPSTREAM}/v1`, api: "responses" });
    expect(checkChatSse(await (await chat({ model: "gpt-5-pro", messages: [{ role: "user", content: "x" }], stream: true }, mixed)).text()).content).toBe("Hello from the responses upstream.");
    const passthrough = await (await chat({ model: "scripted-text", messages: [{ role: "user", content: "x" }] }, mixed)).json();
    expect(passthrough).toMatchObject({ id: "chatcmpl-scripted", choices: [{ message: { content: "Hello from the scripted upstream." } }] });
    expect((await seen()).requests.map((r) => r.url)).toEqual(["/v1/responses", "/v1/chat/completions"]);
    expect(() => configFromEnv({ UPSTREAM_BASE_URL: "http://x", UPSTREAM_API: "anthropic" })).toThrow(/UPSTREAM_API must be one of chat, responses/);
  });
});
