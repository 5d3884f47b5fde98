/**
 * Chat Completions wire formats, as providers actually send them.
 *
 * Field sets are the union of what OpenAI documents and what DeepSeek, vLLM,
 * Ollama, llama.cpp, Groq, OpenRouter, Azure, Mistral and Gemini's OpenAI
 * endpoint add on top; every provider-specific field is optional and named
 * after the provider that sends it.
 */

export interface ChatTopLogprob {
  token: string;
  logprob: number;
  bytes?: number[] | null;
}

export interface ChatLogprob extends ChatTopLogprob {
  top_logprobs?: ChatTopLogprob[] | null;
}

export interface ChatLogprobs {
  content?: ChatLogprob[] | null;
  refusal?: ChatLogprob[] | null;
}

/** OpenRouter's `annotations` (web plugin); OpenAI search models send the same shape. */
export interface ChatUrlCitation {
  type: "url_citation";
  url_citation: {
    url: string;
    title?: string;
    content?: string;
    start_index?: number;
    end_index?: number;
  };
}

/**
 * OpenRouter's structured reasoning blocks. Streamed as pieces of one entry per
 * `index` (text in several deltas, the `signature` on the last); OpenRouter asks
 * for the whole entries back, unchanged, on the assistant message of a tool call.
 */
export type ChatReasoningDetail =
  | { type: "reasoning.text"; text?: string; signature?: string | null; id?: string | null; format?: string; index?: number }
  | { type: "reasoning.summary"; summary?: string; id?: string | null; format?: string; index?: number }
  | { type: "reasoning.encrypted"; data?: string; id?: string | null; format?: string; index?: number };

/**
 * Gemini's OpenAI endpoint: what a tool call carries for Google (`{"google": {"thought_signature": "…"}}`
 * on the first call of each step), to be sent back unchanged on that call.
 */
export type ChatExtraContent = Record<string, unknown>;

export interface ChatToolCallDelta {
  /** Absent on Gemini's OpenAI endpoint, which sends each call whole. */
  index?: number;
  id?: string | null;
  type?: "function" | null;
  function?: { name?: string | null; arguments?: string | null } | null;
  /** Gemini (Google's OpenAI endpoint): the call's thought signature, in the delta that names the call. */
  extra_content?: ChatExtraContent | null;
}

export interface ChatDelta {
  role?: string | null;
  content?: string | null;
  refusal?: string | null;
  /** DeepSeek, llama.cpp, vLLM (older), Qwen/DashScope. */
  reasoning_content?: string | null;
  /** vLLM, Ollama, Groq, OpenRouter. */
  reasoning?: string | null;
  /** OpenRouter. */
  reasoning_details?: ChatReasoningDetail[] | null;
  tool_calls?: ChatToolCallDelta[] | null;
  annotations?: ChatUrlCitation[] | null;
  /** Gemini: a text answer's thought signature, on a last chunk with no content (recommended back, not required). */
  extra_content?: ChatExtraContent | null;
}

export type ChatFinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call" | "error" | (string & {});

export interface ChatChunkChoice {
  index: number;
  delta: ChatDelta;
  finish_reason?: ChatFinishReason | null;
  logprobs?: ChatLogprobs | null;
  /** Azure. */
  content_filter_results?: unknown;
}

export interface ChatUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  total_tokens?: number | null;
  prompt_tokens_details?: { cached_tokens?: number | null; cache_write_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  /** DeepSeek. */
  prompt_cache_hit_tokens?: number | null;
}

/** An upstream's error object, in an error frame or an HTTP error body. */
export interface ChatErrorBody {
  message?: string;
  type?: string | null;
  code?: string | number | null;
  param?: string | null;
  metadata?: unknown;
}

export interface ChatCompletionChunk {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  system_fingerprint?: string | null;
  service_tier?: string | null;
  choices: ChatChunkChoice[];
  usage?: ChatUsage | null;
  /** Groq puts usage here on the last chunk. */
  x_groq?: { usage?: ChatUsage | null } | null;
  /** Azure's first chunk. */
  prompt_filter_results?: unknown;
  /** OpenRouter, vLLM: a failure reported mid-stream. */
  error?: ChatErrorBody | null;
}

export interface ChatToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
  /** Gemini: sent back as it came (see `ChatToolCallDelta.extra_content`). */
  extra_content?: ChatExtraContent;
}

export interface ChatCompletionMessage {
  role: "assistant";
  content: string | null;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  reasoning_details?: ChatReasoningDetail[] | null;
  tool_calls?: ChatToolCall[] | null;
  annotations?: ChatUrlCitation[] | null;
  /** Gemini: a text answer's thought signature. */
  extra_content?: ChatExtraContent | null;
}

export interface ChatCompletion {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  service_tier?: string | null;
  choices: Array<{
    index: number;
    message: ChatCompletionMessage;
    finish_reason: ChatFinishReason | null;
    logprobs?: ChatLogprobs | null;
  }>;
  usage?: ChatUsage | null;
  x_groq?: { usage?: ChatUsage | null } | null;
  error?: ChatErrorBody | null;
}

// ---- requests ----

export interface ChatTextPart { type: "text"; text: string }
export interface ChatImagePart { type: "image_url"; image_url: { url: string; detail?: "auto" | "low" | "high" } }
export interface ChatFilePart { type: "file"; file: { file_data?: string; filename?: string; file_id?: string } }
export type ChatContentPart = ChatTextPart | ChatImagePart | ChatFilePart;

export type ChatMessage =
  | { role: "system" | "developer"; content: string | ChatTextPart[] }
  | { role: "user"; content: string | ChatContentPart[] }
  | {
      role: "assistant";
      content: string | null;
      tool_calls?: ChatToolCall[];
      refusal?: string;
      /** DeepSeek, llama.cpp, older vLLM: the reasoning of this turn, sent back. */
      reasoning_content?: string;
      /** vLLM, Groq, OpenRouter, Ollama: the same under their name. */
      reasoning?: string;
      /** OpenRouter: the reasoning entries of this turn, whole and unchanged (Anthropic's signed thinking). */
      reasoning_details?: ChatReasoningDetail[];
      /** Gemini: a text answer's thought signature, sent back as it came. */
      extra_content?: ChatExtraContent;
    }
  | { role: "tool"; tool_call_id: string; content: string | ChatTextPart[] };

export interface ChatFunctionTool {
  type: "function";
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export type ChatToolChoice =
  | "auto"
  | "none"
  | "required"
  | { type: "function"; function: { name: string } };

export type ChatResponseFormat =
  | { type: "text" }
  | { type: "json_object" }
  | { type: "json_schema"; json_schema: { name: string; schema?: Record<string, unknown>; strict?: boolean; description?: string } };

export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage: boolean };
  tools?: ChatFunctionTool[];
  tool_choice?: ChatToolChoice;
  parallel_tool_calls?: boolean;
  response_format?: ChatResponseFormat;
  verbosity?: string;
  reasoning_effort?: string;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  user?: string;
  prompt_cache_key?: string;
  service_tier?: string;
  metadata?: Record<string, string>;
  store?: boolean;
  presence_penalty?: number;
  frequency_penalty?: number;
  [extra: string]: unknown;
}
