import type { ConversationItem } from "./store.ts";
import type { ItemExpander } from "./history.ts";
import { isObject } from "../internal/is-object.ts";
import { isReasoningField, markReasoningId, type ReasoningField, reasoningOrigin, reasoningText, unmarkedId } from "../convert/reasoning-origin.ts";
import type { OutputItem, ReasoningItem } from "../types/responses.ts";
import type { PendingEvents } from "../convert/emitter.ts";
import type { Sealer } from "./seal.ts";

/**
 * Reasoning carried by the client as `encrypted_content`, for `store: false`
 * clients asking for `include: ["reasoning.encrypted_content"]` (Codex sends
 * the token back with the summary; the AI SDK keeps nothing else). The token is
 * a `Sealer` token (purpose `"reasoning"`) holding the text and where it came
 * from, so a later request restores both; a token this bridge did not make
 * (OpenAI's own, another deployment's, a forged one) is dropped quietly and
 * never sent upstream.
 */
interface SealedReasoning {
  text: string;
  field: ReasoningField;
  /** `upstreamTag` of the upstream that produced it. */
  upstream: string;
}

function isSealedReasoning(v: unknown): v is SealedReasoning {
  return isObject(v) && typeof v.text === "string" && isReasoningField(v.field) && typeof v.upstream === "string";
}

/** Did the request ask for `encrypted_content` on reasoning items? */
export function wantsEncryptedReasoning(include: unknown): boolean {
  return Array.isArray(include) && include.includes("reasoning.encrypted_content");
}

/** Sets `encrypted_content` on each reasoning item this bridge produced (its id carries the origin); others are left alone. */
export async function sealReasoningItems(items: readonly OutputItem[], sealer: Sealer): Promise<void> {
  for (const item of items) {
    if (item.type !== "reasoning" || item.encrypted_content) continue;
    const origin = reasoningOrigin(item.id);
    if (!origin) continue;
    const value: SealedReasoning = { text: reasoningText(item), ...origin };
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
export function sealReasoningEvents(sealer: Sealer): (pending: PendingEvents) => Promise<void> {
  return async (pending) => {
    const done: OutputItem[] = [];
    for (const e of pending) if (typeof e !== "string" && e.type === "response.output_item.done") done.push(e.item);
    if (done.length) await sealReasoningItems(done, sealer);
  };
}

/**
 * The `expandInput` step: a reasoning item with `encrypted_content` becomes the
 * reasoning it holds (text as `reasoning_text`, origin in the id, token gone),
 * or, for a token this sealer cannot open, the item without its token. Items
 * without a token pass unchanged, so running it twice changes nothing.
 */
export function reasoningExpander(sealer: Sealer | null): ItemExpander {
  return async (item: ConversationItem) => {
    if (!isObject(item) || item.type !== "reasoning" || typeof item.encrypted_content !== "string") return undefined;
    const { encrypted_content: token, ...rest } = item as ReasoningItem;
    const value = sealer ? await sealer.open("reasoning", token) : undefined;
    if (!isSealedReasoning(value)) return [rest as ConversationItem];
    const id = markReasoningId(unmarkedId(typeof rest.id === "string" && rest.id.startsWith("rs_") ? rest.id : "rs_sealed"), { field: value.field, upstream: value.upstream });
    const restored: ReasoningItem = { type: "reasoning", id, summary: [], content: [{ type: "reasoning_text", text: value.text }], status: "completed" };
    return [restored];
  };
}
