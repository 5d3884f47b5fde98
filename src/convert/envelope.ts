import type { ChatUsage } from "../types/chat.ts";
import { isObject } from "../internal/is-object.ts";
import type { ResponseResource, ResponsesRequest, Usage } from "../types/responses.ts";

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}
function num(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}
function int(v: unknown): number | null {
  return typeof v === "number" && Number.isInteger(v) ? v : null;
}

/**
 * The `ResponseResource` every lifecycle event carries, echoing the request.
 * Where Open Responses types a field as a plain number or string (not
 * nullable) and the request left it out, the value is the API's documented
 * default (temperature 1, top_p 1, penalties 0, truncation "disabled"), so
 * what is sent is both complete and true.
 */
export function createEnvelope(
  request: ResponsesRequest | undefined,
  id: string,
  createdAt: number,
  model: string | undefined,
  serviceTier?: string | null,
): ResponseResource {
  const r: ResponsesRequest = request ?? {};
  const text = typeof r.text === "object" && r.text !== null ? r.text : {};
  const reasoning = typeof r.reasoning === "object" && r.reasoning !== null ? r.reasoning : null;
  const envelope: ResponseResource = {
    id,
    object: "response",
    created_at: createdAt,
    completed_at: null,
    status: "in_progress",
    incomplete_details: null,
    model: model ?? str(r.model) ?? "unknown",
    previous_response_id: str(r.previous_response_id),
    instructions: str(r.instructions),
    output: [],
    error: null,
    tools: Array.isArray(r.tools) ? r.tools.map(echoTool) : [],
    tool_choice: r.tool_choice ?? "auto",
    truncation: r.truncation === "auto" ? "auto" : "disabled",
    parallel_tool_calls: typeof r.parallel_tool_calls === "boolean" ? r.parallel_tool_calls : true,
    text: { ...text, format: text.format ?? { type: "text" } },
    top_p: num(r.top_p, 1),
    presence_penalty: num(r.presence_penalty, 0),
    frequency_penalty: num(r.frequency_penalty, 0),
    top_logprobs: int(r.top_logprobs) ?? 0,
    temperature: num(r.temperature, 1),
    reasoning: reasoning
      ? { effort: str(reasoning.effort), summary: str(reasoning.summary) ?? str(reasoning.generate_summary) }
      : null,
    usage: null,
    max_output_tokens: int(r.max_output_tokens),
    max_tool_calls: int(r.max_tool_calls),
    // As OpenAI: stored unless the client said `false`. A host that stores nothing passes `store: false` on.
    store: r.store !== false,
    background: r.background === true,
    service_tier: serviceTier ?? (r.service_tier && r.service_tier !== "auto" ? r.service_tier : "default"),
    metadata: r.metadata ?? {},
    safety_identifier: str(r.safety_identifier),
    prompt_cache_key: str(r.prompt_cache_key),
    access_programs: null,
  };
  if (typeof r.user === "string") envelope.user = r.user;
  const conversation = isObject(r.conversation) ? r.conversation.id : r.conversation;
  if (typeof conversation === "string") envelope.conversation = { id: conversation };
  return envelope;
}

/**
 * A request tool as the response lists it. A function tool takes the
 * response's own `FunctionTool` shape: `name`, `description`, `parameters`
 * and `strict` always present, `null` where the request left one out (never
 * a made-up value). Other tool types are echoed as sent.
 */
function echoTool(tool: unknown): unknown {
  if (!isObject(tool) || tool["type"] !== "function") return tool;
  return {
    type: "function",
    name: tool["name"],
    description: tool["description"] ?? null,
    parameters: tool["parameters"] ?? null,
    strict: typeof tool["strict"] === "boolean" ? tool["strict"] : null,
  };
}

function count(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) ? Math.max(0, Math.round(v)) : 0;
}

/** Chat usage → Responses usage; all integers, details default to 0. */
export function convertUsage(u: ChatUsage): Usage {
  const input = count(u.prompt_tokens);
  const output = count(u.completion_tokens);
  return {
    input_tokens: input,
    output_tokens: output,
    total_tokens: u.total_tokens != null ? count(u.total_tokens) : input + output,
    // DeepSeek reports cache hits in its own field, sometimes beside a zero `cached_tokens`.
    input_tokens_details: {
      cached_tokens: Math.max(count(u.prompt_tokens_details?.cached_tokens), count(u.prompt_cache_hit_tokens)),
      cache_write_tokens: count(u.prompt_tokens_details?.cache_write_tokens),
    },
    output_tokens_details: { reasoning_tokens: count(u.completion_tokens_details?.reasoning_tokens) },
  };
}
