/**
 * Responses API wire formats: what this library emits.
 *
 * Shapes follow the Open Responses specification (2026-04-24): every field its
 * `required` lists name is present, `null` where the upstream gave nothing.
 * Fields the `openai` package requires on top (`access_programs`) are present
 * too, so a parsed event is assignable to its `ResponseStreamEvent`.
 */

export type ItemStatus = "in_progress" | "completed" | "incomplete";

export interface TopLogprob { token: string; logprob: number; bytes: number[] }
export interface Logprob extends TopLogprob { top_logprobs: TopLogprob[] }

export interface UrlCitation {
  type: "url_citation";
  url: string;
  title: string;
  start_index: number;
  end_index: number;
}

export interface OutputTextPart {
  type: "output_text";
  text: string;
  annotations: UrlCitation[];
  logprobs: Logprob[];
}
export interface RefusalPart { type: "refusal"; refusal: string }
export interface SummaryTextPart { type: "summary_text"; text: string }
export interface ReasoningTextPart { type: "reasoning_text"; text: string }

export interface MessageItem {
  type: "message";
  id: string;
  status: ItemStatus;
  role: "assistant";
  content: Array<OutputTextPart | RefusalPart>;
}

export interface FunctionCallItem {
  type: "function_call";
  id: string;
  call_id: string;
  name: string;
  arguments: string;
  status: ItemStatus;
  /** Set when the tool came from a `namespace` tool of the request. */
  namespace?: string;
}

export interface CustomToolCallItem {
  type: "custom_tool_call";
  id: string;
  call_id: string;
  name: string;
  input: string;
  status: ItemStatus;
  namespace?: string;
}

/** A call of a client-executed `tool_search` tool: `arguments` is an object (Codex reads it from `output_item.done`). */
export interface ToolSearchCallItem {
  type: "tool_search_call";
  id: string;
  call_id: string;
  execution: "client";
  arguments: unknown;
  status: ItemStatus;
}

export interface ReasoningItem {
  type: "reasoning";
  id: string;
  summary: SummaryTextPart[];
  content?: ReasoningTextPart[];
  /** With `include: ["reasoning.encrypted_content"]`: the reasoning sealed for a later request (see `reasoning-seal.ts`). */
  encrypted_content?: string | null;
  status: ItemStatus;
}

/** A compaction trigger's one output item (remote compaction): the conversation, summarised and sealed. */
export type CompactionOutputItem = CompactionItem & { id: string };

export type OutputItem = MessageItem | FunctionCallItem | CustomToolCallItem | ToolSearchCallItem | ReasoningItem | CompactionOutputItem;

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** `cache_write_tokens` is what the `openai` package's type requires on top of the spec (OpenRouter reports it). */
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens_details: { reasoning_tokens: number };
}

/** `cancelled`: the consumer went away before the end (reported to `onEnd` for storage, never streamed). */
export type ResponseStatus = "queued" | "in_progress" | "completed" | "incomplete" | "failed" | "cancelled";

export interface ResponseError { code: string; message: string }

/** The `ResponseResource` of Open Responses. */
export interface ResponseResource {
  id: string;
  object: "response";
  created_at: number;
  completed_at: number | null;
  status: ResponseStatus;
  incomplete_details: { reason: "max_output_tokens" | "content_filter" } | null;
  model: string;
  previous_response_id: string | null;
  instructions: string | null;
  output: OutputItem[];
  error: ResponseError | null;
  tools: unknown[];
  tool_choice: unknown;
  truncation: "auto" | "disabled";
  parallel_tool_calls: boolean;
  text: { format: Record<string, unknown>; verbosity?: string };
  top_p: number;
  presence_penalty: number;
  frequency_penalty: number;
  top_logprobs: number;
  temperature: number;
  reasoning: { effort: string | null; summary: string | null } | null;
  usage: Usage | null;
  max_output_tokens: number | null;
  max_tool_calls: number | null;
  store: boolean;
  background: boolean;
  service_tier: string;
  metadata: Record<string, string>;
  safety_identifier: string | null;
  prompt_cache_key: string | null;
  /** Required by the `openai` package's `Response` type; never known here. */
  access_programs: null;
  user?: string;
  /** The conversation the response was run in (`conversation` on create); its input and output were added to it. */
  conversation?: { id: string } | null;
}

interface Seq { sequence_number: number }
interface ItemFields { item_id: string; output_index: number }
interface ItemRef extends Seq, ItemFields {}

/** One member per event type, so `Extract<ResponseStreamEvent, {type: T}>` works. */
type Each<T extends string, Body> = { [K in T]: Seq & { type: K } & Body }[T];

export type LifecycleEvent = Each<
  "response.created" | "response.queued" | "response.in_progress" | "response.completed" | "response.incomplete" | "response.failed",
  { response: ResponseResource }
>;

export type ResponseStreamEvent =
  | LifecycleEvent
  | Each<"response.output_item.added" | "response.output_item.done", { output_index: number; item: OutputItem }>
  | Each<"response.content_part.added" | "response.content_part.done", ItemFields & { content_index: number; part: OutputTextPart | RefusalPart | ReasoningTextPart }>
  | (ItemRef & { type: "response.output_text.delta"; content_index: number; delta: string; logprobs: Logprob[]; obfuscation?: string })
  | (ItemRef & { type: "response.output_text.done"; content_index: number; text: string; logprobs: Logprob[] })
  | (ItemRef & { type: "response.output_text.annotation.added"; content_index: number; annotation_index: number; annotation: UrlCitation })
  | (ItemRef & { type: "response.refusal.delta"; content_index: number; delta: string; obfuscation?: string })
  | (ItemRef & { type: "response.refusal.done"; content_index: number; refusal: string })
  | Each<"response.reasoning_summary_part.added" | "response.reasoning_summary_part.done", ItemFields & { summary_index: number; part: SummaryTextPart }>
  | (ItemRef & { type: "response.reasoning_summary_text.delta"; summary_index: number; delta: string; obfuscation?: string })
  | (ItemRef & { type: "response.reasoning_summary_text.done"; summary_index: number; text: string })
  | (ItemRef & { type: "response.reasoning_text.delta"; content_index: number; delta: string; obfuscation?: string })
  | (ItemRef & { type: "response.reasoning_text.done"; content_index: number; text: string })
  | (ItemRef & { type: "response.function_call_arguments.delta"; delta: string; obfuscation?: string })
  | (ItemRef & { type: "response.function_call_arguments.done"; arguments: string; name: string })
  | (ItemRef & { type: "response.custom_tool_call_input.delta"; delta: string; obfuscation?: string })
  | (ItemRef & { type: "response.custom_tool_call_input.done"; input: string })
  | ErrorEvent;

/** Carries the flat fields the `openai` SDK reads and the nested `error` Open Responses requires. */
export interface ErrorEvent extends Seq {
  type: "error";
  code: string | null;
  message: string;
  param: string | null;
  error: { type: string; code: string | null; message: string; param: string | null };
}

export type ResponseStreamEventType = ResponseStreamEvent["type"];

// ---- requests (the subset this library reads; everything else passes untouched) ----

export type ResponsesContentPart =
  | { type: "input_text"; text: string }
  | { type: "output_text"; text: string; annotations?: unknown[] }
  | { type: "refusal"; refusal: string }
  | { type: "input_image"; image_url?: string | null; file_id?: string | null; detail?: "auto" | "low" | "high" }
  | { type: "input_file"; file_data?: string; file_url?: string; file_id?: string | null; filename?: string }
  | { type: "summary_text" | "reasoning_text" | "text"; text: string };

export type ResponsesInputItem =
  | { type?: "message"; id?: string; role: "user" | "assistant" | "system" | "developer"; content: string | ResponsesContentPart[]; status?: string }
  | { type: "function_call"; id?: string; call_id: string; name: string; arguments: string; namespace?: string; status?: string }
  | { type: "function_call_output"; id?: string; call_id: string; output: string | ResponsesContentPart[]; status?: string }
  | { type: "custom_tool_call"; id?: string; call_id: string; name: string; input: string; namespace?: string; status?: string }
  | { type: "custom_tool_call_output"; id?: string; call_id: string; output: string | ResponsesContentPart[] }
  // Codex 0.169 (gpt-5.6 and later): the tools, declared in the conversation instead of `tools`.
  | { type: "additional_tools"; id?: string; role?: string; tools: ResponsesTool[] }
  // A change of settings for the turns after it (the AI SDK 7's `reasoningEffortUpdate` / `textFormatUpdate`).
  | { type: "configuration_update"; id?: string | null; reasoning?: { effort?: string | null }; text?: { format: { type: string } } }
  | { type: "reasoning"; id?: string; summary?: Array<{ type: string; text: string }>; content?: Array<{ type: string; text: string }> | null; encrypted_content?: string | null }
  | { type: "item_reference"; id: string }
  // Codex's client-executed tool search: the model's call (`arguments` an object), and the tools it loaded.
  | { type: "tool_search_call"; id?: string; call_id?: string | null; execution?: string; arguments: unknown; status?: string }
  | { type: "tool_search_output"; id?: string; call_id?: string | null; execution?: string; tools: ResponsesTool[]; status?: string }
  | CompactionItem
  // Remote compaction: last in `input`, it asks for a `compaction` item instead of a turn (a request control, never stored).
  | { type: "compaction_trigger"; id?: string };

/** A compaction item (from `POST /v1/responses/compact`): the conversation it replaces, sealed. */
// A type, not an interface, so it stays a member of the input union that `isObject` narrows to.
export type CompactionItem = {
  type: "compaction";
  id?: string | null;
  encrypted_content: string;
  created_by?: string;
};

/** A user message as the compact endpoint returns it. */
export interface UserMessageItem {
  type: "message";
  id: string;
  status: "completed";
  role: "user";
  content: ResponsesContentPart[];
}

/** The answer of `POST /v1/responses/compact` (Open Responses `CompactResource`). */
export interface CompactResource {
  id: string;
  object: "response.compaction";
  created_at: number;
  /** The user's messages, then one compaction item standing for everything else. */
  output: Array<UserMessageItem | (CompactionItem & { id: string })>;
  usage: Usage;
}

export interface ResponsesFunctionTool {
  type: "function";
  name: string;
  description?: string | null;
  parameters?: Record<string, unknown> | null;
  strict?: boolean | null;
}

export type ResponsesTool =
  | ResponsesFunctionTool
  | { type: "namespace"; name: string; description?: string; tools: ResponsesTool[] }
  | { type: "custom"; name: string; description?: string; format?: unknown }
  | { type: string; [key: string]: unknown };

/** The body of `POST /v1/responses`. */
export interface ResponsesRequest {
  model?: string;
  input?: string | ResponsesInputItem[];
  instructions?: string | null;
  tools?: ResponsesTool[];
  tool_choice?: unknown;
  parallel_tool_calls?: boolean;
  text?: { format?: Record<string, unknown>; verbosity?: string };
  /** `context` (`all_turns`, `current_turn`: whose reasoning the model may see), `summary` and `mode` are accepted, not forwarded. */
  reasoning?: { effort?: string | null; summary?: string | null; generate_summary?: string | null; context?: string | null; mode?: string | null } | null;
  max_output_tokens?: number | null;
  max_tool_calls?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_logprobs?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  metadata?: Record<string, string> | null;
  store?: boolean | null;
  background?: boolean | null;
  stream?: boolean | null;
  previous_response_id?: string | null;
  include?: string[] | null;
  truncation?: "auto" | "disabled" | null;
  service_tier?: string | null;
  user?: string;
  safety_identifier?: string | null;
  prompt_cache_key?: string | null;
  /** OpenAI's prompt-cache controls (`mode`, `ttl`, `prewarm`, `comparison_response_id`): not forwarded; `prewarm: true` is a 400. */
  prompt_cache_options?: { mode?: string; ttl?: string; prewarm?: boolean; comparison_response_id?: string | null } | null;
  [extra: string]: unknown;
}
