import { type IdGenerator, type ResponseResource, type ResponsesRequest } from "../../src/index.ts";
import { type ConversationItem, conversationItems, type ExpandedInput, normaliseItems, type ResponseStore, type StoredTurn } from "../../src/server.ts";
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
  const appended = persist ? appendToConversation(expanded.conversation, fresh, response, ids, ctx) : Promise.resolve();
  const store = ctx.store;
  if (!persist || !store || request.store === false || response.store === false) return appended.then(() => true);
  // After the append settles: a response that could not join its conversation is stored saying `conversation: null`, as its terminal event does.
  // In a conversation, the turn names the conversation's items it read (never copies them): `previous_response_id`
  // and `input_items` then see them as this response did (whether or not its own items joined the conversation).
  const read = expanded.resolved.length - expanded.fresh.length;
  const last = expanded.resolved[read - 1]?.id;
  const conversation = expanded.conversation === null ? null : { id: expanded.conversation, items: read, last: typeof last === "string" ? last : null };
  const put = () => putWithRetry(store, { response, previous: expanded.previous, input: fresh, conversation }, whole, ctx);
  const written = appended.then(put, put);
  ctx.waitUntil(written);
  return Promise.all([written, appended]).then(([stored]) => stored);
}

/**
 * A response run in a conversation (`conversation` on create) adds its input and output items to it
 * when it ends with an answer (`completed`, or `incomplete`: the client has the partial answer and
 * the next turn builds on it); a `failed` or `cancelled` one adds nothing. One retry, as for the
 * store, unless the first attempt landed after all (its last item, an output item of this response
 * with an id of its own, is there); an append that fails twice is logged and the terminal event
 * says `conversation: null`.
 */
async function appendToConversation(id: string | null, fresh: ConversationItem[], response: ResponseResource, ids: IdGenerator, ctx: ClientContext): Promise<void> {
  const conversations = ctx.conversations;
  if (id === null || !conversations || (response.status !== "completed" && response.status !== "incomplete")) return;
  const items = conversationItems([...fresh, ...response.output], ids);
  const last = items.at(-1)?.id ?? null;
  const landed = async () => last !== null && (await conversations.getItem(id, last)) != null;
  const failures: unknown[] = [];
  for (let n = 0; n < 2; n++) {
    try {
      if ((n > 0 && (await landed())) || (await conversations.append(id, items))) return;
      failures.push(new Error(`conversation ${id} is gone`));
      break;
    } catch (e) {
      failures.push(e);
    }
  }
  const why = failures.map((x) => redact(String((x as Error)?.message ?? x), ctx.config)).join("; then ");
  console.error(`responses-bridge: adding ${response.id} to ${id} failed (${why}); the client was told conversation: null`);
  response.conversation = null;
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
