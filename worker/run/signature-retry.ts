import type { ChatMessage } from "../../src/index.ts";
import { UpstreamMemory } from "./upstream-memory.ts";

/**
 * Gemini 3 (Google's OpenAI endpoint) refuses a turn whose tool calls come
 * back without their thought signatures: `400 Function call is missing a
 * thought_signature in functionCall parts. …`. The bridge carries the
 * signatures it received (sealed with the turn's reasoning, see
 * `src/convert/provider-state.ts`), but a history can lack them: calls
 * another model made (a model switch), a client that dropped the reasoning
 * items, a bridge without a sealing key. For exactly that case Google
 * documents a stand-in signature ("thought-signatures", FAQ: the dummy values
 * `context_engineering_is_the_way_to_go` or `skip_thought_signature_validator`;
 * the second is also Vertex AI's): it goes on the first call of each step
 * that has none. Google's own endpoints get it up front; any other upstream
 * once it has asked in those words (remembered, like the reasoning retry).
 */
export const STAND_IN_SIGNATURE = "skip_thought_signature_validator";

export function asksForThoughtSignature(status: number, body: string): boolean {
  return status === 400 && /missing a thought_signature/i.test(body);
}

/** Google's Gemini API and Vertex AI: their OpenAI endpoints validate signatures. */
export function isGoogleEndpoint(baseUrl: string): boolean {
  return /^https:\/\/[^/]*(generativelanguage|aiplatform)\.googleapis\.com\//.test(baseUrl);
}

/** Whether a call carries a signature, under Google's name or Vertex AI's (`extra_content.vertex`). */
function signed(call: { extra_content?: Record<string, unknown> }): boolean {
  return Object.values(call.extra_content ?? {}).some((v) => typeof v === "object" && v !== null && typeof (v as Record<string, unknown>)["thought_signature"] === "string");
}

/** Each assistant message whose calls carry no signature gets the stand-in on its first call (the messages are copied, not changed). */
export function withStandInSignatures(messages: ChatMessage[]): ChatMessage[] {
  return messages.map((m) => {
    if (m.role !== "assistant" || !m.tool_calls?.length || m.tool_calls.some(signed)) return m;
    const [first, ...rest] = m.tool_calls;
    const google = { ...(first!.extra_content?.["google"] as Record<string, unknown> | undefined), thought_signature: STAND_IN_SIGNATURE };
    return { ...m, tool_calls: [{ ...first!, extra_content: { ...first!.extra_content, google } }, ...rest] };
  });
}

/** Upstreams (base URL + model) that asked; per isolate (`UpstreamMemory`). */
const asked = new UpstreamMemory<true>();

export function rememberAskedForSignatures(upstream: string): void {
  asked.set(upstream, true);
}

export function wantsStandInSignatures(upstream: string, baseUrl: string): boolean {
  return asked.has(upstream) || isGoogleEndpoint(baseUrl);
}
