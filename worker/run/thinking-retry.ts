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
 * goes without thinking (OpenRouter's `reasoning: {"enabled": false}`,
 * `reasoning_effort` left out). The next turn thinks again: the rule concerns
 * only the tool call in progress.
 */
export function asksForThinkingBlocks(status: number, body: string): boolean {
  // Anthropic quotes with backticks, gateways relaying it often with single quotes; `text` when the model spoke before its call.
  return status === 400 && /Expected [`']thinking[`'] or [`']redacted_thinking[`'], but found [`'](?:tool_use|text)[`']/.test(body);
}

/** The request without thinking: OpenRouter's switch off, no effort (copied, not changed). */
export function withoutThinking(request: Partial<ChatCompletionRequest>): Partial<ChatCompletionRequest> {
  const { reasoning_effort: _effort, ...rest } = request;
  return { ...rest, reasoning: { enabled: false } };
}

/** The runs (prepared responses) that go without thinking from now on; nothing outlives its run. */
const off = new WeakSet<object>();

export function disableThinking(run: object): void {
  off.add(run);
}

export function thinkingDisabled(run: object): boolean {
  return off.has(run);
}
