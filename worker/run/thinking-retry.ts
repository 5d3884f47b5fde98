import type { ChatCompletionRequest } from "../../src/index.ts";

/**
 * Anthropic's models with thinking on (through OpenRouter, or any gateway
 * quoting Anthropic) refuse a tool-call turn whose assistant message comes
 * back without its thinking blocks: `messages.1.content.0.type: Expected
 * \`thinking\` or \`redacted_thinking\`, but found \`tool_use\`. When
 * \`thinking\` is enabled, a final \`assistant\` message must start with a
 * thinking block … To avoid this requirement, disable \`thinking\`.` The
 * bridge sends back the `reasoning_details` it received (see
 * `src/convert/provider-state.ts`), so this only happens to a history that
 * lacks them: another model made the call (a switch mid-turn), a client that
 * dropped the reasoning items, a bridge without a sealing key. For that case
 * the way Anthropic documents is the one its message names: that one request
 * goes without thinking (`reasoning_effort` left out, and OpenRouter's
 * `reasoning: {"enabled": false}` for OpenRouter, see `withoutThinking`). The next turn thinks again: the rule concerns
 * only the tool call in progress.
 */
export function asksForThinkingBlocks(status: number, body: string): boolean {
  // Anthropic quotes with backticks, gateways relaying it often with single quotes; `text` when the model spoke before its call.
  return status === 400 && /Expected [`']thinking[`'] or [`']redacted_thinking[`'], but found [`'](?:tool_use|text)[`']/.test(body);
}

/**
 * The request without thinking (copied, not changed): no `reasoning_effort`; and OpenRouter's switch,
 * `reasoning: {"enabled": false}`, where the refusal came from OpenRouter or the request already had a
 * `reasoning` object. Another gateway gets no field it was not sent before (LiteLLM, for one, passes an
 * unknown `reasoning` on to Anthropic, which refuses it; leaving out the effort is its way to turn thinking off).
 */
export function withoutThinking(request: Partial<ChatCompletionRequest>, run: object): Partial<ChatCompletionRequest> {
  const { reasoning_effort: _effort, ...rest } = request;
  return off.get(run) || "reasoning" in rest ? { ...rest, reasoning: { enabled: false } } : rest;
}

/** OpenRouter: its host, or its error envelope (`error.metadata.provider_name`) from a proxy in front of it. */
export function isOpenRouter(baseUrl: string, provider: string | null): boolean {
  // `provider`: who the error body names; only OpenRouter's envelope names a provider other than Google's own (src/errors.ts).
  return /^https:\/\/(?:[^/]*\.)?openrouter\.ai\//.test(baseUrl) || (provider !== null && provider !== "Google");
}

/** The runs (prepared responses) that go without thinking from now on, each with whether OpenRouter's switch applies; nothing outlives its run. */
const off = new WeakMap<object, boolean>();

export function disableThinking(run: object, openrouter: boolean): void {
  off.set(run, openrouter);
}

export function thinkingDisabled(run: object): boolean {
  return off.has(run);
}
