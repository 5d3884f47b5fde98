import { beforeEach, describe, expect, it } from "vitest";
import type { Fetch } from "../../worker/router.ts";
import { SCRIPTED_KEY } from "../support/scripted-upstream.ts";
import { post, resetSeen, seen, UPSTREAM, withEnv } from "./bridge.ts";

// POST /v1/responses/input_tokens: the count the upstream bills for a create body, read from the upstream's usage.
// `scripted-count` reports one prompt token per word of every message's text plus one per message.

beforeEach(resetSeen);

type Count = { object: string; input_tokens: number };
const count = async (body: unknown) => {
  const res = await post("/v1/responses/input_tokens", body);
  return { status: res.status, body: (await res.json()) as Count & { error?: Record<string, unknown> } };
};

describe("POST /v1/responses/input_tokens", () => {
  it("is the upstream's prompt_tokens for the request create would send, asked with one output token and no stream", async () => {
    const r = await count({ model: "scripted-count", instructions: "Be brief.", input: "one two three" });
    expect(r.status).toBe(200);
    // system (1 + 2 words) + user (1 + 3 words)
    expect(r.body).toEqual({ object: "response.input_tokens", input_tokens: 7 });
    const { requests } = await seen();
    expect(requests).toHaveLength(1);
    expect(requests[0]!.url).toBe("/v1/chat/completions");
    expect(requests[0]!.body).toMatchObject({ model: "scripted-count", max_tokens: 1, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "one two three" }] });
    expect(requests[0]!.body.stream).toBeUndefined();
  });

  it("expands previous_response_id as create does: larger by the stored history", async () => {
    const first = await post("/v1/responses", { model: "scripted-count", input: "remember the word periwinkle" });
    const { id } = (await first.json()) as { id: string };
    const alone = await count({ model: "scripted-count", input: "and now?" });
    const chained = await count({ model: "scripted-count", input: "and now?", previous_response_id: id });
    expect(alone.body.input_tokens).toBe(3);
    // + the stored turn: user (1 + 4 words) and the assistant's answer "Hello from the scripted upstream." (1 + 5)
    expect(chained.body.input_tokens).toBe(3 + 5 + 6);
    const last = (await seen()).requests.at(-1)!.body as { messages: Array<{ role: string }> };
    expect(last.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
  });

  it("follows MAX_TOKENS_FIELD (max_completion_tokens for OpenAI-style upstreams)", async () => {
    const call = withEnv({ MAX_TOKENS_FIELD: "max_completion_tokens", UPSTREAM_API_KEY: SCRIPTED_KEY });
    const res = await call("/v1/responses/input_tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "scripted-count", input: "hi" }) });
    expect(await res.json()).toEqual({ object: "response.input_tokens", input_tokens: 2 });
    const body = (await seen()).requests[0]!.body;
    expect(body.max_completion_tokens).toBe(1);
    expect(body.max_tokens).toBeUndefined();
  });

  it("a MODEL_MAP fallback counts with one output token too, never a whole answer", async () => {
    // The first route refuses connections; its fallback, the scripted upstream, is asked the counting call.
    const net: Fetch = (input, init) => (new URL(String(input instanceof Request ? input.url : input)).host === "dead.test" ? Promise.reject(new TypeError("connect ECONNREFUSED")) : fetch(input, init));
    const MODEL_MAP = JSON.stringify({ counted: { model: "scripted-count", base_url: "http://dead.test/v1", fallback: [{ model: "scripted-count", base_url: `${UPSTREAM}/v1` }] } });
    const call = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY, MODEL_MAP }, net);
    const res = await call("/v1/responses/input_tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "counted", input: "one two three", max_output_tokens: 500 }) });
    expect(await res.json()).toEqual({ object: "response.input_tokens", input_tokens: 4 });
    const asked = (await seen()).requests.map((r) => r.body);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ model: "scripted-count", max_tokens: 1 });
    expect(asked[0]!.stream).toBeUndefined();
  });

  it("a bad body gets OpenAI's errors, before any upstream call", async () => {
    const bad = await post("/v1/responses/input_tokens", "{not json");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string; type: string; code: string } }).error).toMatchObject({ type: "invalid_request_error", code: "invalid_json", message: expect.stringMatching(/^We could not parse the JSON body of your request\./) });
    const missing = await count({ input: "hi" });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ message: "Missing required parameter: 'model'.", type: "invalid_request_error", param: "model", code: "missing_required_parameter" });
    const unknown = await count({ model: "scripted-count", input: "hi", previous_response_id: "resp_nope" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ message: "Previous response with id 'resp_nope' not found.", param: "previous_response_id", code: "previous_response_not_found" });
    expect((await seen()).requests).toHaveLength(0);
  });

  it("an upstream that reports no usage is a 502 saying so, never a made-up number", async () => {
    const call = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY }, async () => Response.json({ id: "x", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: "a" }, finish_reason: "length" }] }));
    const res = await call("/v1/responses/input_tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", input: "hi" }) });
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("token_count_unavailable");
  });

  it("with UPSTREAM_API=responses it is the upstream's own endpoint, passed through", async () => {
    const call = withEnv({ UPSTREAM_API: "responses", UPSTREAM_API_KEY: SCRIPTED_KEY });
    const res = await call("/v1/responses/input_tokens", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-5", input: "hi there" }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ object: "response.input_tokens", input_tokens: 2 });
    expect((await seen()).requests[0]!.url).toBe("/v1/responses/input_tokens");
  });
});
