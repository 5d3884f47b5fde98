import { DurableObject } from "cloudflare:workers";
import type { Admission, KeyLedger, UsageEntry, UsageRow } from "../ops/types.ts";

/**
 * One named key's counters, on a Durable Object with SQLite storage (one
 * object per key name). A Durable Object runs one call at a time and every
 * method here is synchronous SQL between its `await`-free start and end, so
 * the counts are exact however many isolates and concurrent requests ask:
 * 10 parallel requests against a limit of 3 get exactly 3 admissions.
 *
 * - requests per minute: a sliding window, one row per admitted request in
 *   the last 60 s (at most the limit's worth of rows);
 * - tokens per day and `GET /v1/usage`: one row per UTC date and model, with
 *   the sums of its responses; `tokens_per_day` compares input + output
 *   tokens of the current UTC date;
 * - ownership: one row per id a Responses upstream created for this key
 *   (responses, conversations), so another key's request naming it is a 404
 *   (worker/ops/ownership.ts). A lookup is one primary-key read in this key's
 *   own object: nothing scans other keys' ids, and no new class is needed.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
/** Usage rows older than this many days are dropped as new ones are written. */
const KEEP_DAYS = 400;

function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export class KeyLimitsObject extends DurableObject {
  #ready = false;

  get #sql(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (this.#ready) return sql;
    sql.exec(`
      CREATE TABLE IF NOT EXISTS admitted (at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS owned (id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS usage (date TEXT NOT NULL, model TEXT NOT NULL, requests INTEGER NOT NULL, input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cached_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, PRIMARY KEY (date, model));
    `);
    this.#ready = true;
    return sql;
  }

  /** Today's tokens first (a request refused for its budget takes no slot of the minute), then the minute's window. */
  async admit(limits: { requestsPerMinute?: number | undefined; tokensPerDay?: number | undefined }): Promise<Admission> {
    const now = Date.now();
    const sql = this.#sql;
    if (limits.tokensPerDay !== undefined) {
      const used = sql.exec<{ used: number }>("SELECT COALESCE(SUM(input_tokens + output_tokens), 0) AS used FROM usage WHERE date = ?", utcDate(now)).one().used;
      if (used >= limits.tokensPerDay) return { ok: false, limit: "tokens", max: limits.tokensPerDay, used, resetMs: (Math.floor(now / DAY) + 1) * DAY - now };
    }
    if (limits.requestsPerMinute !== undefined) {
      sql.exec("DELETE FROM admitted WHERE at <= ?", now - MINUTE);
      const { n, oldest } = sql.exec<{ n: number; oldest: number | null }>("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM admitted").one();
      if (n >= limits.requestsPerMinute) return { ok: false, limit: "requests", max: limits.requestsPerMinute, resetMs: Math.max(1, (oldest ?? now) + MINUTE - now) };
      sql.exec("INSERT INTO admitted (at) VALUES (?)", now);
    }
    return { ok: true };
  }

  async record(entry: UsageEntry): Promise<void> {
    const now = Date.now();
    const sql = this.#sql;
    sql.exec(
      `INSERT INTO usage (date, model, requests, input_tokens, output_tokens, cached_tokens, reasoning_tokens) VALUES (?, ?, 1, ?, ?, ?, ?)
       ON CONFLICT (date, model) DO UPDATE SET requests = requests + 1, input_tokens = input_tokens + excluded.input_tokens,
         output_tokens = output_tokens + excluded.output_tokens, cached_tokens = cached_tokens + excluded.cached_tokens, reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens`,
      utcDate(now),
      entry.model,
      entry.input_tokens,
      entry.output_tokens,
      entry.cached_tokens,
      entry.reasoning_tokens,
    );
    sql.exec("DELETE FROM usage WHERE date < ?", utcDate(now - KEEP_DAYS * DAY));
  }

  async remember(ids: string[]): Promise<void> {
    const now = Date.now();
    for (const id of ids) this.#sql.exec("INSERT OR IGNORE INTO owned (id, at) VALUES (?, ?)", id, now);
  }

  async owned(ids: string[]): Promise<string[]> {
    const sql = this.#sql;
    return ids.filter((id) => sql.exec("SELECT 1 FROM owned WHERE id = ?", id).toArray().length > 0);
  }

  async usage(): Promise<UsageRow[]> {
    return this.#sql.exec<UsageRow & Record<string, SqlStorageValue>>("SELECT date, model, requests, input_tokens, output_tokens, cached_tokens, reasoning_tokens FROM usage ORDER BY date, model").toArray();
  }
}

/** The `KeyLedger` of one key name, over the namespace: creating the stub asks nothing; each call is one round trip. */
export function keyLedger(namespace: DurableObjectNamespace<KeyLimitsObject>, name: string): KeyLedger {
  const stub = namespace.get(namespace.idFromName(`key:${name}`));
  return {
    admit: (limits) => stub.admit(limits) as Promise<Admission>,
    record: (entry) => stub.record(entry),
    usage: () => stub.usage() as Promise<UsageRow[]>,
    remember: (ids) => stub.remember(ids),
    owned: (ids) => stub.owned(ids) as Promise<string[]>,
  };
}
