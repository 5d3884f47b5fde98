import { DurableObject } from "cloudflare:workers";
import { type ConversationHead, type ConversationPage, ConversationRows } from "./conversation-rows.ts";
import { migrateV1 } from "./store-migration.ts";
import { type Answer, type ListResult, ndjsonLines, pageOf, type RowKey, sendRows } from "./store-rows.ts";
import type { ListOptions } from "../../src/server.ts";

/**
 * Stored responses on Durable Objects with SQLite storage.
 *
 * Partitioning: one object per (credential, conversation chain). A response
 * that starts a chain gets a random 64-bit shard; every response continuing
 * it, and every item of those responses, carries the same shard in its id
 * (`resp_<shard><random>`). An id therefore names its object directly
 * (`idFromName(<credential hash>:<shard>)`): no index, no scan. One busy
 * chain serialises only itself, not its key's other conversations, let
 * alone other keys.
 *
 * Isolation: the object's name starts with a SHA-256 of the presented
 * credential, never the credential. The same id presented with another key
 * names another (empty) object: it is unknown, as it should be.
 *
 * Linear storage (schema 2): each item is stored once, in `turn_items`, under
 * the response (turn) that brought it: its new input items, then its output,
 * and at `pos` -1 its envelope (the Response object without its output). A
 * turn names the turn it continued (`parent`) and where its items start in
 * the conversation (`base`), so a conversation is the items of the turns on
 * the path from the root, read with one query; forks share their ancestors'
 * rows. A value longer than SQLite's 2 MB limit lives in `item_chunks`.
 * Nothing crosses RPC as one message holding a conversation: reads answer
 * with the rows' JSON text as NDJSON, inline when small, else as a stream.
 *
 * The envelope's fields that repeat turn after turn (`instructions`, `tools`:
 * tens of kilobytes for Codex; the model and settings) are kept once per
 * object in `shared`, by hash, and named by the turns using them.
 *
 * Delete and expiry hide a turn at once; its rows stay while a later turn
 * still needs them and go with the last one (`#collect`).
 *
 * Conversations (the Conversations API) live here too, in the same rows:
 * see conversation-rows.ts. A conversation's id carries a shard like a
 * response's, and the responses run in it take the same shard, so a
 * conversation and its responses share one object.
 */

/** The schema this code reads and writes, kept in `meta`; older objects are migrated on first use. */
export const SCHEMA_VERSION = 2;

/** What `put` receives besides the items: the turn, its links, its envelope, its items' ids. */
export interface TurnHead {
  id: string;
  previous: string | null;
  /** With `previous` null: the conversation run in, and how many of its items came first (see `put`). */
  conversation: { id: string; items: number; last: string | null } | null;
  /** The Response object's own fields as JSON, with `output: []` (the output items are rows of their own). */
  envelope: string;
  /** Its other fields (those that repeat turn after turn) and the order of all its keys, and their hash; null: the envelope is whole. */
  shared: { hash: string; json: string } | null;
  /** How many of the items are new input (the rest is output). */
  inputs: number;
  /** The `id` of each item (input then output), for `item_reference` and `after`. */
  itemIds: Array<string | null>;
}

/** Answer of `history`: some of the conversation's items, and where the next page starts. */
export interface HistoryPage {
  items: Answer;
  next: number | null;
}


/** A turn's row: enough to place its items in the conversation. */
interface TurnRow {
  id: string;
  base: number;
  inputs: number;
  outputs: number;
  [key: string]: SqlStorageValue;
}

const PATH = `WITH RECURSIVE up(id, depth) AS (
  SELECT id, 0 FROM turns WHERE id = ?
  UNION ALL SELECT turns.parent, up.depth + 1 FROM turns JOIN up ON turns.id = up.id WHERE turns.parent IS NOT NULL)`;

// Few b-trees (each costs an object at least one 4 KB page, a fixed cost per conversation): the small tables
// WITHOUT ROWID, no index on `turns` beyond its key (`children` counts what continues a turn; the alarm's and a
// hidden turn's reachability scans are rare), and `item_chunks` only once a value needs it.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS turns (id TEXT PRIMARY KEY, parent TEXT, base INTEGER NOT NULL, inputs INTEGER NOT NULL, outputs INTEGER NOT NULL,
    expires_at INTEGER NOT NULL, hidden INTEGER NOT NULL DEFAULT 0, shared TEXT, children INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS shared (hash TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS turn_items (turn TEXT NOT NULL, pos INTEGER NOT NULL, item_id TEXT, parts INTEGER NOT NULL, size INTEGER NOT NULL, data TEXT,
    UNIQUE (turn, pos));
  CREATE INDEX IF NOT EXISTS turn_items_by_item ON turn_items (item_id) WHERE item_id IS NOT NULL;
`;
const CHUNKS = "CREATE TABLE IF NOT EXISTS item_chunks (turn TEXT NOT NULL, pos INTEGER NOT NULL, n INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (turn, pos, n))";

/** How long after a streamed conversation append the alarm looks for rows an interrupted one left (in an object with no other alarm). */
const SWEEP_AFTER_MS = 60 * 60 * 1000;

/** SQLite in Durable Objects limits a string or blob to 2 MB; 500k UTF-16 units are at most 1.5 MB of UTF-8. */
export const CHUNK_CHARS = 500_000;

export class ResponseStoreObject extends DurableObject {
  readonly #storage: DurableObjectStorage;
  #ready = false;
  /** Whether `item_chunks` exists (created with the first value past the limit). */
  #chunks = false;
  /** Whether `conversations` exists (created with the first conversation). */
  #hasConversations = false;
  readonly #conversations: ConversationRows;
  /** Turns whose rows are arriving as a stream (not yet visible): the alarm's sweep leaves their rows alone. */
  readonly #writing = new Set<string>();

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#storage = ctx.storage;
    const self = this;
    this.#conversations = new ConversationRows({
      get sql() {
        return self.#sql;
      },
      insertRow: (turn, pos, itemId, json) => this.#insertRow(turn, pos, itemId, json),
      removeRows: (turn, pos) => this.#removeRows(turn, pos),
      moveRows: (from, to) => this.#moveRows(from, to),
      transaction: (run) => this.ctx.storage.transactionSync(run),
      writing: this.#writing,
      sweepLater: async () => {
        if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + SWEEP_AFTER_MS);
      },
    });
  }

  /** The tables, created (or migrated from an older schema) on first use: after the last expiry `deleteAll()` drops them, leaving nothing billed behind. */
  get #sql(): SqlStorage {
    const sql = this.#storage.sql;
    if (this.#ready) return sql;
    this.#storage.transactionSync(() => {
      sql.exec(SCHEMA);
      const version = sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'schema'").toArray()[0]?.value ?? 0;
      if (version < 2) migrateV1(sql, (turn, pos, itemId, json) => this.#insertRow(turn, pos, itemId, json));
      sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", SCHEMA_VERSION);
      const table = (name: string) => sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
      this.#chunks = table("item_chunks");
      this.#hasConversations = table("conversations");
    });
    this.#ready = true;
    return sql;
  }

  /**
   * Stores a turn: its envelope and items once each, linked to the turn it continued. Idempotent (a
   * retried write whose first attempt landed finds it). Items come as JSON texts, or as an NDJSON
   * stream when large; the turn becomes visible only once all its rows are in. False, storing
   * nothing, when the turn it continued is not here (see `ResponseStore.put`).
   */
  async put(head: TurnHead, items: string[] | ReadableStream<Uint8Array>, retentionMs: number): Promise<boolean> {
    const sql = this.#sql;
    const parent = head.previous === null ? null : sql.exec<TurnRow>("SELECT id, base, inputs, outputs FROM turns WHERE id = ?", head.previous).toArray()[0];
    const exists = sql.exec("SELECT 1 FROM turns WHERE id = ?", head.id).toArray().length > 0;
    // Run in a conversation: its parent is the conversation, up to the position after the items it read.
    const conversation = head.previous === null && head.conversation ? head.conversation : null;
    const upTo = conversation && this.#rows()?.end(conversation.id, conversation.items, conversation.last);
    if (exists || parent === undefined || upTo === undefined) {
      if (!Array.isArray(items)) await items.cancel();
      return exists;
    }
    const base = parent === null ? (upTo ?? 0) : parent.base + parent.inputs + parent.outputs;
    const parentId = head.previous ?? (upTo === null ? null : conversation!.id);
    // What an interrupted streamed attempt left behind (the object was reset mid-write) goes first.
    this.#removeRows(head.id);
    const expiresAt = Date.now() + retentionMs;
    const finish = () => {
      // A streamed write awaited its rows: the turn it continues may have been deleted and collected meanwhile.
      if (head.previous !== null && !sql.exec("SELECT 1 FROM turns WHERE id = ?", head.previous).toArray().length) throw new Error(`Response ${head.previous}, continued by ${head.id}, went while it was written.`);
      this.#insertRow(head.id, -1, null, head.envelope);
      if (head.shared) sql.exec("INSERT OR IGNORE INTO shared (hash, json) VALUES (?, ?)", head.shared.hash, head.shared.json);
      const values = [head.id, parentId, base, head.inputs, head.itemIds.length - head.inputs, expiresAt, head.shared?.hash ?? null];
      sql.exec("INSERT INTO turns (id, parent, base, inputs, outputs, expires_at, shared) VALUES (?, ?, ?, ?, ?, ?, ?)", ...values);
      if (head.previous !== null) sql.exec("UPDATE turns SET children = children + 1 WHERE id = ?", head.previous);
    };
    if (Array.isArray(items)) {
      this.ctx.storage.transactionSync(() => {
        items.forEach((json, pos) => this.#insertRow(head.id, pos, head.itemIds[pos] ?? null, json));
        finish();
      });
    } else await this.#putStreamed(head, items, finish);
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > expiresAt) await this.ctx.storage.setAlarm(expiresAt);
    return true;
  }

  /** The Response object: its shared fields, and its envelope then its output rows. */
  async get(id: string): Promise<{ shared: string | null; rows: Answer } | undefined> {
    const turn = this.#visible(id);
    if (!turn) return undefined;
    const shared = this.#sql.exec<{ json: string }>("SELECT json FROM shared JOIN turns ON turns.shared = shared.hash WHERE turns.id = ?", id).toArray()[0]?.json ?? null;
    return { shared, rows: sendRows(this.#sql, this.#keys("SELECT rowid AS rid, parts, size, turn, pos FROM turn_items WHERE turn = ? AND (pos = -1 OR pos >= ?) ORDER BY pos", id, turn.inputs)) };
  }

  /**
   * One page of the conversation up to and including a response (every input item, then its
   * output), oldest first, from item `from` on: rows inline up to `INLINE_CHARS`, or one chunked row
   * as a stream. `next` is the ordinal the following page starts at (null: done). Pages by position are
   * consistent: while the response is known, every row of its conversation stays (see `#collect`).
   * A chain run in a conversation starts with that conversation's items as the chain's first turn
   * read them (rows of the conversation before its `base`): named, never copied.
   */
  async history(id: string, from = 0): Promise<HistoryPage | undefined> {
    const turn = this.#visible(id);
    if (!turn) return undefined;
    const { conversation, upTo } = this.#conversationOf(id);
    // Each row with its ordinal in the conversation (a conversation's row: its position), so a page starts where the last
    // ended even when a conversation item was deleted between the two.
    const query = `${PATH} SELECT turn_items.rowid AS rid, parts, size, turn, pos, COALESCE(turns.base, 0) + pos AS ord FROM up JOIN turn_items ON turn_items.turn = up.id
      LEFT JOIN turns ON turns.id = up.id WHERE pos >= 0 AND (turn <> ? OR pos < ?) ORDER BY up.depth DESC, pos`;
    const keys = this.#keys(query, id, conversation ?? "", upTo) as Array<RowKey & { ord: number }>;
    // The turns' own rows are all there (a deleted conversation item is gone from the conversation, and so from here).
    const own = keys.reduce((n, key) => (key.turn === conversation ? n : n + 1), 0);
    if (own !== turn.base - upTo + turn.inputs + turn.outputs) throw new Error(`The conversation of ${id} is incomplete in storage (${own} of ${turn.base - upTo + turn.inputs + turn.outputs} items).`);
    const start = keys.findIndex((key) => key.ord >= from);
    const [page, next] = start < 0 ? [[], keys.length] : pageOf(keys, start);
    return { items: sendRows(this.#sql, page), next: next < keys.length ? keys[next]!.ord : null };
  }

  /** The conversation a chain was run in (its first turn's parent), and the position its view of it ends at; none: null and 0. */
  #conversationOf(id: string): { conversation: string | null; upTo: number } {
    const root = this.#sql.exec<{ parent: string | null; base: number }>(`${PATH} SELECT parent, base FROM up JOIN turns USING (id) ORDER BY up.depth DESC LIMIT 1`, id).toArray()[0];
    return root?.parent?.startsWith("conv_") ? { conversation: root.parent, upTo: root.base } : { conversation: null, upTo: 0 };
  }

  /** An item by its id, from a turn someone can still reach (the turn itself, or one continuing it). */
  async getItem(itemId: string): Promise<Answer | undefined> {
    const holders = this.#keys("SELECT rowid AS rid, parts, size, turn, pos FROM turn_items WHERE item_id = ? AND pos >= 0", itemId);
    const reachable = holders.find((key) => this.#reachable(key.turn));
    return reachable && sendRows(this.#sql, [reachable]);
  }

  /** Several items by id, as `getItem` finds each: the ids found, and their JSON in that order. */
  async getItems(itemIds: string[]): Promise<{ ids: string[]; items: Answer }> {
    const ids: string[] = [];
    const keys: RowKey[] = [];
    for (const itemId of new Set(itemIds)) {
      const key = this.#keys("SELECT rowid AS rid, parts, size, turn, pos FROM turn_items WHERE item_id = ? AND pos >= 0", itemId).find((k) => this.#reachable(k.turn));
      if (!key) continue;
      ids.push(itemId);
      keys.push(key);
    }
    return { ids, items: sendRows(this.#sql, keys) };
  }

  /**
   * A page of a response's input items, reading only the page's rows. The input is a run of
   * segments, each a turn's rows (or the conversation's, before the chain's first turn) at
   * increasing ordinals; a page reads segment by segment, one range query each, until it is full.
   */
  async list(id: string, options: ListOptions): Promise<ListResult> {
    const turn = this.#visible(id);
    if (!turn) return undefined;
    const total = turn.base + turn.inputs;
    const { conversation, upTo } = this.#conversationOf(id);
    const path = this.#sql.exec<TurnRow>(`${PATH} SELECT turns.id, base, inputs, outputs FROM up JOIN turns USING (id) ORDER BY up.depth DESC`, id).toArray();
    // Each segment: its rows' turn, the ordinal of its pos 0, and the ordinal it ends before.
    const segments = path.map((t) => ({ turn: t.id, start: t.base, end: Math.min(t.base + t.inputs + t.outputs, total) }));
    if (conversation !== null) segments.unshift({ turn: conversation, start: 0, end: upTo });
    const asc = options.order === "asc";
    // The ordinals still open: [lo, hi).
    let [lo, hi] = [0, total];
    if (options.after !== undefined) {
      const rows = this.#keys("SELECT rowid AS rid, parts, size, turn, pos FROM turn_items WHERE item_id = ? AND pos >= 0", options.after);
      const found = rows.flatMap((key) => segments.filter((g) => g.turn === key.turn && g.start + key.pos < g.end).map((g) => g.start + key.pos));
      if (!found.length) return { unknownAfter: true };
      if (asc) lo = Math.min(...found) + 1;
      else hi = Math.max(...found);
    }
    const keys: Array<RowKey & { item_id?: string | null }> = [];
    for (const g of asc ? segments : [...segments].reverse()) {
      if (keys.length > options.limit) break;
      const [from, to] = [Math.max(lo, g.start) - g.start, Math.min(hi, g.end) - g.start];
      if (from >= to) continue;
      const query = `SELECT rowid AS rid, parts, size, turn, pos, item_id FROM turn_items WHERE turn = ? AND pos >= ? AND pos < ? ORDER BY pos ${asc ? "ASC" : "DESC"} LIMIT ?`;
      keys.push(...this.#keys(query, g.turn, from, to, options.limit + 1 - keys.length));
    }
    const page = keys.slice(0, options.limit);
    return { ids: page.map((k) => k.item_id ?? null), hasMore: keys.length > options.limit, items: sendRows(this.#sql, page) };
  }

  /** Hides the response at once; its rows go now unless a later turn still needs them. */
  async delete(id: string): Promise<boolean> {
    if (!this.#visible(id)) return false;
    this.ctx.storage.transactionSync(() => {
      this.#sql.exec("UPDATE turns SET hidden = 1 WHERE id = ?", id);
      this.#collect(id);
      this.#collectShared();
    });
    return true;
  }

  /** A new conversation and its first items (conversation-rows.ts). */
  async createConversation(head: { id: string; created_at: number; metadata: string }, itemIds: Array<string | null>, items: string[] | ReadableStream<Uint8Array>): Promise<void> {
    this.#conversations.create(head);
    this.#hasConversations = true;
    await this.#conversations.append(head.id, itemIds, items);
  }

  async conversation(id: string): Promise<ConversationHead | undefined> {
    return this.#rows()?.head(id);
  }

  async updateConversation(id: string, metadata: string): Promise<ConversationHead | undefined> {
    return this.#rows()?.update(id, metadata);
  }

  async deleteConversation(id: string): Promise<boolean> {
    return this.#rows()?.delete(id) ?? false;
  }

  async appendToConversation(id: string, itemIds: Array<string | null>, items: string[] | ReadableStream<Uint8Array>): Promise<boolean> {
    const rows = this.#rows();
    if (rows) return rows.append(id, itemIds, items);
    if (!Array.isArray(items)) await items.cancel();
    return false;
  }

  async conversationPage(id: string, from: number): Promise<ConversationPage | undefined> {
    return this.#rows()?.page(id, from);
  }

  async listConversation(id: string, options: ListOptions): Promise<ListResult> {
    return this.#rows()?.list(id, options);
  }

  async conversationItem(id: string, itemId: string): Promise<Answer | null | undefined> {
    return this.#rows()?.item(id, itemId);
  }

  async deleteConversationItem(id: string, itemId: string): Promise<boolean | undefined> {
    return this.#rows()?.deleteItem(id, itemId);
  }

  /** The conversations' rows once the tables are known; null while this object holds no conversation. */
  #rows(): ConversationRows | null {
    void this.#sql;
    return this.#hasConversations ? this.#conversations : null;
  }

  /** What this object holds: its SQLite size (what storage is billed on) and its rows; for operators and `bench/store.bench.ts`. */
  async stats(): Promise<{ databaseSize: number; turns: number; items: number; chunks: number; conversations: number }> {
    const n = (table: string) => this.#sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n;
    const conversations = this.#hasConversations ? n("conversations") : 0;
    return { databaseSize: this.#storage.sql.databaseSize, turns: n("turns"), items: n("turn_items"), chunks: this.#chunks ? n("item_chunks") : 0, conversations };
  }

  /** Retention, per response: hide what expired and collect it, then wake again for the next expiry, or leave nothing behind. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const expired = this.#sql.exec<{ id: string }>("SELECT id FROM turns WHERE expires_at <= ? AND hidden = 0", now).toArray();
    this.ctx.storage.transactionSync(() => {
      for (const { id } of expired) {
        this.#sql.exec("UPDATE turns SET hidden = 1 WHERE id = ?", id);
        this.#collect(id);
      }
      // Rows of a streamed write that never finished (the object was reset mid-write, and no retry came).
      // A conversation's rows are under its own id and never expire.
      const kept = this.#hasConversations ? " AND turn NOT IN (SELECT id FROM conversations)" : "";
      const orphans = this.#sql.exec<{ turn: string }>(`SELECT DISTINCT turn FROM turn_items WHERE turn NOT IN (SELECT id FROM turns)${kept}`).toArray();
      for (const { turn } of orphans) if (!this.#writing.has(turn)) this.#removeRows(turn);
      this.#collectShared();
    });
    const next = this.#sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM turns WHERE hidden = 0").one().at;
    const conversations = this.#hasConversations ? this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM conversations").one().n : 0;
    const left = this.#sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM turns").one().n + conversations;
    if (next !== null) await this.ctx.storage.setAlarm(next);
    // A streamed write still arriving is a turn about to exist: look again later rather than drop its rows.
    else if (left === 0 && this.#writing.size) await this.ctx.storage.setAlarm(now + 60_000);
    else if (left === 0) {
      await this.ctx.storage.deleteAll();
      this.#ready = false;
    }
  }

  /** A stream's lines become rows as they arrive; on any failure the rows written so far go again. */
  async #putStreamed(head: TurnHead, items: ReadableStream<Uint8Array>, finish: () => void): Promise<void> {
    let pos = 0;
    this.#writing.add(head.id);
    try {
      for await (const json of ndjsonLines(items)) {
        this.#insertRow(head.id, pos, head.itemIds[pos] ?? null, json);
        pos++;
      }
      if (pos !== head.itemIds.length) throw new Error(`Response ${head.id}: ${pos} items arrived of ${head.itemIds.length}.`);
      this.ctx.storage.transactionSync(finish);
    } catch (e) {
      // Only this write's rows: a turn of the same id that another attempt committed meanwhile stays.
      if (!this.#sql.exec("SELECT 1 FROM turns WHERE id = ?", head.id).toArray().length) this.#removeRows(head.id);
      throw e;
    } finally {
      this.#writing.delete(head.id);
    }
  }

  /** One value per row while it fits under the limit; past it, chunks. */
  #insertRow(turn: string, pos: number, itemId: string | null, json: string): void {
    const sql = this.#storage.sql;
    if (json.length <= CHUNK_CHARS) {
      sql.exec("INSERT INTO turn_items (turn, pos, item_id, parts, size, data) VALUES (?, ?, ?, 0, ?, ?)", turn, pos, itemId, json.length, json);
      return;
    }
    const parts = Math.ceil(json.length / CHUNK_CHARS);
    if (!this.#chunks) sql.exec(CHUNKS);
    this.#chunks = true;
    sql.exec("INSERT INTO turn_items (turn, pos, item_id, parts, size, data) VALUES (?, ?, ?, ?, ?, NULL)", turn, pos, itemId, parts, json.length);
    for (let n = 0; n < parts; n++) sql.exec("INSERT INTO item_chunks (turn, pos, n, data) VALUES (?, ?, ?, ?)", turn, pos, n, json.slice(n * CHUNK_CHARS, (n + 1) * CHUNK_CHARS));
  }

  #keys(query: string, ...bindings: unknown[]): Array<RowKey & { item_id?: string | null }> {
    return this.#sql.exec<RowKey & { item_id?: string | null }>(query, ...bindings).toArray();
  }

  /** A turn the API knows: neither deleted nor expired (even if its alarm has not run yet). */
  #visible(id: string): TurnRow | undefined {
    return this.#sql.exec<TurnRow>("SELECT id, base, inputs, outputs FROM turns WHERE id = ? AND hidden = 0 AND expires_at > ?", id, Date.now()).toArray()[0];
  }

  /** Visible, or continued by a visible turn (whose conversation holds its items). */
  #reachable(id: string): boolean {
    if (this.#visible(id)) return true;
    if (id.startsWith("conv_")) return this.#hasConversations && this.#conversations.head(id) !== undefined;
    const query = `WITH RECURSIVE down(id) AS (SELECT id FROM turns WHERE parent = ? UNION ALL SELECT turns.id FROM turns JOIN down ON turns.parent = down.id)
      SELECT 1 FROM down JOIN turns USING (id) WHERE hidden = 0 AND expires_at > ? LIMIT 1`;
    return this.#sql.exec(query, id, Date.now()).toArray().length > 0;
  }

  /** Removes a hidden (or expired) turn nobody continues, then, up the chain, the hidden turns only it needed. */
  #collect(start: string): void {
    const sql = this.#sql;
    let id: string | null = start;
    while (id !== null) {
      type Row = { parent: string | null; hidden: number; expires_at: number; children: number };
      const row: Row | undefined = sql.exec<Row>("SELECT parent, hidden, expires_at, children FROM turns WHERE id = ?", id).toArray()[0];
      if (!row || (row.hidden === 0 && row.expires_at > Date.now()) || row.children > 0) return;
      sql.exec("DELETE FROM turns WHERE id = ?", id);
      this.#removeRows(id);
      id = row.parent;
      if (id !== null) sql.exec("UPDATE turns SET children = children - 1 WHERE id = ?", id);
    }
  }

  /** Shared envelope fields no turn names any more (once per delete or alarm: a scan of `turns`). */
  #collectShared(): void {
    this.#sql.exec("DELETE FROM shared WHERE hash NOT IN (SELECT shared FROM turns WHERE shared IS NOT NULL)");
  }

  /** Every row of `from` (and its chunks) becomes a row of `to`, at the same positions. */
  #moveRows(from: string, to: string): void {
    this.#sql.exec("UPDATE turn_items SET turn = ? WHERE turn = ?", to, from);
    if (this.#chunks) this.#sql.exec("UPDATE item_chunks SET turn = ? WHERE turn = ?", to, from);
  }

  /** A turn's (or a conversation's) rows, or the one at `pos`. */
  #removeRows(turn: string, pos?: number): void {
    const at = pos === undefined ? "" : " AND pos = ?";
    const bindings = pos === undefined ? [turn] : [turn, pos];
    this.#sql.exec(`DELETE FROM turn_items WHERE turn = ?${at}`, ...bindings);
    if (this.#chunks) this.#sql.exec(`DELETE FROM item_chunks WHERE turn = ?${at}`, ...bindings);
  }
}
