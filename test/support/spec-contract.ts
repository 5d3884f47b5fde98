/**
 * The fields Open Responses (2026-04-24) marks `required`, for what this
 * library emits. Written down here so tests run without the spec file;
 * `spec-contract.test.ts` checks this list against the spec when a copy sits
 * beside the repo.
 */
export const requiredResponseFields = [
  "id", "object", "created_at", "completed_at", "status", "incomplete_details", "model", "previous_response_id",
  "instructions", "output", "error", "tools", "tool_choice", "truncation", "parallel_tool_calls", "text", "top_p",
  "presence_penalty", "frequency_penalty", "top_logprobs", "temperature", "reasoning", "usage", "max_output_tokens",
  "max_tool_calls", "store", "background", "service_tier", "metadata", "safety_identifier", "prompt_cache_key",
] as const;

const item = ["type", "sequence_number", "item_id", "output_index"];

export const requiredEventFields: Record<string, readonly string[]> = {
  "response.created": ["type", "sequence_number", "response"],
  "response.in_progress": ["type", "sequence_number", "response"],
  "response.completed": ["type", "sequence_number", "response"],
  "response.failed": ["type", "sequence_number", "response"],
  "response.incomplete": ["type", "sequence_number", "response"],
  "response.output_item.added": ["type", "sequence_number", "output_index", "item"],
  "response.output_item.done": ["type", "sequence_number", "output_index", "item"],
  "response.reasoning_summary_part.added": [...item, "summary_index", "part"],
  "response.reasoning_summary_part.done": [...item, "summary_index", "part"],
  "response.content_part.added": [...item, "content_index", "part"],
  "response.content_part.done": [...item, "content_index", "part"],
  "response.output_text.delta": [...item, "content_index", "delta"],
  "response.output_text.done": [...item, "content_index", "text"],
  "response.refusal.delta": [...item, "content_index", "delta"],
  "response.refusal.done": [...item, "content_index", "refusal"],
  "response.reasoning_summary_text.delta": [...item, "summary_index", "delta"],
  "response.reasoning_summary_text.done": [...item, "summary_index", "text"],
  "response.output_text.annotation.added": [...item, "content_index", "annotation_index", "annotation"],
  "response.function_call_arguments.delta": [...item, "delta"],
  "response.function_call_arguments.done": [...item, "arguments"],
  error: ["type", "sequence_number", "error"],
};

/** Spec schema names, for the cross-check. */
export const eventSchemaNames: Record<string, string> = {
  "response.created": "ResponseCreatedStreamingEvent",
  "response.in_progress": "ResponseInProgressStreamingEvent",
  "response.completed": "ResponseCompletedStreamingEvent",
  "response.failed": "ResponseFailedStreamingEvent",
  "response.incomplete": "ResponseIncompleteStreamingEvent",
  "response.output_item.added": "ResponseOutputItemAddedStreamingEvent",
  "response.output_item.done": "ResponseOutputItemDoneStreamingEvent",
  "response.reasoning_summary_part.added": "ResponseReasoningSummaryPartAddedStreamingEvent",
  "response.reasoning_summary_part.done": "ResponseReasoningSummaryPartDoneStreamingEvent",
  "response.content_part.added": "ResponseContentPartAddedStreamingEvent",
  "response.content_part.done": "ResponseContentPartDoneStreamingEvent",
  "response.output_text.delta": "ResponseOutputTextDeltaStreamingEvent",
  "response.output_text.done": "ResponseOutputTextDoneStreamingEvent",
  "response.refusal.delta": "ResponseRefusalDeltaStreamingEvent",
  "response.refusal.done": "ResponseRefusalDoneStreamingEvent",
  "response.reasoning_summary_text.delta": "ResponseReasoningSummaryDeltaStreamingEvent",
  "response.reasoning_summary_text.done": "ResponseReasoningSummaryDoneStreamingEvent",
  "response.output_text.annotation.added": "ResponseOutputTextAnnotationAddedStreamingEvent",
  "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaStreamingEvent",
  "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneStreamingEvent",
  error: "ErrorStreamingEvent",
};

export const requiredItemFields: Record<string, readonly string[]> = {
  message: ["type", "id", "status", "role", "content"],
  function_call: ["type", "id", "call_id", "name", "arguments", "status"],
  reasoning: ["type", "id", "summary"],
  custom_tool_call: ["type", "id", "call_id", "name", "input"],
  compaction: ["type", "id", "encrypted_content"],
};

export const itemSchemaNames: Record<string, string> = { message: "Message", function_call: "FunctionCall", reasoning: "ReasoningBody" };

export const requiredPartFields: Record<string, readonly string[]> = {
  output_text: ["type", "text", "annotations"],
  refusal: ["type", "refusal"],
  summary_text: ["type", "text"],
  reasoning_text: ["type", "text"],
  url_citation: ["type", "url", "start_index", "end_index", "title"],
  usage: ["input_tokens", "output_tokens", "total_tokens", "input_tokens_details", "output_tokens_details"],
  error_payload: ["type", "code", "message", "param"],
  function_tool: ["type", "name", "description", "parameters", "strict"],
};

export const partSchemaNames: Record<string, string> = {
  output_text: "OutputTextContent",
  refusal: "RefusalContent",
  summary_text: "SummaryTextContent",
  reasoning_text: "ReasoningTextContent",
  url_citation: "UrlCitationBody",
  usage: "Usage",
  error_payload: "ErrorPayload",
  function_tool: "FunctionTool",
};
