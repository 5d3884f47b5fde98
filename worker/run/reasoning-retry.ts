import type { ChatCompletionRequest } from "../../src/index.ts";
import { UpstreamMemory } from "./upstream-memory.ts";

/**
 * DeepSeek's thinking mode (and Xiaomi MiMo's, which copies the rule) refuses
 * a tool loop whose assistant turns come back without `reasoning_content`:
 * `400 The \`reasoning_content\` in the thinking mode must be passed back to
 * the API.` (older deepseek-reasoner: `Missing \`reasoning_content\` field in
 * the assistant message at message index 2`). Reasoning items normally carry
 * their origin (see `src/reasoning-origin.ts`), but some cannot: a model switch
 * on the same server (deepseek-v4-flash → -pro), a client that dropped ids, an
 * assistant turn that had no reasoning at all. The upstream's own words are
 * the signal to ask once more, with every reasoning item's text in
 * `reasoning_content` and an empty one where a turn has none.
 */
export function asksForReasoningContent(status: number, message: string): boolean {
  return status === 400 && /reasoning_content/.test(message) && /passed back|missing/i.test(message);
}

/** Every assistant message without `reasoning_content` gets an empty one (the request is copied, not changed). */
export function withReasoningContentEverywhere(request: ChatCompletionRequest): ChatCompletionRequest {
  return {
    ...request,
    messages: request.messages.map((m) => (m.role === "assistant" && typeof m.reasoning_content !== "string" ? { ...m, reasoning_content: "" } : m)),
  };
}

/**
 * Upstreams (by identity: base URL + model) that have asked: later requests to
 * them send reasoning that way the first time, instead of paying for a refused
 * request each turn (after a model switch the older turns' reasoning never
 * matches again). Per isolate (`UpstreamMemory`).
 */
const asked = new UpstreamMemory<true>();

export function rememberAskedForReasoning(upstream: string): void {
  asked.set(upstream, true);
}

export function hasAskedForReasoning(upstream: string): boolean {
  return asked.has(upstream);
}
