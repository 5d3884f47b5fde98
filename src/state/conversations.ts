import { invalidRequest, ResponsesError } from "../errors.ts";
import type { IdGenerator } from "../ids.ts";
import { isObject } from "../internal/is-object.ts";
import type { ResponsesRequest } from "../types/responses.ts";
import { type ConversationItem, type ItemPage, type ItemSource, type ListOptions, normaliseItems, pageItems } from "./store.ts";

/** The Conversations API's object (`POST /v1/conversations`, `GET /v1/conversations/{id}`). */
export interface ConversationResource {
  id: string;
  object: "conversation";
  /** Seconds since the epoch. */
  created_at: number;
  metadata: Record<string, string>;
}

/**
 * Where conversations live (the Conversations API, and `conversation` on `create`). Like
 * `ResponseStore`, a store handed to a request already belongs to its credential. A conversation
 * is a sequence of items, appended to and read in pages: nothing needs it whole in one message.
 * `undefined` answers "no such conversation" (never created, deleted, or another key's).
 */
export interface ConversationStore {
  /** Stores a new conversation with its first items (ids already assigned). */
  create(conversation: ConversationResource, items: readonly ConversationItem[]): Promise<void>;
  get(id: string): Promise<ConversationResource | undefined>;
  /** Replaces the metadata; the conversation as it now is. */
  update(id: string, metadata: Record<string, string>): Promise<ConversationResource | undefined>;
  /** True when something was deleted; its items go with it (responses stored on their own stay). */
  delete(id: string): Promise<boolean>;
  /**
   * Appends items (ids already assigned) at the end, all or none. False when the conversation is unknown.
   * Not idempotent: a caller retrying an append that may have landed looks for its last item first.
   */
  append(id: string, items: readonly ConversationItem[]): Promise<boolean>;
  /** Every item, oldest first, delivered lazily (pages, a stream). */
  items(id: string): Promise<ItemSource | undefined>;
  /** One page of items. Throws `RangeError` for an `after` that is not in the conversation. */
  list(id: string, options: ListOptions): Promise<ItemPage | undefined>;
  /** An item of the conversation: undefined when the conversation is unknown, null when the item is. */
  getItem(id: string, itemId: string): Promise<ConversationItem | null | undefined>;
  /** Undefined when the conversation is unknown, false when the item is, true when it was deleted. */
  deleteItem(id: string, itemId: string): Promise<boolean | undefined>;
  /**
   * Ids for a new conversation (`ids(null)("conv")`) or for what goes into one (`ids(conversationId)`),
   * as `ResponseStore.ids`: a sharded store puts the shard in them. Absent: random ids.
   */
  ids?(conversationId: string | null): IdGenerator;
}

/** OpenAI's 404 for a conversation it does not know (or that another key made); `param` names where the request named it. */
export function conversationNotFound(id: string, param: string | null = null): ResponsesError {
  return new ResponsesError(404, { message: `Conversation with id '${id}' not found.`, type: "invalid_request_error", param, code: null });
}

/** OpenAI's 404 for an item a conversation does not hold. */
export function conversationItemNotFound(itemId: string): ResponsesError {
  return new ResponsesError(404, { message: `Item with id '${itemId}' not found.`, type: "invalid_request_error", param: null, code: null });
}

/** How OpenAI names a JSON value's type in its error messages. */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a decimal";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

/**
 * The conversation a `create` continues (`conversation`: an id, or `{ id }`), or null. Throws OpenAI's
 * 400s: the wrong type, an id not beginning with `conv_`, and `previous_response_id` beside it.
 */
export function conversationOf(request: ResponsesRequest): string | null {
  const value = request.conversation;
  if (value == null) return null;
  let id: unknown = value;
  if (isObject(value)) {
    id = value.id;
    if (id == null) throw invalidRequest("Missing required parameter: 'conversation.id'.", "conversation.id", "missing_required_parameter");
    if (typeof id !== "string") throw invalidRequest(`Invalid type for 'conversation.id': expected a string, but got ${typeName(id)} instead.`, "conversation.id", "invalid_type");
  } else if (typeof value !== "string") {
    throw invalidRequest(`Invalid type for 'conversation': expected one of a string or an object, but got ${typeName(value)} instead.`, "conversation", "invalid_type");
  }
  if (request.previous_response_id != null) {
    throw invalidRequest("Mutually exclusive parameters. Ensure you are only providing one of: 'previous_response_id' or 'conversation'.", null, "mutually_exclusive_parameters");
  }
  const text = id as string;
  if (!text.startsWith("conv_")) throw invalidRequest(`Invalid 'conversation': '${text}'. Expected an ID that begins with 'conv_'.`, "conversation", "invalid_value");
  return text;
}

/** `metadata` as the API bounds it: at most 16 string pairs, keys up to 64 characters, values up to 512. Null or absent: `{}`. */
export function checkMetadata(value: unknown, param = "metadata"): Record<string, string> {
  if (value == null) return {};
  if (!isObject(value)) throw invalidRequest(`Invalid type for '${param}': expected a metadata object, but got ${typeName(value)} instead.`, param, "invalid_type");
  const entries = Object.entries(value);
  if (entries.length > 16) {
    throw invalidRequest(`Invalid '${param}': too many properties. Expected an object with at most 16 properties, but got an object with ${entries.length} properties instead.`, param, "object_above_max_properties");
  }
  for (const [key, v] of entries) {
    if (key.length > 64) {
      throw invalidRequest(`Invalid '${param}': string too long. Expected a string with maximum length 64, but got a string with length ${key.length} instead.`, param, "string_above_max_length");
    }
    const at = `${param}.${key}`;
    if (typeof v !== "string") throw invalidRequest(`Invalid type for '${at}': expected a string, but got ${typeName(v)} instead.`, at, "invalid_type");
    if (v.length > 512) throw invalidRequest(`Invalid '${at}': string too long. Expected a string with maximum length 512, but got a string with length ${v.length} instead.`, at, "string_above_max_length");
  }
  return value as Record<string, string>;
}

/** `items` of a conversation request: an array of at most 20 objects (`required`: for `POST …/items`). */
export function checkItems(value: unknown, required: boolean): ConversationItem[] {
  if (value == null) {
    if (required) throw invalidRequest("Missing required parameter: 'items'.", "items", "missing_required_parameter");
    return [];
  }
  if (!Array.isArray(value)) throw invalidRequest(`Invalid type for 'items': expected an array of input items, but got ${typeName(value)} instead.`, "items", "invalid_type");
  if (value.length > 20) {
    throw invalidRequest(`Invalid 'items': array too long. Expected an array with maximum length 20, but got an array with length ${value.length} instead.`, "items", "array_above_max_length");
  }
  value.forEach((item, i) => {
    if (!isObject(item)) throw invalidRequest(`Invalid type for 'items[${i}]': expected an input item, but got ${typeName(item)} instead.`, `items[${i}]`, "invalid_type");
  });
  return value as ConversationItem[];
}

/** Items in the shape a conversation lists them: as `normaliseItems`, and a message without a `status` is `completed`. */
export function conversationItems(items: readonly ConversationItem[], ids: IdGenerator): ConversationItem[] {
  return normaliseItems(items, ids).map((item) => (item.type === "message" && !("status" in item) ? ({ ...item, status: "completed" } as ConversationItem) : item));
}

/** The `include` values the API accepts for conversation items. */
const INCLUDABLE = [
  "file_search_call.results",
  "web_search_call.results",
  "web_search_call.action.sources",
  "message.input_image.image_url",
  "computer_call_output.output.image_url",
  "code_interpreter_call.outputs",
  "reasoning.encrypted_content",
  "message.output_text.logprobs",
];

/** `include` from a query (`include=a&include=b`, or `include[]=…` as the `openai` SDK sends it). Throws OpenAI's 400 for an unknown value. */
export function includeOf(query: URLSearchParams): Set<string> {
  const values = [...query.getAll("include"), ...query.getAll("include[]")];
  values.forEach((v, i) => {
    if (!INCLUDABLE.includes(v)) {
      const supported = INCLUDABLE.map((s) => `'${s}'`);
      throw invalidRequest(`Invalid value: '${v}'. Supported values are: ${supported.slice(0, -1).join(", ")}, and ${supported.at(-1)}.`, `include[${i}]`, "invalid_value");
    }
  });
  return new Set(values);
}

/**
 * An item as listed with `include`: a reasoning item's `encrypted_content` only when
 * `reasoning.encrypted_content` is asked for, as OpenAI lists it. The other values name output
 * the bridge never produces (hosted tools are not run), so they change nothing.
 */
export function withInclude(item: ConversationItem, include: ReadonlySet<string>): ConversationItem {
  if (item.type !== "reasoning" || include.has("reasoning.encrypted_content") || !("encrypted_content" in item)) return item;
  const { encrypted_content: _sealed, ...rest } = item as ConversationItem & { encrypted_content?: unknown };
  return rest as ConversationItem;
}

/**
 * A `ConversationStore` in a `Map`: for tests and hosts with one long-lived server (Deno, Bun,
 * Node). Nothing is shared between instances.
 */
export class MemoryConversationStore implements ConversationStore {
  readonly #conversations = new Map<string, { resource: ConversationResource; items: ConversationItem[] }>();

  async create(conversation: ConversationResource, items: readonly ConversationItem[]): Promise<void> {
    this.#conversations.set(conversation.id, { resource: structuredClone(conversation), items: structuredClone([...items]) });
  }

  async get(id: string): Promise<ConversationResource | undefined> {
    const c = this.#conversations.get(id);
    return c && structuredClone(c.resource);
  }

  async update(id: string, metadata: Record<string, string>): Promise<ConversationResource | undefined> {
    const c = this.#conversations.get(id);
    if (!c) return undefined;
    c.resource.metadata = structuredClone(metadata);
    return structuredClone(c.resource);
  }

  async delete(id: string): Promise<boolean> {
    return this.#conversations.delete(id);
  }

  async append(id: string, items: readonly ConversationItem[]): Promise<boolean> {
    const c = this.#conversations.get(id);
    if (!c) return false;
    c.items.push(...structuredClone([...items]));
    return true;
  }

  async items(id: string): Promise<ConversationItem[] | undefined> {
    const c = this.#conversations.get(id);
    return c && structuredClone(c.items);
  }

  async list(id: string, options: ListOptions): Promise<ItemPage | undefined> {
    const c = this.#conversations.get(id);
    return c && structuredClone(pageItems(c.items, options));
  }

  async getItem(id: string, itemId: string): Promise<ConversationItem | null | undefined> {
    const c = this.#conversations.get(id);
    if (!c) return undefined;
    const item = c.items.find((i) => i.id === itemId);
    return item ? structuredClone(item) : null;
  }

  async deleteItem(id: string, itemId: string): Promise<boolean | undefined> {
    const c = this.#conversations.get(id);
    if (!c) return undefined;
    const at = c.items.findIndex((i) => i.id === itemId);
    if (at < 0) return false;
    c.items.splice(at, 1);
    return true;
  }
}
