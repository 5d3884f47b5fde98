import type { ChatCompletion, ChatCompletionChunk, ChatToolCallDelta } from "../types/chat.ts";
import { type ConvertOptions, createChatToResponsesConverter } from "./converter.ts";
import { normalizeUpstreamError, ResponsesError } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import type { ResponseResource } from "../types/responses.ts";

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** Arguments as text; a server that sends them as an object gets them serialized rather than lost. */
function args(v: unknown): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : JSON.stringify(v);
}

/**
 * A whole ChatCompletion as the one chunk that would have streamed it, or a
 * 502 `ResponsesError` when it holds an error or no `choices[0].message`.
 */
export function completionToChunk(completion: ChatCompletion): ChatCompletionChunk {
  if (typeof completion !== "object" || completion === null) {
    throw new ResponsesError(502, { message: "Upstream returned a body that is not a chat completion object.", type: "upstream_error", code: "server_error" });
  }
  const choices = Array.isArray(completion.choices) ? completion.choices : [];
  const choice = choices.find((c) => (c?.index ?? 0) === 0);
  if (completion.error || !choice || typeof choice.message !== "object" || choice.message === null) {
    const e = completion.error ? normalizeUpstreamError({ error: completion.error }) : null;
    throw new ResponsesError(502, {
      message: e?.message ?? "Upstream returned a chat completion without choices[0].message.",
      type: e?.type ?? "upstream_error",
      code: e?.code ?? "server_error",
      param: e?.param ?? null,
    });
  }
  const m = choice.message;
  // Calls are numbered by position: a whole message's calls are never interleaved, and some
  // servers (Gemini) send them without `index`, or with entries that are not objects.
  const tool_calls: ChatToolCallDelta[] | undefined = Array.isArray(m.tool_calls)
    ? m.tool_calls.filter(isObject).map((t, index) => {
        const fn: Record<string, unknown> = isObject(t.function) ? t.function : {};
        const call: ChatToolCallDelta = { index, id: typeof t.id === "string" ? t.id : undefined, type: "function", function: { name: str(fn["name"]), arguments: args(fn["arguments"]) } };
        // Gemini's thought signature (see provider-state.ts).
        if (isObject(t.extra_content)) call.extra_content = t.extra_content;
        return call;
      })
    : undefined;
  return {
    id: completion.id,
    created: completion.created,
    model: completion.model,
    service_tier: completion.service_tier,
    usage: completion.usage ?? completion.x_groq?.usage,
    choices: [
      {
        index: 0,
        delta: {
          reasoning_content: m.reasoning_content,
          reasoning: m.reasoning,
          reasoning_details: m.reasoning_details,
          content: m.content,
          refusal: m.refusal,
          annotations: m.annotations,
          extra_content: m.extra_content,
          tool_calls,
        },
        logprobs: choice.logprobs,
        finish_reason: choice.finish_reason ?? "stop",
      },
    ],
  };
}

/**
 * A whole (non-streaming) ChatCompletion → the Response object.
 *
 * The completion is replayed through the streaming converter as one chunk,
 * so both paths produce the same items, ids scheme, usage, status and
 * `incomplete_details` by construction rather than by keeping two copies in step.
 */
export function fromChatCompletion(completion: ChatCompletion, options: ConvertOptions = {}): ResponseResource {
  const chunk = completionToChunk(completion);
  const converter = createChatToResponsesConverter(options);
  converter.push(chunk);
  converter.done();
  return converter.response;
}
