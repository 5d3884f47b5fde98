import { createIdGenerator, invalidRequest, parseResponsesRequest, ResponsesError, type ResponsesRequest, toChatRequest } from "../../src/index.ts";
import {
  checkItems,
  checkMetadata,
  type ConversationItem,
  conversationItemNotFound,
  conversationItems,
  conversationNotFound,
  type ConversationStore,
  expandInput,
  includeOf,
  withInclude,
} from "../../src/server.ts";
import type { ClientContext } from "../context.ts";
import { json } from "../http.ts";
import { sealedItemExpanders } from "../run/prepare.ts";
import { listOptions } from "./stored.ts";

/** The Conversations API (`/v1/conversations…`), on the context's `ConversationStore`; shapes and errors as OpenAI's. */

type Params = Record<string, string>;

function storeOf(ctx: ClientContext, id: string): ConversationStore {
  if (!ctx.conversations) throw conversationNotFound(id);
  return ctx.conversations;
}

/** OpenAI's 400 for a body field the endpoint does not take. */
function onlyFields(body: ResponsesRequest, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw invalidRequest(`Unknown parameter: '${key}'.`, key, "unknown_parameter");
}

/** A translation error about `input[…]` is about `items[…]` here. */
function asItemsError(e: unknown): unknown {
  if (!(e instanceof ResponsesError)) return e;
  const rename = (text: string) => text.replace(/\binput\[/g, "items[");
  return new ResponsesError(e.status, { ...e.payload, message: rename(e.message), param: e.param && rename(e.param) });
}

/**
 * The request's items in the shape a conversation lists them: `item_reference`s resolved (from stored responses
 * and conversations), ids in the conversation's shard. Checked as a turn will use them (the run's own expansion
 * and translation), so an item no turn could send upstream is refused now, not on every later turn.
 */
async function itemsFor(value: unknown, required: boolean, conversations: ConversationStore, conversationId: string | null, ctx: ClientContext) {
  const own = checkItems(value, required);
  const ids = conversations.ids?.(conversationId) ?? createIdGenerator();
  try {
    const expanded = await expandInput({ model: "conversation-items", input: own }, { resolver: ctx.resolver, expanders: sealedItemExpanders(ctx.sealer) });
    toChatRequest(expanded.request);
    return { ids, items: conversationItems(expanded.resolved, ids) };
  } catch (e) {
    throw asItemsError(e);
  }
}

function listOf(data: ConversationItem[]) {
  return { object: "list", data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false };
}

/** `POST /v1/conversations`: a new conversation, with its first `items` (at most 20) and `metadata`. */
export async function createConversation(request: Request, ctx: ClientContext): Promise<Response> {
  // Every field is optional, and the `openai` SDK's `conversations.create()` sends no body at all.
  const text = await request.text();
  const body = text.trim() === "" ? {} : parseResponsesRequest(text);
  onlyFields(body, ["items", "metadata"]);
  const metadata = checkMetadata(body.metadata);
  if (!ctx.conversations) {
    throw new ResponsesError(400, { message: "This bridge keeps no conversations: its deployment has no RESPONSES_STORE binding.", type: "invalid_request_error", param: null, code: "unsupported_parameter" });
  }
  const { ids, items } = await itemsFor(body.items, false, ctx.conversations, null, ctx);
  const conversation = { id: ids("conv"), object: "conversation" as const, created_at: Math.floor(Date.now() / 1000), metadata };
  await ctx.conversations.create(conversation, items);
  return json(200, conversation);
}

/** `GET /v1/conversations/{id}`. */
export async function getConversation(_request: Request, ctx: ClientContext, params: Params): Promise<Response> {
  const id = params.id!;
  const conversation = await storeOf(ctx, id).get(id);
  if (!conversation) throw conversationNotFound(id);
  return json(200, conversation);
}

/** `POST /v1/conversations/{id}`: replaces its `metadata` (required; null clears it). */
export async function updateConversation(request: Request, ctx: ClientContext, params: Params): Promise<Response> {
  const id = params.id!;
  const body = parseResponsesRequest(await request.text());
  onlyFields(body, ["metadata"]);
  if (!("metadata" in body)) throw invalidRequest("Missing required parameter: 'metadata'.", "metadata", "missing_required_parameter");
  const conversation = await storeOf(ctx, id).update(id, checkMetadata(body.metadata));
  if (!conversation) throw conversationNotFound(id);
  return json(200, conversation);
}

/** `DELETE /v1/conversations/{id}`: the conversation and its items; responses stored on their own stay. */
export async function deleteConversation(_request: Request, ctx: ClientContext, params: Params): Promise<Response> {
  const id = params.id!;
  if (!(await storeOf(ctx, id).delete(id))) throw conversationNotFound(id);
  return json(200, { id, object: "conversation.deleted", deleted: true });
}

/** `POST /v1/conversations/{id}/items`: appends `items` (1–20); answers with them as a list. */
export async function addConversationItems(request: Request, ctx: ClientContext, params: Params): Promise<Response> {
  const id = params.id!;
  const include = includeOf(new URL(request.url).searchParams);
  const body = parseResponsesRequest(await request.text());
  onlyFields(body, ["items"]);
  const store = storeOf(ctx, id);
  const { items } = await itemsFor(body.items, true, store, id, ctx);
  if (!(await store.append(id, items))) throw conversationNotFound(id);
  return json(200, listOf(items.map((i) => withInclude(i, include))));
}

/** `GET /v1/conversations/{id}/items`: a page (`after`, `limit` 1–100 default 20, `order` default desc, `include`). */
export async function listConversationItems(request: Request, ctx: ClientContext, params: Params): Promise<Response> {
  const id = params.id!;
  const query = new URL(request.url).searchParams;
  const options = listOptions(query);
  const include = includeOf(query);
  let page;
  try {
    page = await storeOf(ctx, id).list(id, options);
  } catch (e) {
    if (e instanceof RangeError) throw invalidRequest(`Invalid 'after': no item with id '${options.after}' in conversation '${id}'.`, "after", "invalid_value");
    throw e;
  }
  if (!page) throw conversationNotFound(id);
  return json(200, { ...page, data: page.data.map((i) => withInclude(i, include)) });
}

/** `GET /v1/conversations/{id}/items/{item_id}`. */
export async function getConversationItem(request: Request, ctx: ClientContext, params: Params): Promise<Response> {
  const { id, item: itemId } = params as { id: string; item: string };
  const include = includeOf(new URL(request.url).searchParams);
  const item = await storeOf(ctx, id).getItem(id, itemId);
  if (item === undefined) throw conversationNotFound(id);
  if (item === null) throw conversationItemNotFound(itemId);
  return json(200, withInclude(item, include));
}

/** `DELETE /v1/conversations/{id}/items/{item_id}`: answers with the conversation. */
export async function deleteConversationItem(_request: Request, ctx: ClientContext, params: Params): Promise<Response> {
  const { id, item: itemId } = params as { id: string; item: string };
  const store = storeOf(ctx, id);
  const deleted = await store.deleteItem(id, itemId);
  if (deleted === undefined) throw conversationNotFound(id);
  if (!deleted) throw conversationItemNotFound(itemId);
  const conversation = await store.get(id);
  if (!conversation) throw conversationNotFound(id);
  return json(200, conversation);
}
