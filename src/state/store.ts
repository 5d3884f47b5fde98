import type { IdGenerator, IdPrefix } from "../ids.ts";
import type { OutputItem, ResponseResource, ResponsesInputItem } from "../types/responses.ts";

/** An item of a conversation: something a client sent (after expansion) or something a response produced. */
export type ConversationItem = ResponsesInputItem | OutputItem;

/**
 * A response with the whole conversation it was given (after expansion): what
 * a host hands to whoever keeps responses in full (a WebSocket connection's
 * memory), and the shape `HistoryResolver`s answered with before linear
 * storage.
 */
export interface StoredResponse {
  response: ResponseResource;
  /** Each with an `id` (assigned on storing when the client gave none), so they can be listed and referenced. */
  input: ConversationItem[];
}

/**
 * What a store keeps of one response: only what is new in it. The chain it
 * continued is named, never copied, so a conversation of n turns costs O(n)
 * and two responses continuing the same one share everything before them.
 * The conversation a response saw is `previous`'s, then `input`.
 */
export interface StoredTurn {
  /** The Response object as the client last saw it (whatever its status: completed, incomplete, failed, cancelled). */
  response: ResponseResource;
  /** The stored response this one continued (`previous_response_id`); null when it starts a conversation. */
  previous: string | null;
  /** The items new in this turn (the request's own input, references resolved), each with an `id`, in the shape the API lists them. */
  input: ConversationItem[];
  /**
   * A response run in a conversation (`conversation` on create, so `previous` is null): the conversation's
   * first `items` items came before its own input, as it read them (`last`: the last one's id). A store that holds the conversation
   * names them (never copies them): its history and input items are those, then the turn's own. A store
   * that cannot may keep the turn alone; absent on turns stored before this existed.
   */
  conversation?: { id: string; items: number; last: string | null } | null | undefined;
}

/** Items one by one, in order: a store's history may arrive in pages or as a stream rather than as one array. */
export type ItemSource = Iterable<ConversationItem> | AsyncIterable<ConversationItem>;

export interface ListOptions {
  /** 1–100. */
  limit: number;
  order: "asc" | "desc";
  /** An item id: the page starts after it (in `order`). */
  after?: string | undefined;
}

/** The API's list object (`GET /v1/responses/{id}/input_items`). */
export interface ItemPage {
  object: "list";
  data: ConversationItem[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/**
 * The storage the library stays agnostic behind. The Worker implements it on
 * a Durable Object; `MemoryResponseStore` serves tests and single-instance
 * hosts (Deno, Bun, Node); anything with get/put/delete by key can back it.
 * Isolation between clients is the implementation's business: a store handed
 * to a request already belongs to that request's credential.
 */
export interface ResponseStore {
  /** The Response object as the client received it, or undefined when unknown (never stored, deleted, expired). */
  get(id: string): Promise<ResponseResource | undefined>;
  /**
   * The conversation up to and including a response, oldest first: every input item it was given
   * (the chain before it, then its own), then its output. Undefined when the response is unknown.
   * A store may deliver it lazily (pages, a stream): nothing needs it all in one message.
   */
  history(id: string): Promise<ItemSource | undefined>;
  /** An item of any known response (input or output), for `item_reference`. */
  getItem(id: string): Promise<ConversationItem | undefined>;
  /** Several items by id (those found), in as few reads as the store can; absent: `getItem` for each. */
  getItems?(ids: readonly string[]): Promise<Map<string, ConversationItem>>;
  /**
   * Stores a turn: its response, the response it continued, and only its new input items. Resolves
   * false, storing nothing, when `turn.previous` is not stored here (a response a WebSocket connection
   * kept only in memory, or one deleted meanwhile): the host then stores the turn whole, with
   * `previous: null` and the entire conversation as its input. Idempotent for a turn already stored.
   */
  put(turn: StoredTurn): Promise<boolean>;
  /** A page of a stored response's input items, or undefined when the response is unknown. Throws `RangeError` for an unknown `after`. */
  list(id: string, options: ListOptions): Promise<ItemPage | undefined>;
  /**
   * True when something was deleted. The response becomes unknown at once; responses that continued
   * it keep their whole conversation (what they share with it stays as long as they need it).
   */
  delete(id: string): Promise<boolean>;
  /**
   * Ids for a new response (and its items), given the response it continues.
   * A store that shards can encode the shard in the ids, so that any later
   * lookup by id is routed without a scan. Absent: random ids.
   */
  ids?(previousResponseId: string | null): IdGenerator;
}

/** The id prefix an item of this type gets when stored without one. */
function prefixFor(item: ConversationItem): IdPrefix {
  switch (item.type) {
    case "function_call":
    case "function_call_output":
      return "fc";
    case "custom_tool_call":
    case "custom_tool_call_output":
      return "ctc";
    case "reasoning":
      return "rs";
    case "tool_search_call":
    case "tool_search_output":
      return "tsc";
    default:
      return "msg";
  }
}

/**
 * Items in the shape the API lists them in (`type: "message"`, content as
 * parts, an `id`); items already in that shape are kept as they are (same
 * object), so normalising a stored chain again costs no copy.
 */
export function normaliseItems(input: readonly ConversationItem[], ids: IdGenerator): ConversationItem[] {
  return input.map((item): ConversationItem => {
    let out = item;
    if (out.type === undefined && "role" in out) out = { ...out, type: "message" };
    if (out.type === "message" && typeof out.content === "string") {
      const text = out.content;
      out = { ...out, content: [out.role === "assistant" ? { type: "output_text", text, annotations: [] } : { type: "input_text", text }] } as ConversationItem;
    }
    if (typeof out.id !== "string" || out.id === "") out = { ...out, id: ids(prefixFor(out)) } as ConversationItem;
    return out;
  });
}

/** The turn to store for a finished response: its new input items normalised (see `normaliseItems`), and the response it continued. */
export function storedTurn(input: readonly ConversationItem[], response: ResponseResource, ids: IdGenerator, previous: string | null = null): StoredTurn {
  return { response, previous, input: normaliseItems(input, ids) };
}

/** One page of `items` as the API pages them. Throws `RangeError` for an `after` that is not among them. */
export function pageItems(items: readonly ConversationItem[], options: ListOptions): ItemPage {
  const ordered = options.order === "asc" ? [...items] : [...items].reverse();
  let start = 0;
  if (options.after !== undefined) {
    const at = ordered.findIndex((i) => i.id === options.after);
    if (at < 0) throw new RangeError(`No input item with id '${options.after}'.`);
    start = at + 1;
  }
  const data = ordered.slice(start, start + options.limit);
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + options.limit < ordered.length,
  };
}

interface MemoryTurn extends StoredTurn {
  /** Deleted by the client: unknown, but kept while a later turn still needs its items. */
  hidden: boolean;
}

/**
 * A `ResponseStore` in a `Map`: for tests and hosts with one long-lived
 * server. Nothing expires and nothing is shared between instances. Stored
 * like the durable store: each turn once, linked to the one it continued.
 */
export class MemoryResponseStore implements ResponseStore {
  readonly #turns = new Map<string, MemoryTurn>();
  /** Turn id → how many turns continue it (a deleted turn stays while this is not zero). */
  readonly #children = new Map<string, number>();
  /** Item id → the turns holding it. */
  readonly #items = new Map<string, Set<string>>();

  async get(id: string): Promise<ResponseResource | undefined> {
    const turn = this.#visible(id);
    return turn && structuredClone(turn.response);
  }

  async history(id: string): Promise<ConversationItem[] | undefined> {
    const turn = this.#visible(id);
    return turn && structuredClone([...this.#inputOf(turn), ...turn.response.output]);
  }

  async getItem(id: string): Promise<ConversationItem | undefined> {
    // Kept rows of a deleted turn are still the conversation of the turns that continued it.
    for (const tid of this.#items.get(id) ?? []) {
      const turn = this.#turns.get(tid)!;
      const item = [...turn.input, ...turn.response.output].find((i) => i.id === id);
      if (item) return structuredClone(item);
    }
    return undefined;
  }

  async put(turn: StoredTurn): Promise<boolean> {
    const id = turn.response.id;
    // Idempotent: a retried write whose first attempt landed finds it there.
    if (this.#turns.has(id)) return true;
    if (turn.previous !== null && !this.#turns.has(turn.previous)) return false;
    this.#turns.set(id, { ...structuredClone(turn), hidden: false });
    if (turn.previous !== null) this.#children.set(turn.previous, (this.#children.get(turn.previous) ?? 0) + 1);
    for (const item of [...turn.input, ...turn.response.output]) {
      if (typeof item.id !== "string") continue;
      let holders = this.#items.get(item.id);
      if (!holders) this.#items.set(item.id, (holders = new Set()));
      holders.add(id);
    }
    return true;
  }

  async list(id: string, options: ListOptions): Promise<ItemPage | undefined> {
    const turn = this.#visible(id);
    return turn ? structuredClone(pageItems(this.#inputOf(turn), options)) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    const turn = this.#visible(id);
    if (!turn) return false;
    turn.hidden = true;
    this.#collect(id);
    return true;
  }

  #visible(id: string): MemoryTurn | undefined {
    const turn = this.#turns.get(id);
    return turn && !turn.hidden ? turn : undefined;
  }

  /** The whole input of a turn: the chain before it, then its own. */
  #inputOf(turn: StoredTurn): ConversationItem[] {
    const turns: StoredTurn[] = [];
    for (let t: StoredTurn | undefined = turn; t; t = t.previous === null ? undefined : this.#turns.get(t.previous)) turns.push(t);
    turns.reverse();
    return turns.flatMap((t, i) => (i === turns.length - 1 ? t.input : [...t.input, ...t.response.output]));
  }

  /** Removes a hidden turn nobody continues, then the hidden turns it continued that nobody needs any more. */
  #collect(id: string | null): void {
    while (id !== null) {
      const turn = this.#turns.get(id);
      if (!turn || !turn.hidden || this.#children.get(id)) return;
      this.#turns.delete(id);
      this.#children.delete(id);
      for (const item of [...turn.input, ...turn.response.output]) {
        const holders = typeof item.id === "string" ? this.#items.get(item.id) : undefined;
        holders?.delete(id);
        if (holders?.size === 0) this.#items.delete(item.id!);
      }
      id = turn.previous;
      if (id !== null) this.#children.set(id, this.#children.get(id)! - 1);
    }
  }
}
