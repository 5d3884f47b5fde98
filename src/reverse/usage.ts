import { isObject } from "../internal/is-object.ts";
import type { ChatUsageOut } from "../types/chat-out.ts";

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** Responses `usage` → chat `usage`, every field present (0 where the upstream said nothing). */
export function chatUsage(usage: unknown): ChatUsageOut | null {
  if (!isObject(usage)) return null;
  const input = num(usage["input_tokens"]);
  const output = num(usage["output_tokens"]);
  const inDetails = isObject(usage["input_tokens_details"]) ? usage["input_tokens_details"] : {};
  const outDetails = isObject(usage["output_tokens_details"]) ? usage["output_tokens_details"] : {};
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: typeof usage["total_tokens"] === "number" ? usage["total_tokens"] : input + output,
    prompt_tokens_details: { cached_tokens: num(inDetails["cached_tokens"]) },
    completion_tokens_details: { reasoning_tokens: num(outDetails["reasoning_tokens"]) },
  };
}
