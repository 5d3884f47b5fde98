/**
 * Internal to the response store object: conversations (the Conversations API), kept in the same
 * object and the same rows as stored responses. A conversation's items are rows of `turn_items`
 * under the conversation's id (`turn` = `conv_…`), at increasing `pos` (a deleted item leaves a
 * gap), so they are chunked, streamed and paged by the same code as a response's items. One small
 * row per conversation in `conversations` says where the next item goes.
 */
import { type Answer, INLINE_CHARS, type ListResult, ndjsonLines, pageOf, type RowKey, sendRows } from "./store-rows.ts";
import type { ListOptions } from "../../src/server.ts";

/** Created with the first conversation (an object that holds none pays no page for it). */
const CONVERSATIONS = "CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, metadata TEXT NOT NULL, next_pos INTEGER NOT NULL) WITHOUT ROWID";

/** A conversation's own fields, as the object returns them. */
export interface ConversationHead {
  id: string;
  created_at: number;
  /** JSON. */
  metadata: string;
  [key: string]: SqlStorageValue;
}

/** Answer of `conversationPage`: some items, and the position the next page starts at (null: done). */
export interface ConversationPage {
  items: Answer;
  next: number | null;
}


/** What the rows need from their object. */
export interface RowHost {
  readonly sql: SqlStorage;
  insertRow(turn: string, pos: number, itemId: string | null, json: string): void;
  removeRows(turn: string, pos?: number): void;
  /** Moves every row (and chunk) of `from` to the turn `to`, positions kept. */
  moveRows(from: string, to: string): void;
  transaction(run: () => void): void;
  /** Rows being streamed in (the alarm's orphan sweep leaves them alone). */
  readonly writing: Set<string>;
  /** Makes sure the alarm runs some time later (its sweep collects what an interrupted stream left behind). */
  sweepLater(): Promise<void>;
}

/** Keys read per page query: bounds what one page reads, however long the conversation. */
const KEYS_PER_PAGE = 10_000;
const KEY = "SELECT rowid AS rid, parts, size, turn, pos, item_id FROM turn_items";

export class ConversationRows {
  readonly #host: RowHost;

  constructor(host: RowHost) {
    this.#host = host;
  }

  head(id: string): ConversationHead | undefined {
    return this.#host.sql.exec<ConversationHead>("SELECT id, created_at, metadata FROM conversations WHERE id = ?", id).toArray()[0];
  }

  create(head: { id: string; created_at: number; metadata: string }): void {
    this.#host.sql.exec(CONVERSATIONS);
    this.#host.sql.exec("INSERT OR IGNORE INTO conversations (id, created_at, metadata, next_pos) VALUES (?, ?, ?, 0)", head.id, head.created_at, head.metadata);
  }

  update(id: string, metadata: string): ConversationHead | undefined {
    this.#host.sql.exec("UPDATE conversations SET metadata = ? WHERE id = ?", metadata, id);
    return this.head(id);
  }

  delete(id: string): boolean {
    if (!this.head(id)) return false;
    this.#host.transaction(() => {
      this.#host.sql.exec("DELETE FROM conversations WHERE id = ?", id);
      this.#host.removeRows(id);
    });
    return true;
  }

  /**
   * Appends items at the end: positions are taken at once (no await between reading and moving
   * `next_pos`), so appends to one conversation never collide. Rows of a stream are written as
   * they arrive under a staging name no reader looks at, and join the conversation in one
   * transaction once all are in: a reader (a turn, a list) never sees half an append, and what an
   * interrupted write (the object reset mid-stream) left behind is an orphan the alarm collects.
   * On failure the staged rows go again: all or none. False when the conversation is unknown, or
   * was deleted while the stream arrived.
   */
  async append(id: string, itemIds: ReadonlyArray<string | null>, items: string[] | ReadableStream<Uint8Array>): Promise<boolean> {
    const sql = this.#host.sql;
    const row = sql.exec<{ next_pos: number }>("SELECT next_pos FROM conversations WHERE id = ?", id).toArray()[0];
    if (!row || itemIds.length === 0) {
      if (!Array.isArray(items)) await items.cancel();
      return !!row;
    }
    const base = row.next_pos;
    sql.exec("UPDATE conversations SET next_pos = ? WHERE id = ?", base + itemIds.length, id);
    if (Array.isArray(items)) {
      this.#host.transaction(() => items.forEach((json, n) => this.#host.insertRow(id, base + n, itemIds[n] ?? null, json)));
      return true;
    }
    const staging = `${id}~${base}`;
    let n = 0;
    this.#host.writing.add(staging);
    try {
      // An object holding only conversations has no alarm of its own: one comes for the rows a reset would leave.
      await this.#host.sweepLater();
      for await (const json of ndjsonLines(items)) {
        this.#host.insertRow(staging, base + n, itemIds[n] ?? null, json);
        n++;
      }
      if (n !== itemIds.length) throw new Error(`Conversation ${id}: ${n} items arrived of ${itemIds.length}.`);
      // Deleted while the stream arrived: nothing to join.
      if (!this.head(id)) {
        this.#host.removeRows(staging);
        return false;
      }
      this.#host.transaction(() => this.#host.moveRows(staging, id));
    } catch (e) {
      this.#host.removeRows(staging);
      throw e;
    } finally {
      this.#host.writing.delete(staging);
    }
    return true;
  }

  /**
   * Where a response's view of the conversation ends: the position after its first `items` items, the
   * last of them `last` (its id, checked: an item deleted while the response ran moves the count, and the
   * response's own items, appended since, must not join its view). Undefined: the conversation is unknown.
   */
  end(id: string, items: number, last: string | null): number | undefined {
    if (!this.head(id)) return undefined;
    if (items === 0) return 0;
    const at = this.#keys(`${KEY} WHERE turn = ? AND pos >= 0 ORDER BY pos LIMIT 1 OFFSET ?`, id, items - 1)[0];
    if (at && (last === null || at.item_id === last)) return at.pos + 1;
    // Moved by a delete: the last item read, at or before where the count points.
    const before = at ? at.pos : Number.MAX_SAFE_INTEGER;
    const found = last === null ? undefined : this.#keys(`${KEY} WHERE turn = ? AND item_id = ? AND pos <= ? ORDER BY pos DESC LIMIT 1`, id, last, before)[0];
    return found ? found.pos + 1 : (at?.pos ?? this.#host.sql.exec<{ next_pos: number }>("SELECT next_pos FROM conversations WHERE id = ?", id).one().next_pos - 1) + 1;
  }

  /** The items from position `from` on, oldest first: rows inline up to the RPC page size, or one chunked row as a stream. */
  page(id: string, from: number): ConversationPage | undefined {
    if (!this.head(id)) return undefined;
    const keys = this.#keys(`${KEY} WHERE turn = ? AND pos >= ? ORDER BY pos LIMIT ?`, id, from, KEYS_PER_PAGE);
    const [page, end] = pageOf(keys, 0);
    const more = end < keys.length || keys.length === KEYS_PER_PAGE;
    return { items: sendRows(this.#host.sql, page), next: more && page.length ? page.at(-1)!.pos + 1 : null };
  }

  /** A page as the API lists it: `after` found through the item-id index, then only the page's rows. */
  list(id: string, options: ListOptions): ListResult {
    if (!this.head(id)) return undefined;
    const asc = options.order === "asc";
    let from = asc ? -1 : Number.MAX_SAFE_INTEGER;
    if (options.after !== undefined) {
      const at = this.#keys(`${KEY} WHERE item_id = ? AND turn = ?`, options.after, id)[0];
      if (!at) return { unknownAfter: true };
      from = at.pos;
    }
    const keys = this.#keys(`${KEY} WHERE turn = ? AND pos ${asc ? ">" : "<"} ? AND pos >= 0 ORDER BY pos ${asc ? "ASC" : "DESC"} LIMIT ?`, id, from, options.limit + 1);
    // A page ends before the isolate's memory would (100 items of megabytes each): at most one RPC page of
    // characters, at least one item; the rest follows by `after`, `has_more` says so.
    let n = 0;
    for (let size = 0; n < Math.min(options.limit, keys.length) && (n === 0 || size + keys[n]!.size <= INLINE_CHARS); n++) size += keys[n]!.size;
    const page = keys.slice(0, n);
    return { ids: page.map((k) => k.item_id ?? null), hasMore: keys.length > n, items: sendRows(this.#host.sql, page) };
  }

  item(id: string, itemId: string): Answer | null | undefined {
    if (!this.head(id)) return undefined;
    const key = this.#keys(`${KEY} WHERE item_id = ? AND turn = ?`, itemId, id)[0];
    return key ? sendRows(this.#host.sql, [key]) : null;
  }

  deleteItem(id: string, itemId: string): boolean | undefined {
    if (!this.head(id)) return undefined;
    const key = this.#keys(`${KEY} WHERE item_id = ? AND turn = ?`, itemId, id)[0];
    if (!key) return false;
    this.#host.transaction(() => this.#host.removeRows(id, key.pos));
    return true;
  }

  #keys(query: string, ...bindings: unknown[]): Array<RowKey & { item_id: string | null }> {
    return this.#host.sql.exec<RowKey & { item_id: string | null }>(query, ...bindings).toArray();
  }
}
