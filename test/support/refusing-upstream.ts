/**
 * Scenario hooks of the scripted upstream (test/support/scripted-upstream.ts): providers refusing
 * request fields they do not know, and error bodies in providers' own shapes, each in that
 * provider's documented or reported words.
 *
 * - `scripted-refuse-<style>[-anything]@a,b`: refuses the first of the fields `a`, `b` that the
 *   request carries, in `<style>`'s words (google, openai, groq, vllm, fastapi, mistral); answers as
 *   the scripted model otherwise.
 * - `scripted-error-<shape>`: always answers with that error (openrouter, google-429, fastapi, text).
 */

/** Bodies with the status each provider sends, for a refused top-level field. */
const REFUSALS: Record<string, (field: string, value: unknown) => [number, unknown]> = {
  // Google's OpenAI-compatible endpoint (reported in openhanako#2494, cursor-byok#112): an array-wrapped Google error.
  google: (f) => {
    const message = `Invalid JSON payload received. Unknown name "${f}": Cannot find field.`;
    return [400, [{ error: { code: 400, message, status: "INVALID_ARGUMENT", details: [{ "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ description: message }] }] } }]];
  },
  openai: (f) => [400, { error: { message: `Unrecognized request argument supplied: ${f}`, type: "invalid_request_error", param: null, code: null } }],
  // Groq: `property 'store' is unsupported, did you mean 'stop'?`
  groq: (f) => [400, { error: { message: `property '${f}' is unsupported, did you mean 'stop'?`, type: "invalid_request_error" } }],
  // vLLM before it allowed extra fields: pydantic's errors as a Python repr in a top-level `message`.
  vllm: (f, v) => [400, { object: "error", message: `[{'type': 'extra_forbidden', 'loc': ('body', '${f}'), 'msg': 'Extra inputs are not permitted', 'input': ${JSON.stringify(v).replace(/"/g, "'")}}]`, type: "BadRequestError", param: null, code: 400 }],
  // FastAPI's own 422.
  fastapi: (f, v) => [422, { detail: [{ type: "extra_forbidden", loc: ["body", f], msg: "Extra inputs are not permitted", input: v }] }],
  // Mistral's API (partITech/php-mistral#76): the pydantic list in both `detail` and `message`.
  mistral: (f, v) => {
    const list = [{ type: "extra_forbidden", loc: ["body", f], msg: "Extra inputs are not permitted", input: v }];
    return [422, { object: "Error", detail: list, message: list, type: "invalid_request_error", code: 3001 }];
  },
};

/** Anthropic's words when a tool loop comes back without its thinking blocks, as OpenRouter relays them. */
export const ANTHROPIC_THINKING_REQUIRED = "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.";

/** OpenRouter's envelope around a provider's error, the provider's body as a JSON string in `metadata.raw`. */
export function openRouterEnvelope(code: number, raw: unknown, provider: string): unknown {
  return { error: { message: "Provider returned error", code, metadata: { raw: typeof raw === "string" ? raw : JSON.stringify(raw), provider_name: provider } }, user_id: "user_scripted" };
}

const ERRORS: Record<string, () => Response> = {
  openrouter: () => Response.json(openRouterEnvelope(400, { type: "error", error: { type: "invalid_request_error", message: ANTHROPIC_THINKING_REQUIRED } }, "Anthropic"), { status: 400 }),
  "google-429": () => Response.json([{ error: { code: 429, message: "Resource has been exhausted (e.g. check quota).", status: "RESOURCE_EXHAUSTED" } }], { status: 429 }),
  fastapi: () => Response.json({ detail: [{ type: "missing", loc: ["body", "messages"], msg: "Field required", input: {} }] }, { status: 422 }),
  text: () => new Response("upstream connect error or disconnect/reset before headers. reset reason: overflow", { status: 503, headers: { "content-type": "text/plain" } }),
};

/** The scenario's answer for this request, or null when the model names none (or the request passes). */
export function refusingUpstream(model: string, body: Record<string, unknown>): Response | null {
  const error = /^scripted-error-(.+)$/.exec(model)?.[1];
  if (error && ERRORS[error]) return ERRORS[error]();
  const m = /^scripted-refuse-([a-z]+)[^@]*@(.+)$/.exec(model);
  const refuse = m && REFUSALS[m[1]!];
  if (!refuse) return null;
  const field = m[2]!.split(",").find((f) => body[f] !== undefined);
  if (!field) return null;
  const [status, payload] = refuse(field, body[field]);
  return Response.json(payload, { status });
}

/** A mid-stream error chunk in OpenRouter's envelope (it sends provider failures after the first bytes this way). */
export function openRouterMidStream(): string {
  return `data: ${JSON.stringify({ id: "gen-scripted", object: "chat.completion.chunk", ...(openRouterEnvelope(502, { type: "error", error: { type: "overloaded_error", message: "Overloaded" } }, "Anthropic") as object), choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }] })}\n\n`;
}
