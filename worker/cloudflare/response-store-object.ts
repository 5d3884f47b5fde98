import { DurableObject } from "cloudflare:workers";
import { type ConversationItem, type ItemPage, type ListOptions, pageItems, type StoredResponse } from "../../src/server.ts";

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
 */

/** SQLite in Durable Objects limits a string or blob to 2 MB; 500k UTF-16 units are at most 1.5 MB of UTF-8. */
export const CHUNK_CHARS = 500_000;

/** Answer of `list`, whose errors must cross RPC as values. */
export type ListResult = { page: ItemPage } | { unknownAfter: true } | undefined;

export class ResponseStoreObject extends DurableObject {
  readonly #storage: DurableObjectStorage;
  #ready = false;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.#storage = ctx.storage;
  }

  /** The tables, created on first use: after the last expiry `deleteAll()` drops them, leaving nothing billed behind. */
  get #sql(): SqlStorage {
    const sql = this.#storage.sql;
    if (this.#ready) return sql;
    sql.exec(`
      CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL, parts INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS responses_by_expiry ON responses (expires_at);
      CREATE TABLE IF NOT EXISTS parts (response_id TEXT NOT NULL, n INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (response_id, n));
      CREATE TABLE IF NOT EXISTS items (item_id TEXT NOT NULL, response_id TEXT NOT NULL, PRIMARY KEY (item_id, response_id));
    `);
    this.#ready = true;
    return sql;
  }

  /** Stores (or replaces) a record, split into parts below the value limit, and keeps an alarm for its expiry. */
  async put(record: StoredResponse, retentionMs: number): Promise<void> {
    const id = record.response.id;
    const json = JSON.stringify(record);
    const expiresAt = Date.now() + retentionMs;
    const count = Math.max(1, Math.ceil(json.length / CHUNK_CHARS));
    const itemIds = new Set<string>();
    for (const item of [...record.input, ...record.response.output]) if (typeof item.id === "string") itemIds.add(item.id);
    this.ctx.storage.transactionSync(() => {
      this.#remove(id);
      this.#sql.exec("INSERT INTO responses (id, expires_at, parts) VALUES (?, ?, ?)", id, expiresAt, count);
      for (let n = 0; n < count; n++) this.#sql.exec("INSERT INTO parts (response_id, n, data) VALUES (?, ?, ?)", id, n, json.slice(n * CHUNK_CHARS, (n + 1) * CHUNK_CHARS));
      for (const itemId of itemIds) this.#sql.exec("INSERT INTO items (item_id, response_id) VALUES (?, ?)", itemId, id);
    });
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > expiresAt) await this.ctx.storage.setAlarm(expiresAt);
  }

  async get(id: string): Promise<StoredResponse | undefined> {
    return this.#read(id);
  }

  async getItem(itemId: string): Promise<ConversationItem | undefined> {
    const holders = this.#sql.exec<{ response_id: string }>("SELECT response_id FROM items WHERE item_id = ?", itemId).toArray();
    for (const { response_id } of holders) {
      const record = this.#read(response_id);
      const item = record && [...record.input, ...record.response.output].find((i) => i.id === itemId);
      if (item) return item;
    }
    return undefined;
  }

  async list(id: string, options: ListOptions): Promise<ListResult> {
    const record = this.#read(id);
    if (!record) return undefined;
    try {
      return { page: pageItems(record.input, options) };
    } catch (e) {
      if (e instanceof RangeError) return { unknownAfter: true };
      throw e;
    }
  }

  async delete(id: string): Promise<boolean> {
    if (!this.#live(id)) return false;
    this.ctx.storage.transactionSync(() => this.#remove(id));
    return true;
  }

  /** Retention: drop what expired, then wake again for the next expiry, or leave nothing behind. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const expired = this.#sql.exec<{ id: string }>("SELECT id FROM responses WHERE expires_at <= ?", now).toArray();
    this.ctx.storage.transactionSync(() => {
      for (const { id } of expired) this.#remove(id);
    });
    const next = this.#sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM responses").one().at;
    if (next !== null) await this.ctx.storage.setAlarm(next);
    else {
      await this.ctx.storage.deleteAll();
      this.#ready = false;
    }
  }

  #live(id: string): boolean {
    return this.#sql.exec("SELECT 1 FROM responses WHERE id = ? AND expires_at > ?", id, Date.now()).toArray().length > 0;
  }

  /** An expired record is gone even if its alarm has not run yet. */
  #read(id: string): StoredResponse | undefined {
    if (!this.#live(id)) return undefined;
    const parts = this.#sql.exec<{ data: string }>("SELECT data FROM parts WHERE response_id = ? ORDER BY n", id).toArray();
    return JSON.parse(parts.map((p) => p.data).join("")) as StoredResponse;
  }

  #remove(id: string): void {
    this.#sql.exec("DELETE FROM responses WHERE id = ?", id);
    this.#sql.exec("DELETE FROM parts WHERE response_id = ?", id);
    this.#sql.exec("DELETE FROM items WHERE response_id = ?", id);
  }
}
