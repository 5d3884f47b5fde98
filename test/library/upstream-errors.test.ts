import { describe, expect, it } from "vitest";
import { chatToResponsesSse, normalizeUpstreamError, readUpstreamError } from "../../src/index.ts";
import { testOptions } from "../support/helpers.ts";

// Error bodies as providers send them, each read into OpenAI's `{message, type, param, code}` with the provider's own words.

const ANTHROPIC_MESSAGE = "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`.";

describe("upstream error bodies in providers' shapes", () => {
  it("Google's OpenAI-compatible endpoint: an array holding a Google error", () => {
    const body = [{ error: { code: 400, message: 'Invalid JSON payload received. Unknown name "prompt_cache_key": Cannot find field.', status: "INVALID_ARGUMENT", details: [{ "@type": "type.googleapis.com/google.rpc.BadRequest" }] } }];
    expect(readUpstreamError(body, 400)).toEqual({
      error: { message: 'Invalid JSON payload received. Unknown name "prompt_cache_key": Cannot find field.', type: "invalid_request_error", param: null, code: null },
      provider: "Google",
    });
    // Quota: a rate limit, whatever the envelope.
    expect(normalizeUpstreamError([{ error: { code: 429, message: "Resource has been exhausted (e.g. check quota).", status: "RESOURCE_EXHAUSTED" } }], 429)).toEqual({ message: "Resource has been exhausted (e.g. check quota).", type: "rate_limit_exceeded", param: null, code: "rate_limit_exceeded" });
    // Mid-stream (no HTTP status): the numeric code stands in for it.
    expect(normalizeUpstreamError([{ error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } }])).toMatchObject({ type: "server_error", code: "server_error" });
  });

  it("OpenRouter: the provider's raw message (an Anthropic error body as a JSON string), not 'Provider returned error'", () => {
    const raw = JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: ANTHROPIC_MESSAGE } });
    const body = { error: { message: "Provider returned error", code: 400, metadata: { raw, provider_name: "Anthropic" } }, user_id: "user_x" };
    expect(readUpstreamError(body, 400)).toEqual({ error: { message: ANTHROPIC_MESSAGE, type: "invalid_request_error", param: null, code: null }, provider: "Anthropic" });
  });

  it("OpenRouter: an OpenAI error body in raw keeps its param and code; plain-text raw is the message; no raw keeps the envelope's words", () => {
    const openai = JSON.stringify({ error: { message: "Response input messages must contain the word 'json' in some form to use 'text.format' of type 'json_object'.", type: "invalid_request_error", param: "input", code: null } });
    expect(readUpstreamError({ error: { message: "Provider returned error", code: 400, metadata: { raw: openai, provider_name: "OpenAI" } } }, 400)).toEqual({
      error: { message: "Response input messages must contain the word 'json' in some form to use 'text.format' of type 'json_object'.", type: "invalid_request_error", param: "input", code: null },
      provider: "OpenAI",
    });
    const text = "z-ai/glm-5.3-flash is temporarily rate-limited upstream. Please retry shortly.";
    expect(readUpstreamError({ error: { message: "Provider returned error", code: 429, metadata: { raw: text, provider_name: "BaseTen" } } }, 429)).toEqual({ error: { message: text, type: "rate_limit_exceeded", param: null, code: "rate_limit_exceeded" }, provider: "BaseTen" });
    expect(readUpstreamError({ error: { message: "Provider returned error", code: 502, metadata: { provider_name: "Crucible" } } }, 502)).toEqual({ error: { message: "Provider returned error", type: "server_error", param: null, code: "server_error" }, provider: "Crucible" });
    // OpenRouter's name for the provider wins over the one the raw body's shape suggests.
    const google = JSON.stringify([{ error: { code: 400, message: "Function call is missing a thought_signature in functionCall parts.", status: "INVALID_ARGUMENT" } }]);
    expect(readUpstreamError({ error: { message: "Provider returned error", code: 400, metadata: { raw: google, provider_name: "Google AI Studio" } } }, 400)).toMatchObject({ error: { message: "Function call is missing a thought_signature in functionCall parts." }, provider: "Google AI Studio" });
    // A raw body whose code is a string keeps it (Xiaomi through OpenRouter).
    const xiaomi = JSON.stringify({ error: { code: "400", message: "Param Incorrect", param: "messages[2] assistant content must contain at least one part", type: "" } });
    expect(normalizeUpstreamError({ error: { message: "Provider returned error", code: 400, metadata: { raw: xiaomi, provider_name: "Xiaomi" } } }, 400)).toEqual({ message: "Param Incorrect", type: "invalid_request_error", param: "messages[2] assistant content must contain at least one part", code: "400" });
  });

  it("FastAPI/pydantic: a 422 detail list, read as location and words", () => {
    const body = { detail: [{ type: "missing", loc: ["body", "messages"], msg: "Field required", input: {} }, { type: "extra_forbidden", loc: ["body", "store"], msg: "Extra inputs are not permitted", input: true }] };
    expect(normalizeUpstreamError(body, 422)).toEqual({ message: "body.messages: Field required; body.store: Extra inputs are not permitted", type: "invalid_request_error", param: null, code: null });
    expect(normalizeUpstreamError({ detail: "Not Found" }, 404)).toEqual({ message: "Not Found", type: "not_found_error", param: null, code: null });
  });

  it("Mistral: the pydantic list in `message` (and `detail`), a numeric code that is no HTTP status", () => {
    const list = [{ type: "extra_forbidden", loc: ["body", "prompt_cache_key"], msg: "Extra inputs are not permitted", input: "k" }];
    expect(normalizeUpstreamError({ object: "Error", detail: list, message: list, type: "invalid_request_error", code: 3001 }, 422)).toEqual({ message: "body.prompt_cache_key: Extra inputs are not permitted", type: "invalid_request_error", param: null, code: null });
    // Mid-stream the code 3001 is not taken for a status.
    expect(normalizeUpstreamError({ message: list, type: "invalid_request_error", code: 3001 })).toMatchObject({ type: "invalid_request_error", code: null });
  });

  it("vLLM's top-level error, Ollama's string, Anthropic's own body", () => {
    expect(normalizeUpstreamError({ object: "error", message: "[{'type': 'extra_forbidden', 'loc': ('body', 'stream_options')}]", type: "BadRequestError", param: null, code: 400 }, 400)).toMatchObject({ message: "[{'type': 'extra_forbidden', 'loc': ('body', 'stream_options')}]", code: null });
    expect(normalizeUpstreamError({ error: 'model "qwen3:32b" not found, try pulling it first' }, 404)).toEqual({ message: 'model "qwen3:32b" not found, try pulling it first', type: "not_found_error", param: null, code: null });
    expect(normalizeUpstreamError({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, 529)).toEqual({ message: "Overloaded", type: "overloaded_error", param: null, code: "server_error" });
  });

  it("a message that is itself a JSON error body is read for the words inside", () => {
    const inner = JSON.stringify({ error: { code: 400, message: "Request contains an invalid argument.", status: "INVALID_ARGUMENT" } }, null, 2);
    expect(readUpstreamError({ error: { code: 400, message: inner, status: "UPSTREAM_ERROR" } }, 400)).toEqual({ error: { message: "Request contains an invalid argument.", type: "invalid_request_error", param: null, code: null }, provider: "Google" });
  });

  it("plain text and HTML pages", () => {
    expect(normalizeUpstreamError("upstream connect error or disconnect/reset before headers\n", 503)).toEqual({ message: "upstream connect error or disconnect/reset before headers", type: "server_error", param: null, code: "server_error" });
    expect(normalizeUpstreamError("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>", 502).message).toBe("502 Bad Gateway 502 Bad Gateway nginx");
    // Text that only looks like JSON stays text; nothing at all still says something.
    expect(normalizeUpstreamError("{not json", 400).message).toBe("{not json");
    expect(normalizeUpstreamError("", 500).message).toBe("Upstream error (HTTP 500) with no message");
    expect(normalizeUpstreamError([], 400).message).toBe("Upstream error (HTTP 400) with no message");
  });

  it("envelopes nested without end are followed a few levels only", () => {
    let body: unknown = { error: { message: "deepest", type: "invalid_request_error" } };
    for (let i = 0; i < 50; i++) body = [body];
    expect(normalizeUpstreamError(body, 400).message).toBe("Upstream error (HTTP 400) with no message");
    let raw: unknown = { error: { message: "bottom" } };
    for (let i = 0; i < 10; i++) raw = { error: { message: "Provider returned error", metadata: { raw: JSON.stringify(raw) } } };
    expect(normalizeUpstreamError(raw, 400).message).toBe("Provider returned error");
  });
});

describe("mid-stream error chunks in providers' shapes end the response with the provider's words", () => {
  const chunk = (content: string) => `data: ${JSON.stringify({ id: "c", created: 1, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
  async function terminal(errorFrame: unknown) {
    const body = new Response(chunk("Hel") + `data: ${JSON.stringify(errorFrame)}\n\n`, { headers: { "content-type": "text/event-stream" } });
    const raw = await new Response(chatToResponsesSse(body, testOptions())).text();
    const events = raw.split("\n\n").filter((f) => f.startsWith("event: ")).map((f) => JSON.parse(f.split("\n")[1]!.slice(6)) as { type: string; response?: { status: string; error: { code: string; message: string } | null; output: Array<{ content?: Array<{ text: string }> }> } });
    return events.at(-1)!;
  }

  it("OpenRouter's envelope in a chunk (with its choices and finish_reason \"error\"): the raw provider message", async () => {
    const frame = { id: "gen-1", object: "chat.completion.chunk", error: { message: "Provider returned error", code: 502, metadata: { raw: JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }), provider_name: "Anthropic" } }, choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }] };
    const end = await terminal(frame);
    expect(end.type).toBe("response.failed");
    expect(end.response!.error).toMatchObject({ message: "Overloaded" });
    // What arrived before is kept.
    expect(end.response!.output[0]!.content![0]!.text).toBe("Hel");
  });

  it("Google's array-wrapped error as a data line", async () => {
    const end = await terminal([{ error: { code: 503, message: "The model is overloaded. Please try again later.", status: "UNAVAILABLE" } }]);
    expect(end.type).toBe("response.failed");
    expect(end.response!.error).toMatchObject({ message: "The model is overloaded. Please try again later.", code: "server_error" });
  });
});
