import type { ChatExtraContent, ChatReasoningDetail } from "../types/chat.ts";
import type { ReasoningItem } from "../types/responses.ts";
import { isObject } from "../internal/is-object.ts";

/**
 * Provider state: what an upstream attaches to an answer and needs back,
 * unchanged, on the same assistant turn of a later request, and that no
 * Responses item has a field for.
 *
 * - OpenRouter (Anthropic models with reasoning): `reasoning_details` entries,
 *   signed `reasoning.text` and `reasoning.encrypted`, back on the assistant
 *   message that made the tool call (else Anthropic answers `Expected
 *   'thinking' or 'redacted_thinking', but found 'tool_use'`).
 * - Gemini 3 (Google's OpenAI endpoint): a tool call's `extra_content`
 *   (`{"google": {"thought_signature": "…"}}`; Vertex AI's endpoint names it
 *   `vertex`), back on that call (else `Function call is missing a
 *   thought_signature in functionCall parts`); and a text answer's, on the
 *   message (`delta.extra_content` on a last chunk; recommended, not enforced).
 *
 * The converter keeps it beside the `reasoning` item of the turn (a reasoning
 * item with no text when the turn had none), in a side table, never on the
 * item itself: nothing of it reaches a client in the clear. The host seals it
 * into the item's `encrypted_content` (`src/state/reasoning-seal.ts`), which
 * every client carries back, stateful or not; `toChatRequest` puts it back on
 * the turn when the request goes to the upstream that produced it.
 */
export interface ProviderState {
  /** `upstreamTag` of the upstream that produced it. */
  upstream: string;
  /** OpenRouter: the turn's `reasoning_details`, each entry whole (pieces merged per `index`), in order. */
  details?: ChatReasoningDetail[];
  /** Gemini: `extra_content` by upstream tool call id. */
  calls?: Record<string, ChatExtraContent>;
  /** Gemini: the answer's own `extra_content`, back on the assistant message the item follows. */
  message?: ChatExtraContent;
  /**
   * The item comes after the answer it belongs to (its state arrived once the answer's text or calls had
   * started): its `details` and `message` go back on the assistant message before it, not the next one.
   */
  after?: boolean;
}

/**
 * A reasoning item restored from its token (`reasoningExpander`) carries its provider state under this
 * key, for `toChatRequest`: in the request's memory only, what is stored is the token. It goes upstream
 * only where the state's `upstream` is the request's own.
 */
export const PROVIDER_STATE = "provider_state";

const states = new WeakMap<object, ProviderState>();

/** The provider state the converter kept for a reasoning item it made; undefined for every other item. */
export function providerStateOf(item: object): ProviderState | undefined {
  return states.get(item);
}

/** The state of `item`, created empty on first use. */
export function stateFor(item: ReasoningItem, upstream: string): ProviderState {
  let s = states.get(item);
  if (!s) states.set(item, (s = { upstream }));
  return s;
}

/**
 * One streamed `reasoning_details` piece into the turn's entries: a piece with
 * the `index` of an entry already held continues it (its text, summary or data
 * appended, any other field set as it comes, the `signature` on the last piece),
 * as OpenRouter documents for streaming; a new index is a new entry.
 */
export function mergeDetail(state: ProviderState, piece: ChatReasoningDetail): void {
  const details = (state.details ??= []);
  const index = piece.index;
  // The entry streaming now is the last one: looked at first, the rest only when it is not.
  const last = details.length - 1;
  const i = typeof index !== "number" ? -1 : last >= 0 && details[last]!.index === index ? last : details.findIndex((d) => d.index === index);
  if (i < 0) {
    details.push({ ...piece });
    return;
  }
  const held = details[i] as Record<string, unknown>;
  const p = piece as Record<string, unknown>;
  for (const k in p) {
    const v = p[k];
    if ((k === "text" || k === "summary" || k === "data") && typeof v === "string" && typeof held[k] === "string") held[k] = (held[k] as string) + v;
    else if (v !== null && v !== undefined) held[k] = v;
  }
}

/** Gemini: a call's `extra_content`, kept by the call's upstream id. */
export function keepCallState(state: ProviderState, callId: string, extra: ChatExtraContent): void {
  (state.calls ??= {})[callId] = extra;
}

/** Whether `v` has the shape a sealed or restored provider state has (checked before any of it goes upstream). */
export function isProviderState(v: unknown): v is ProviderState {
  if (!isObject(v) || typeof v.upstream !== "string") return false;
  if (v.details !== undefined && !(Array.isArray(v.details) && v.details.every(isObject))) return false;
  if ((v.message !== undefined && !isObject(v.message)) || (v.after !== undefined && typeof v.after !== "boolean")) return false;
  return v.calls === undefined || (isObject(v.calls) && Object.values(v.calls).every(isObject));
}
