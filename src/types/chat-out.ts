/**
 * What the reverse direction (a Responses upstream, a Chat Completions client)
 * sends: OpenAI's own chat shapes, exactly. Narrower than the input types in
 * `chat.ts` (which accept what any provider sends), so that a chunk made here
 * is assignable to the `openai` package's `ChatCompletionChunk`.
 */
import type { ErrorPayload } from "../errors.ts";

export interface ChatUsageOut {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** One streamed tool call's piece: `id`, `type` and `function.name` on its first, argument text after. */
export interface ChatToolCallChunk {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}

export interface ChatUrlCitationOut {
  type: "url_citation";
  url_citation: { url: string; title: string; start_index: number; end_index: number };
}

export interface ChatDeltaOut {
  role?: "assistant";
  content?: string | null;
  refusal?: string | null;
  /** Reasoning (the Responses reasoning summary, or raw reasoning text), as DeepSeek and vLLM stream it. */
  reasoning_content?: string;
  tool_calls?: ChatToolCallChunk[];
  annotations?: ChatUrlCitationOut[];
}

export type ChatFinishReasonOut = "stop" | "length" | "tool_calls" | "content_filter";

export interface ChatTokenLogprobOut {
  token: string;
  logprob: number;
  bytes: number[] | null;
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] | null }>;
}

export interface ChatChunkChoiceOut {
  index: 0;
  delta: ChatDeltaOut;
  logprobs: { content: ChatTokenLogprobOut[] | null; refusal: null } | null;
  finish_reason: ChatFinishReasonOut | null;
}

/** A `chat.completion.chunk`; the usage chunk (with `include_usage`) has empty `choices`. */
export interface ChatChunkOut {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: ChatChunkChoiceOut[];
  /** With `stream_options.include_usage`: `null` on every chunk but the last, which carries it. */
  usage?: ChatUsageOut | null;
}

/** A failure mid-stream, as OpenAI sends it: `data: {"error": {...}}` (the `openai` SDK throws an `APIError`). */
export interface ChatErrorFrame {
  error: ErrorPayload;
}

/** What a chat stream carries, frame by frame. */
export type ChatFrame = ChatChunkOut | ChatErrorFrame;

export interface ChatToolCallOut {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

/** A non-streamed `chat.completion`. */
export interface ChatCompletionOut {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    message: {
      role: "assistant";
      content: string | null;
      refusal: string | null;
      annotations: ChatUrlCitationOut[];
      tool_calls?: ChatToolCallOut[];
      reasoning_content?: string;
    };
    logprobs: { content: ChatTokenLogprobOut[] | null; refusal: null } | null;
    finish_reason: ChatFinishReasonOut;
  }>;
  usage?: ChatUsageOut;
}
