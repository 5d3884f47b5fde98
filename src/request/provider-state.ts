import type { ChatExtraContent } from "../types/chat.ts";
import { isObject } from "../internal/is-object.ts";
import { isProviderState, PROVIDER_STATE, type ProviderState } from "../convert/provider-state.ts";

// Provider state in history (see src/convert/provider-state.ts): read back from restored reasoning items.

/** The provider state a restored reasoning item carries, when it came from the upstream `here` (else none: it never goes elsewhere). */
export function stateFrom(item: Record<string, unknown>, here: string): ProviderState | undefined {
  const state = item[PROVIDER_STATE];
  return isProviderState(state) && state.upstream === here ? state : undefined;
}

/** Gemini's `extra_content` of every call in the history whose state came from `here`, by call id. */
export function callStates(input: readonly unknown[], here: string): Map<string, ChatExtraContent> {
  const out = new Map<string, ChatExtraContent>();
  for (const item of input) {
    if (!isObject(item) || item.type !== "reasoning") continue;
    const calls = stateFrom(item, here)?.calls;
    if (calls) for (const [id, extra] of Object.entries(calls)) out.set(id, extra);
  }
  return out;
}
