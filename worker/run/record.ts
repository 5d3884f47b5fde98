import { type IdGenerator, type ResponseResource, type ResponsesRequest } from "../../src/index.ts";
import { type ConversationItem, type ExpandedInput, normaliseItems, type ResponseStore, type StoredTurn } from "../../src/server.ts";
import type { ClientContext } from "../context.ts";
import { redact } from "../upstream.ts";

/**
 * Hands the finished response (any status; `cancelled` when the client went away) to the context
 * (a connection's memory) and, unless `store: false`, to the store: only the turn's new items and
 * the response it continued. Resolves whether the response is stored as its envelope promises:
 * false only when a write the envelope promised failed twice (once logged). The caller holds the
 * terminal event until then and says `store: false` in it (see docs/stored-responses.md); the
 * write also goes to `waitUntil`, so it finishes even when nobody waits.
 */
export function recordEnd(request: ResponsesRequest, expanded: ExpandedInput, response: ResponseResource, ids: IdGenerator, ctx: ClientContext, persist: boolean): Promise<boolean> {
  const fresh = normaliseItems(expanded.fresh, ids);
  // The whole conversation: the chain as read (already normalised when it was stored or remembered), then this turn's items.
  const whole = () => [...normaliseItems(expanded.resolved.slice(0, expanded.resolved.length - expanded.fresh.length), ids), ...fresh];
  // A connection keeps whole conversations.
  ctx.onRecord?.({ response, input: whole() });
  const store = ctx.store;
  if (!persist || !store || request.store === false || response.store === false) return Promise.resolve(true);
  const written = putWithRetry(store, { response, previous: expanded.previous, input: fresh }, whole, ctx);
  ctx.waitUntil(written);
  return written;
}

/**
 * A turn continuing what the store does not hold (a connection's `store: false` response, one deleted
 * meanwhile) is stored whole instead. One retry: a transient failure (an object reset, a network blip
 * between Worker and object) should not cost the conversation.
 */
async function putWithRetry(store: ResponseStore, turn: StoredTurn, whole: () => ConversationItem[], ctx: ClientContext): Promise<boolean> {
  const put = async () => (await store.put(turn)) || (await store.put({ response: turn.response, previous: null, input: whole() }));
  let first: unknown;
  try {
    return await put();
  } catch (e) {
    first = e;
  }
  try {
    return await put();
  } catch (e) {
    const why = (x: unknown) => redact(String((x as Error)?.message ?? x), ctx.config);
    console.error(`responses-bridge: storing ${turn.response.id} failed twice (${why(first)}; then ${why(e)}); the client was told store: false`);
    return false;
  }
}
