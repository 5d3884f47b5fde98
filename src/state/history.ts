import { invalidRequest, ResponsesError } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import type { ResponsesInputItem, ResponsesRequest } from "../types/responses.ts";
import { type ConversationStore, conversationNotFound, conversationOf } from "./conversations.ts";
import type { ConversationItem, ItemSource, ResponseStore } from "./store.ts";

/**
 * Input expansion: the async step between a Responses request and
 * `toChatRequest`, which is synchronous and stateless. It turns everything in
 * a request that *refers* to state into the items themselves, so the
 * translation sees one self-contained conversation:
 *
 *   1. `previous_response_id` → that response's conversation (its whole input, then its output), prepended;
 *      or `conversation` (with a `ConversationStore`) → that conversation's items, prepended;
 *   2. `item_reference` → the stored item it names;
 *   3. every `ItemExpander`, in order, over every item (chain and new alike).
 *
 * The seam: a host passes a `HistoryResolver` (where stored responses and
 * items come from) and any number of `ItemExpander`s (how one item becomes
 * others). Stacking resolvers (`layerResolvers`) lets a WebSocket connection
 * answer for its own `store: false` responses before the durable store does;
 * expanders are where sealed `encrypted_content` reasoning and `compaction`
 * items turn back into context. Expanders must be idempotent (leave alone
 * what they produced), since a stored chain, already expanded once, passes
 * through them again when continued.
 */
export interface HistoryResolver {
  /** The conversation up to and including a response, oldest first (see `ResponseStore.history`); undefined when unknown. */
  history(id: string): Promise<ItemSource | undefined>;
  item(id: string): Promise<ConversationItem | undefined>;
  /** Several items at once, by id (those found); one round trip where the store can. Absent: `item` for each. */
  items?(ids: readonly string[]): Promise<Map<string, ConversationItem>>;
}

/** The items of `ids` the resolver knows, in one call when it can batch. */
async function resolveItems(resolver: HistoryResolver, ids: readonly string[]): Promise<Map<string, ConversationItem>> {
  if (!ids.length) return new Map();
  if (resolver.items) return resolver.items(ids);
  const found = new Map<string, ConversationItem>();
  for (const id of ids) {
    const item = await resolver.item(id);
    if (item) found.set(id, item);
  }
  return found;
}

/**
 * One item → its replacement (zero or more items), or `undefined` when the
 * item is not this expander's kind and should pass on unchanged. `param` names
 * the item in the request (`input[3]`) for errors; it is null for items that
 * came from a stored chain. Throw a `ResponsesError` to reject the request.
 */
export type ItemExpander = (item: ConversationItem, param: string | null) => ConversationItem[] | undefined | Promise<ConversationItem[] | undefined>;

export interface ExpandOptions {
  /** Where `previous_response_id` and `item_reference` resolve. Without one, both are left for `toChatRequest` to reject. */
  resolver?: HistoryResolver | null | undefined;
  expanders?: readonly ItemExpander[];
  /** Where `conversation` resolves (its items are prepended). Without one, `conversation` is left for `toChatRequest` to reject. */
  conversations?: ConversationStore | null | undefined;
}

export interface ExpandedInput {
  /** The request to translate: `input` holds the whole conversation and `previous_response_id` is gone. */
  request: ResponsesRequest;
  /** The items the upstream sees, in order. */
  input: ConversationItem[];
  /**
   * The same conversation before the item expanders ran (compaction items and sealed reasoning still
   * sealed): what a host stores as this response's input, so stored state never holds what a token
   * hides; the expanders open it again when the chain is continued.
   */
  resolved: ConversationItem[];
  /** The tail of `resolved` that is new in this request (its own items, references resolved): all a linear store keeps of the input. */
  fresh: ConversationItem[];
  /** The response continued (`previous_response_id`), resolved; null when none. */
  previous: string | null;
  /** The conversation continued (`conversation`), resolved; null when none. Its items come first in `resolved`, before `fresh`. */
  conversation: string | null;
}

/** A resolver reading a `ResponseStore`. */
export function storeResolver(store: ResponseStore): HistoryResolver {
  const getItems = store.getItems?.bind(store);
  return { history: (id) => store.history(id), item: (id) => store.getItem(id), ...(getItems ? { items: getItems } : {}) };
}

/** Resolvers asked in turn; the first that knows an id answers (a connection's own memory, then the durable store). */
export function layerResolvers(...resolvers: Array<HistoryResolver | null | undefined>): HistoryResolver {
  const layers = resolvers.filter((r): r is HistoryResolver => r != null);
  return {
    async history(id) {
      for (const r of layers) {
        const found = await r.history(id);
        if (found) return found;
      }
      return undefined;
    },
    async item(id) {
      for (const r of layers) {
        const found = await r.item(id);
        if (found) return found;
      }
      return undefined;
    },
    async items(ids) {
      const found = new Map<string, ConversationItem>();
      for (const r of layers) {
        const missing = ids.filter((id) => !found.has(id));
        if (!missing.length) break;
        for (const [id, item] of await resolveItems(r, missing)) found.set(id, item);
      }
      return found;
    },
  };
}

/** OpenAI's 404 for a response it does not know (never stored, deleted, expired, or another key's). */
export function responseNotFound(id: string): ResponsesError {
  return new ResponsesError(404, { message: `Response with id '${id}' not found.`, type: "invalid_request_error", param: null, code: null });
}

/** The 400 OpenAI answers for an unknown `previous_response_id`; clients (Codex) key their recovery on its code. */
export function previousResponseNotFound(id: string): ResponsesError {
  return invalidRequest(`Previous response with id '${id}' not found.`, "previous_response_id", "previous_response_not_found");
}

/** The request's own input as items (a string is one user message). Anything else is left for `toChatRequest` to reject. */
export function ownItems(input: ResponsesRequest["input"]): ConversationItem[] | null {
  if (input === undefined || input === null) return [];
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }];
  return Array.isArray(input) ? (input as ConversationItem[]) : null;
}

/** Runs the expansion described above. Throws `ResponsesError` (400) naming what could not be resolved. */
export async function expandInput(request: ResponsesRequest, options: ExpandOptions = {}): Promise<ExpandedInput> {
  const own = ownItems(request.input);
  // An input `toChatRequest` will reject with its own message.
  if (own === null) return { request, input: [], resolved: [], fresh: [], previous: null, conversation: null };
  const resolver = options.resolver;
  const tagged: Array<{ item: ConversationItem; param: string | null }> = [];
  const previousId = request.previous_response_id;
  if (previousId != null && typeof previousId !== "string") {
    throw invalidRequest(`Invalid type for 'previous_response_id': expected a string.`, "previous_response_id", "invalid_type");
  }
  // OpenAI's 400s (its type, `previous_response_id` beside it) whether or not there is a store.
  const conversationId = conversationOf(request);
  const conversations = conversationId === null ? null : options.conversations;
  const chain: ConversationItem[] = [];
  if (resolver && previousId) {
    const history = await resolver.history(previousId);
    if (!history) throw previousResponseNotFound(previousId);
    // Item by item as the store delivers them (it may page or stream): held once, here.
    for await (const item of history) chain.push(item);
  } else if (conversations && conversationId !== null) {
    const items = await conversations.items(conversationId);
    if (!items) throw conversationNotFound(conversationId);
    for await (const item of items) chain.push(item);
  }
  for (const item of chain) tagged.push({ item, param: null });
  const chainLength = chain.length;
  const references = resolver ? await resolveReferences(own, chain, resolver) : new Map<string, ConversationItem>();
  for (const [i, item] of own.entries()) {
    const param = `input[${i}]`;
    if (resolver && isObject(item) && item.type === "item_reference") {
      const id = (item as { id: string }).id;
      const found = references.get(id);
      if (!found) throw invalidRequest(`Item with id '${id}' not found.`, `${param}.id`, "item_not_found");
      tagged.push({ item: found, param });
    } else tagged.push({ item, param });
  }
  const input = await runExpanders(tagged, options.expanders ?? []);
  // Without a resolver, `previous_response_id` stays for `toChatRequest` to reject: a stateless call cannot honour it.
  const { previous_response_id: _previous, conversation: _conversation, ...rest } = request;
  if (!resolver && "previous_response_id" in request) rest.previous_response_id = request.previous_response_id;
  if (!conversations && "conversation" in request) rest.conversation = request.conversation;
  const resolved = tagged.map((t) => t.item);
  return {
    request: { ...rest, input: input as ResponsesInputItem[] },
    input,
    resolved,
    fresh: resolved.slice(chainLength),
    previous: resolver && previousId ? previousId : null,
    conversation: conversations ? conversationId : null,
  };
}

/**
 * Every `item_reference` of the input, resolved: from the chain being continued first (it holds the
 * client's own item ids too, which a sharded store cannot route), then the rest in one batch (a client
 * like the AI SDK refers to every earlier item, every turn). Throws for a reference without an id.
 */
async function resolveReferences(own: readonly ConversationItem[], chain: readonly ConversationItem[], resolver: HistoryResolver): Promise<Map<string, ConversationItem>> {
  const wanted: string[] = [];
  for (const [i, item] of own.entries()) {
    if (!isObject(item) || item.type !== "item_reference") continue;
    const id = (item as { id?: unknown }).id;
    if (typeof id !== "string" || id === "") throw invalidRequest(`Missing required parameter: 'input[${i}].id'.`, `input[${i}].id`, "missing_required_parameter");
    wanted.push(id);
  }
  const found = new Map<string, ConversationItem>();
  if (!wanted.length) return found;
  const want = new Set(wanted);
  for (const item of chain) {
    const id = (item as { id?: unknown }).id;
    if (typeof id === "string" && want.has(id) && !found.has(id)) found.set(id, item);
  }
  for (const [id, item] of await resolveItems(resolver, [...want].filter((id) => !found.has(id)))) found.set(id, item);
  return found;
}

async function runExpanders(tagged: Array<{ item: ConversationItem; param: string | null }>, expanders: readonly ItemExpander[]): Promise<ConversationItem[]> {
  const out: ConversationItem[] = [];
  for (const { item, param } of tagged) {
    let replaced: ConversationItem[] | undefined;
    for (const expand of expanders) {
      replaced = await expand(item, param);
      if (replaced !== undefined) break;
    }
    out.push(...(replaced ?? [item]));
  }
  return out;
}
