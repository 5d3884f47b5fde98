import { DurableObject } from "cloudflare:workers";
import { parseResponsesRequest, type ResponseResource } from "../../src/index.ts";
import { presentedKey } from "../auth.ts";
import { configFromEnv } from "../config.ts";
import type { Env } from "../env.ts";
import { handle } from "../router.ts";
import { failedResponse, frameOf, isTerminalStatus, queuedResponse, TERMINAL_EVENTS } from "../run/background.ts";
import { EventLog, type Frame, type LogRow, type LogRows } from "../run/event-log.ts";
import type { BackgroundRunRpc } from "./background-runs.ts";
import { platformFor } from "./platform.ts";

/**
 * One background run (`background: true`) per object, named by the credential's partition and the
 * response id (background-runs.ts). The object runs the response itself: it sends the request through
 * the Worker's own `handle` (same auth, fallbacks, conversion, and the store write when it ends),
 * marked as the run (`backgroundRun`), whose events come straight into a sink (no SSE to encode and
 * parse again). Its `create` already refused what the foreground refuses and admitted it against the
 * key's limits (routes/background.ts): the run does not count it again. The events go to SQLite in batches (run/event-log.ts: one row per batch,
 * never one write per delta), and every reader (`events`) replays from its `starting_after`, then
 * follows live, served written events only (so a restart never takes back one it saw).
 *
 * The run lives in this object, not in the client's request: it keeps going after every reader has
 * left, for as long as the upstream streams (the `durable_object_io_tasks_prevent_eviction`
 * compatibility flag keeps an object with a pending fetch alive without a connected client). An
 * interrupted run (the object evicted or reset, a deploy) cannot resume its upstream request: the
 * next look at it (any call, or the heartbeat alarm armed while it runs) finds it unfinished with
 * nothing running in this instance, and ends it `failed`, saying so.
 *
 * After the run the object keeps its state and events as long as a stored response is kept
 * (`STORE_RETENTION_DAYS` from the end), then its alarm deletes everything.
 */

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS run (id TEXT PRIMARY KEY, status TEXT NOT NULL, response TEXT NOT NULL, retention INTEGER NOT NULL, expires_at INTEGER) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS log (first INTEGER NOT NULL, part INTEGER NOT NULL, last INTEGER NOT NULL, final INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (first, part)) WITHOUT ROWID;
`;

/** While a run goes, the alarm looks this often whether it still runs (after a restart it does not: it is ended `failed`). */
const HEARTBEAT_MS = 30_000;
/** A final Response longer than this is read back from its terminal event's rows rather than kept again in `run`. */
const RESPONSE_CHARS = 500_000;

interface RunRow {
  id: string;
  status: string;
  response: string;
  retention: number;
  expires_at: number | null;
  [key: string]: SqlStorageValue;
}

/** The run going on in this instance. */
interface Live {
  id: string;
  controller: AbortController;
  cancelled: boolean;
  done: Promise<void>;
  credential: string | null;
  /** The items finished so far (what a cancelled response holds when the store has nothing newer). */
  output: unknown[];
  snapshot: ResponseResource;
}

const dataOf = (text: string) => text.slice(text.indexOf("\ndata: ") + 7, -2);

export class BackgroundRunObject extends DurableObject implements BackgroundRunRpc {
  #ready = false;
  #log: EventLog | null = null;
  #live: Live | null = null;

  get #sql(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (!this.#ready) {
      sql.exec(SCHEMA);
      this.#ready = true;
    }
    return sql;
  }

  /** The run's state; undefined for an object that never ran one (asked about any unknown id: it stays without storage). */
  #row(): RunRow | undefined {
    if (!this.#ready && !this.ctx.storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run'").toArray().length) return undefined;
    return this.#sql.exec<RunRow>("SELECT * FROM run").toArray()[0];
  }

  #rows(): LogRows {
    const sql = this.#sql;
    type Row = { first: number; part: number; last: number; final: number; text: string; [key: string]: SqlStorageValue };
    const out = (r: Row): LogRow => ({ first: r.first, part: r.part, last: r.last, final: r.final === 1, text: r.text });
    return {
      write: (rows) =>
        this.ctx.storage.transactionSync(() => {
          for (const r of rows) sql.exec("INSERT INTO log (first, part, last, final, text) VALUES (?, ?, ?, ?, ?)", r.first, r.part, r.last, r.final ? 1 : 0, r.text);
        }),
      after: (key, delivered, limit) =>
        sql
          .exec<Row>("SELECT * FROM log WHERE (first, part) > (?, ?) AND last > ? ORDER BY first, part LIMIT ?", key[0], key[1], delivered, limit)
          .toArray()
          .map(out),
    };
  }

  /** The log, as stored (after a restart) or as this instance keeps it. */
  get #events(): EventLog {
    if (this.#log) return this.#log;
    const last = this.#sql.exec<{ n: number | null }>("SELECT MAX(last) AS n FROM log WHERE final = 1").one().n ?? -1;
    const finished = isTerminalStatus(this.#row()?.status);
    const schedule = (fn: () => void, ms: number) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    };
    return (this.#log = new EventLog(this.#rows(), last, finished, { schedule }));
  }

  /** The run, unless unknown or expired; an unfinished run nothing here is running any more ends `failed` first. */
  async #look(): Promise<RunRow | undefined> {
    let row = this.#row();
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= Date.now()) return undefined;
    if (!isTerminalStatus(row.status) && !this.#live) {
      const last = this.#events.last;
      const message = `The background run was interrupted: the Durable Object running it was restarted (evicted, or a deploy) before the upstream finished, after event ${last}. Create the response again.`;
      await this.#end(failedResponse(JSON.parse(row.response) as ResponseResource, "server_error", message), "response.failed", row);
      row = this.#row();
    }
    return row;
  }

  async start(id: string, body: string, headers: Array<[string, string]>, retentionMs: number): Promise<string> {
    const existing = this.#row();
    if (existing) return existing.response;
    const queued = queuedResponse(id, parseResponsesRequest(body), Math.floor(Date.now() / 1000));
    const response = JSON.stringify(queued);
    this.#sql.exec("INSERT INTO run (id, status, response, retention, expires_at) VALUES (?, 'queued', ?, ?, NULL)", id, response, retentionMs);
    await this.ctx.storage.setAlarm(Date.now() + HEARTBEAT_MS);
    const live: Live = { id, controller: new AbortController(), cancelled: false, done: Promise.resolve(), credential: presentedKey(new Headers(headers)), output: [], snapshot: queued };
    this.#live = live;
    live.done = this.#execute(live, body, headers).catch(async (e: unknown) => {
      console.error(`responses-bridge: background run ${id} failed unexpectedly: ${String((e as Error)?.message ?? e)}`);
      if (!this.#events.finished) await this.#end(failedResponse(live.snapshot, "server_error", "The background run failed unexpectedly; see the Worker's logs."), "response.failed");
    });
    this.ctx.waitUntil(live.done);
    return response;
  }

  /** Runs the request through the Worker's own pipeline, as the run itself, its events into the log. */
  async #execute(live: Live, body: string, headers: Array<[string, string]>): Promise<void> {
    const env = this.env as unknown as Env;
    const config = configFromEnv(env);
    const request = new Request("https://background.run/v1/responses", { method: "POST", headers, body: JSON.stringify({ ...(JSON.parse(body) as object), stream: true }), signal: live.controller.signal });
    let seq = 0;
    const sink = { event: (type: string, json: string) => this.#take(live, { seq: seq++, type, text: `event: ${type}\ndata: ${json}\n\n` }) };
    const platform = { ...platformFor(env, config.retentionMs, (p) => this.ctx.waitUntil(p)), backgroundRun: { id: live.id, sink, createdAt: live.snapshot.created_at, admitted: true } };
    const answer = await handle(request, config, (input, init) => fetch(input, init), platform);
    if (!answer.ok) {
      // Refused before it began (the upstream's HTTP error; or a request `create` accepted that no longer holds, e.g. its
      // previous response deleted meanwhile): the run fails with that error. `create` refused the rest (routes/background.ts).
      const error = ((await answer.json().catch(() => null)) as { error?: { code?: string | null; type?: string; message?: string } } | null)?.error;
      if (live.cancelled) return this.#cancelled(live);
      return this.#end(failedResponse(live.snapshot, error?.code ?? error?.type ?? "server_error", error?.message ?? `The run was refused with HTTP ${answer.status}.`), "response.failed");
    } else await answer.body?.cancel();
    if (this.#events.finished) return;
    if (live.cancelled) return this.#cancelled(live);
    await this.#end(failedResponse(live.snapshot, "server_error", "The run ended without a terminal event."), "response.failed");
  }

  /** Logs one event (and follows the run's state in it). */
  #take(live: Live, f: Frame): void {
    if (live.cancelled || this.#events.finished) return;
    let terminal: ResponseResource | null = null;
    // The run's first events (`response.created`, `response.queued`) say what `create` answered: queued (the converter
    // writes them so for a `background: true` request), until `response.in_progress`.
    if (f.type === "response.in_progress") {
      live.snapshot = (JSON.parse(dataOf(f.text)) as { response: ResponseResource }).response;
      this.#sql.exec("UPDATE run SET status = 'in_progress', response = ?", JSON.stringify(live.snapshot));
    } else if (f.type === "response.output_item.done") {
      live.output.push((JSON.parse(dataOf(f.text)) as { item: unknown }).item);
    } else if (TERMINAL_EVENTS.has(f.type)) {
      terminal = (JSON.parse(dataOf(f.text)) as { response: ResponseResource }).response;
    }
    this.#events.append([f]);
    if (terminal) this.#finish(terminal);
  }

  /** The run is over: its events stored, its state final, kept as long as stored responses are. */
  #finish(response: ResponseResource, row = this.#row()): void {
    this.#events.finish();
    const json = JSON.stringify(response);
    const expires = Date.now() + (row?.retention ?? 30 * 86_400_000);
    this.#sql.exec("UPDATE run SET status = ?, response = ?, expires_at = ?", response.status, json.length <= RESPONSE_CHARS ? json : "", expires);
    this.#live = null;
    void this.ctx.storage.setAlarm(expires);
  }

  /** Ends the run with an event of its own (an interruption, a refusal, a cancel): the next number, then finished. */
  async #end(response: ResponseResource, type: string, row = this.#row()): Promise<void> {
    const log = this.#events;
    if (log.finished) return;
    if (log.last < 0) {
      // Ended before its first event (refused, cancelled or interrupted while waiting for the upstream): its stream
      // still begins as every background stream does, with the Response `create` answered.
      const queued = { ...response, status: "queued", error: null, output: [] } as ResponseResource;
      log.append(["response.created", "response.queued"].map((t, i) => ({ seq: i, type: t, text: frameOf(t, i, { response: queued }) })));
    }
    const seq = log.last + 1;
    log.append([{ seq, type, text: frameOf(type, seq, { response }) }]);
    this.#finish(response, row);
  }

  /**
   * A cancelled run: the store tells how it really ended. Its terminal event may have left the
   * converter (and been stored, which it waits for) before the cancel stopped this reader; then that
   * ending stands. Otherwise it is `cancelled`, as the store records it (or as far as this object saw).
   */
  async #cancelled(live: Live): Promise<void> {
    const env = this.env as unknown as Env;
    const store = platformFor(env, 0, (p) => this.ctx.waitUntil(p)).storeFor?.(live.credential);
    let stored: ResponseResource | undefined;
    // Nothing is recorded for a run cancelled before its first event (still waiting for the upstream's headers).
    const began = this.#events.last >= 0;
    for (let i = 0; store && began && i < 20; i++) {
      stored = await store.get(live.id).catch(() => undefined);
      if (stored && isTerminalStatus(stored.status)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (stored && isTerminalStatus(stored.status)) return this.#end(stored, `response.${stored.status}`);
    return this.#end({ ...live.snapshot, status: "cancelled", output: live.output } as ResponseResource, "response.cancelled");
  }

  /** The Response as it stands; from the terminal event's rows when it was too long to keep twice. */
  #response(row: RunRow): string {
    if (row.response !== "") return row.response;
    const last = this.#events.last;
    const text = this.#sql.exec<{ text: string }>("SELECT text FROM log WHERE first = ? ORDER BY part", last).toArray().map((r) => r.text).join("");
    return JSON.stringify((JSON.parse(dataOf(text.slice(text.lastIndexOf("event: ")))) as { response: unknown }).response);
  }

  async get(): Promise<string | null> {
    const row = await this.#look();
    if (!row) return null;
    // While it runs: its state, with the items finished so far.
    const live = this.#live;
    if (live && !isTerminalStatus(row.status)) return JSON.stringify({ ...(JSON.parse(row.response) as ResponseResource), output: live.output });
    return this.#response(row);
  }

  async events(startingAfter: number): Promise<ReadableStream<Uint8Array> | null> {
    if (!(await this.#look())) return null;
    const chunks = this.#events.read(startingAfter);
    const encoder = new TextEncoder();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(next.value));
      },
      // A reader that leaves stops only itself.
      cancel() {
        void chunks.return(undefined);
      },
    });
  }

  async cancel(): Promise<string | null> {
    const row = await this.#look();
    if (!row) return null;
    const live = this.#live;
    if (live && !isTerminalStatus(row.status)) {
      live.cancelled = true;
      live.controller.abort(new Error("cancelled"));
      await live.done;
    }
    const now = this.#row();
    return now ? this.#response(now) : null;
  }

  async delete(): Promise<boolean> {
    if (!this.#row()) return false;
    if (this.#live) await this.cancel();
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#ready = false;
    this.#log = null;
    return true;
  }

  override async alarm(): Promise<void> {
    const row = this.#row();
    if (!row) return;
    if (row.expires_at !== null && row.expires_at <= Date.now()) {
      await this.ctx.storage.deleteAll();
      this.#ready = false;
      this.#log = null;
      return;
    }
    await this.#look();
    const now = this.#row();
    await this.ctx.storage.setAlarm(now?.expires_at ?? Date.now() + HEARTBEAT_MS);
  }
}
