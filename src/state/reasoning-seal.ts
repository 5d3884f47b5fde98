import type { ConversationItem } from "./store.ts";
import type { ItemExpander } from "./history.ts";
import { isObject } from "../internal/is-object.ts";
import { isReasoningField, markReasoningId, type ReasoningField, reasoningOrigin, reasoningText, unmarkedId } from "../convert/reasoning-origin.ts";
import type { OutputItem, ReasoningItem } from "../types/responses.ts";
import type { PendingEvents } from "../convert/emitter.ts";
import type { Sealer } from "./seal.ts";
import { isProviderState, PROVIDER_STATE, type ProviderState, providerStateOf } from "../convert/provider-state.ts";

/**
 * Reasoning carried by the client as `encrypted_content`, for `store: false`
 * clients asking for `include: ["reasoning.encrypted_content"]` (Codex sends
 * the token back with the summary; the AI SDK keeps nothing else). The token is
 * a `Sealer` token (purpose `"reasoning"`) holding the text and where it came
 * from, so a later request restores both; a token this bridge did not make
 * (OpenAI's own, another deployment's, a forged one) is dropped quietly and
 * never sent upstream.
 *
 * Provider state (Gemini's thought signatures, OpenRouter's signed
 * `reasoning_details`; see `src/convert/provider-state.ts`) rides in the same
 * token, and is sealed whether or not the client asked for `encrypted_content`:
 * it is the only way it comes back, stored (`previous_response_id`,
 * `item_reference`, a conversation) or carried by the client.
 */
interface SealedReasoning {
  text: string;
  field: ReasoningField;
  /** `upstreamTag` of the upstream that produced it. */
  upstream: string;
  state?: ProviderState;
}

function isSealedReasoning(v: unknown): v is SealedReasoning {
  return isObject(v) && typeof v.text === "string" && isReasoningField(v.field) && typeof v.upstream === "string" && (v.state === undefined || isProviderState(v.state));
}

/** Did the request ask for `encrypted_content` on reasoning items? */
export function wantsEncryptedReasoning(include: unknown): boolean {
  return Array.isArray(include) && include.includes("reasoning.encrypted_content");
}

/** Whether `item` is a reasoning item to seal: every one this bridge made when the client asked (`everything`), else those with provider state. */
function toSeal(item: OutputItem, everything: boolean): item is ReasoningItem {
  return item.type === "reasoning" && !item.encrypted_content && (everything || providerStateOf(item) !== undefined);
}

/**
 * Sets `encrypted_content` on reasoning items this bridge produced (the id carries the origin): on all of
 * them with `everything` (the client asked for `reasoning.encrypted_content`), else on those that carry
 * provider state. Others are left alone.
 */
export async function sealReasoningItems(items: readonly OutputItem[], sealer: Sealer, everything = true): Promise<void> {
  for (const item of items) {
    if (!toSeal(item, everything)) continue;
    const origin = reasoningOrigin(item.id);
    if (!origin) continue;
    const state = providerStateOf(item);
    const value: SealedReasoning = { text: reasoningText(item), ...origin, ...(state ? { state } : {}) };
    item.encrypted_content = await sealer.seal("reasoning", value);
  }
}

/**
 * For a stream shell's `beforeFlush`: seals the reasoning item of every
 * `response.output_item.done` in a batch before the batch is written. The item
 * is the object the final response holds too, so the terminal event (and what
 * `onEnd` stores) carries the same token. Strings in the batch are hot deltas,
 * already serialized, never an item's end.
 */
export function sealReasoningEvents(sealer: Sealer, everything = true): (pending: PendingEvents) => Promise<void> | undefined {
  // No promise for a batch with nothing to seal: a stream without provider state pays one scan of its batch.
  return (pending) => {
    let done: OutputItem[] | null = null;
    for (const e of pending) if (typeof e !== "string" && e.type === "response.output_item.done" && toSeal(e.item, everything)) (done ??= []).push(e.item);
    return done ? sealReasoningItems(done, sealer, everything) : undefined;
  };
}

/** Items restored from a token (this expander's, or a compaction's kept turn): passed again (a summary run over an expanded input), they keep their state. */
const restoredItems = new WeakSet<object>();

/** Marks items that came out of a sealed token (`compactionExpander`'s kept turn) as this expander's own. */
export function markRestored(items: readonly ConversationItem[]): void {
  for (const item of items) if (isObject(item) && item.type === "reasoning") restoredItems.add(item);
}

/**
 * The `expandInput` step: a reasoning item with `encrypted_content` becomes the
 * reasoning it holds (text as `reasoning_text`, origin in the id, token gone),
 * or, for a token this sealer cannot open, the item without its token. Items
 * without a token pass unchanged (less any provider state in the clear, which
 * only a token may bring), so running it twice changes nothing.
 */
export function reasoningExpander(sealer: Sealer | null): ItemExpander {
  return async (item: ConversationItem) => {
    if (!isObject(item) || item.type !== "reasoning" || restoredItems.has(item)) return undefined;
    // Provider state goes upstream only from a token this sealer opened: the same key in the clear (a client's) is dropped.
    const { [PROVIDER_STATE]: forged, ...clean } = item as Record<string, unknown>;
    if (typeof clean.encrypted_content !== "string") return forged === undefined ? undefined : [clean as ConversationItem];
    const { encrypted_content: token, ...rest } = clean as unknown as ReasoningItem;
    const value = sealer ? await sealer.open("reasoning", token) : undefined;
    if (!isSealedReasoning(value)) return [rest as ConversationItem];
    const id = markReasoningId(unmarkedId(typeof rest.id === "string" && rest.id.startsWith("rs_") ? rest.id : "rs_sealed"), { field: value.field, upstream: value.upstream });
    const restored: ReasoningItem = { type: "reasoning", id, summary: [], content: [{ type: "reasoning_text", text: value.text }], status: "completed" };
    if (value.state) (restored as unknown as Record<string, unknown>)[PROVIDER_STATE] = value.state;
    restoredItems.add(restored);
    return [restored];
  };
}
