import type { IdGenerator, IdPrefix } from "../ids.ts";
import type { OutputItem, ResponseResource, ResponsesInputItem } from "../types/responses.ts";

/** An item of a conversation: something a client sent (after expansion) or something a response produced. */
export type ConversationItem = ResponsesInputItem | OutputItem;

/**
 * What a host keeps of one response so that it can be retrieved, listed and
 * continued: the Response object as the client last saw it (whatever its
 * status: completed, incomplete, failed, cancelled), and every input item the
 * upstream saw for it, after expansion. `input` is the whole conversation up
 * to this turn, so a continuation needs one read, not a walk down the chain.
 */
export interface StoredResponse {
  response: ResponseResource;
  /** Each with an `id` (assigned on storing when the client gave none), so they can be listed and referenced. */
  input: ConversationItem[];
}

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
  get(id: string): Promise<StoredResponse | undefined>;
  /** An item of any stored response (input or output), for `item_reference`. */
  getItem(id: string): Promise<ConversationItem | undefined>;
  put(record: StoredResponse): Promise<void>;
  /** A page of a stored response's input items, or undefined when the response is unknown. */
  list(id: string, options: ListOptions): Promise<ItemPage | undefined>;
  /** True when something was deleted. */
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
 * The record to store for a finished response: input items get the shape the
 * API lists them in (`type: "message"`, content as parts, an `id`).
 */
export function storedResponse(input: readonly ConversationItem[], response: ResponseResource, ids: IdGenerator): StoredResponse {
  const normalised = input.map((item): ConversationItem => {
    let out = item;
    if (out.type === undefined && "role" in out) out = { ...out, type: "message" };
    if (out.type === "message" && typeof out.content === "string") {
      const text = out.content;
      out = { ...out, content: [out.role === "assistant" ? { type: "output_text", text, annotations: [] } : { type: "input_text", text }] } as ConversationItem;
    }
    if (typeof out.id !== "string" || out.id === "") out = { ...out, id: ids(prefixFor(out)) } as ConversationItem;
    return out;
  });
  return { response, input: normalised };
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

/**
 * A `ResponseStore` in a `Map`: for tests and hosts with one long-lived
 * server. Nothing expires and nothing is shared between instances.
 */
export class MemoryResponseStore implements ResponseStore {
  readonly #responses = new Map<string, StoredResponse>();
  /** Item id → the responses holding it (a chain repeats earlier items in each later record). */
  readonly #items = new Map<string, Set<string>>();

  async get(id: string): Promise<StoredResponse | undefined> {
    return structuredClone(this.#responses.get(id));
  }

  async getItem(id: string): Promise<ConversationItem | undefined> {
    for (const rid of this.#items.get(id) ?? []) {
      const r = this.#responses.get(rid);
      const item = r && [...r.input, ...r.response.output].find((i) => i.id === id);
      if (item) return structuredClone(item);
    }
    return undefined;
  }

  async put(record: StoredResponse): Promise<void> {
    const id = record.response.id;
    await this.delete(id);
    this.#responses.set(id, structuredClone(record));
    for (const item of [...record.input, ...record.response.output]) {
      if (typeof item.id !== "string") continue;
      let holders = this.#items.get(item.id);
      if (!holders) this.#items.set(item.id, (holders = new Set()));
      holders.add(id);
    }
  }

  async list(id: string, options: ListOptions): Promise<ItemPage | undefined> {
    const r = this.#responses.get(id);
    return r ? structuredClone(pageItems(r.input, options)) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    const r = this.#responses.get(id);
    if (!r) return false;
    this.#responses.delete(id);
    for (const item of [...r.input, ...r.response.output]) {
      const holders = typeof item.id === "string" ? this.#items.get(item.id) : undefined;
      holders?.delete(id);
      if (holders?.size === 0) this.#items.delete(item.id!);
    }
    return true;
  }
}
