import { isObject } from "../internal/is-object.ts";
import type { ChatFinishReasonOut, ChatTokenLogprobOut, ChatUrlCitationOut } from "../types/chat-out.ts";

// Small Responses → chat shape mappings shared by the streaming converter and `fromResponse`.

/** `resp_abc` → `chatcmpl-abc` (one answer keeps one id across both APIs); a fresh random id when there is none. */
export function chatCompletionId(responseId: unknown): string {
  if (typeof responseId === "string" && responseId !== "") return `chatcmpl-${responseId.startsWith("resp_") ? responseId.slice(5) : responseId}`;
  let hex = "";
  for (const b of crypto.getRandomValues(new Uint8Array(12))) hex += b.toString(16).padStart(2, "0");
  return `chatcmpl-${hex}`;
}

/** `completed` → `tool_calls` when the model called a function, else `stop`; `incomplete` → `length` or `content_filter`. */
export function finishReasonOf(terminal: string, incompleteDetails: unknown, calledTools: boolean): ChatFinishReasonOut {
  if (terminal === "response.incomplete" || terminal === "incomplete") {
    return isObject(incompleteDetails) && incompleteDetails["reason"] === "content_filter" ? "content_filter" : "length";
  }
  return calledTools ? "tool_calls" : "stop";
}

/** The error `type` OpenAI pairs with a Responses error `code`. */
export function errorTypeFor(code: string): string {
  if (code === "rate_limit_exceeded") return "rate_limit_exceeded";
  if (code.startsWith("invalid_") || code === "context_length_exceeded") return "invalid_request_error";
  return "server_error";
}

export function chatUrlCitation(a: unknown): ChatUrlCitationOut | null {
  if (!isObject(a) || a["type"] !== "url_citation") return null;
  const n = (v: unknown) => (typeof v === "number" ? v : 0);
  return { type: "url_citation", url_citation: { url: String(a["url"] ?? ""), title: String(a["title"] ?? ""), start_index: n(a["start_index"]), end_index: n(a["end_index"]) } };
}

function token(t: Record<string, unknown>) {
  return { token: String(t["token"] ?? ""), logprob: typeof t["logprob"] === "number" ? t["logprob"] : 0, bytes: Array.isArray(t["bytes"]) ? (t["bytes"] as number[]) : null };
}

/** Responses logprobs (on `output_text` deltas and parts) → chat `logprobs.content`; null when there are none. */
export function chatLogprobs(list: unknown): ChatTokenLogprobOut[] | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.filter(isObject).map((l) => ({ ...token(l), top_logprobs: Array.isArray(l["top_logprobs"]) ? l["top_logprobs"].filter(isObject).map(token) : [] }));
}
