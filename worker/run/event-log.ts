/**
 * The event log of a background run (internal to the Worker): the run's SSE frames, numbered by their
 * `sequence_number`, kept in rows written in batches, and read back by any number of readers, each
 * from its own `starting_after`, each frame exactly once and in order, live ones included.
 *
 * Pure: the rows live behind `LogRows` (SQLite in the Durable Object, an array in a test), the flush
 * timer behind `schedule`. Nothing here knows Cloudflare.
 *
 * Rules:
 * - A frame is `event: <type>\ndata: <json>\n\n`; `JSON.stringify` never writes a raw line break, so
 *   `\n\n` ends frames and nothing else. Comments (`: keep-alive`) are not events and are not kept.
 * - Frames are numbered consecutively (the emitter numbers every event it writes): frame i of a row
 *   whose first frame is `first` is event `first + i`.
 * - Frames wait in memory (`pending`) and go to storage as one row per batch: when the batch reaches
 *   `flushChars`, when `flushMs` has passed since its first frame, or at the end. A row holds at most
 *   `rowChars` characters; one frame longer than that is split into parts (`part` 0, 1, …; `final` on
 *   the last), so no stored value nears SQLite's 2 MB.
 * - Readers get written frames only, never pending ones: whatever a reader saw survives a restart of the
 *   object (which loses the pending frames and ends the run after the last written one), so no
 *   `sequence_number` a reader had is ever reused for another event. A reader waiting at the written end
 *   has the pending batch written within `readerFlushMs` (a prompt flush), so following live stays
 *   near-real-time; with no reader waiting, batches keep their size and age.
 * - The last written batch stays in memory (up to `keepChars`), so a live follower reads no row back.
 * - A reader reads rows after the last it took (or the last written batch from memory), then waits for
 *   the next write.
 */

/** A stored row: consecutive frames `first…last`, or one part of a frame too long for a row (`first === last`). */
export interface LogRow {
  first: number;
  part: number;
  last: number;
  /** Whether this row ends its last frame (false only for a leading part of a split frame). */
  final: boolean;
  text: string;
}

/** Where rows are kept. */
export interface LogRows {
  /** Appends rows (one transaction): never one write per frame. */
  write(rows: LogRow[]): void;
  /** Up to `limit` rows after the row `(first, part)` (`[-1, -1]`: from the start) holding an event after `delivered` (`last > delivered`), in order. */
  after(key: readonly [number, number], delivered: number, limit: number): LogRow[];
}

export interface Frame {
  seq: number;
  type: string;
  text: string;
}

export interface LogOptions {
  flushChars?: number;
  flushMs?: number;
  /** A reader waiting at the written end has the pending frames written after at most this long (ms). */
  readerFlushMs?: number;
  rowChars?: number;
  /** The last written batch is kept in memory to serve readers while it holds at most this many characters. */
  keepChars?: number;
  /** A reader waiting this long (ms) for the next event gets a `: keep-alive` comment, so no proxy drops a quiet stream. */
  keepAliveMs?: number;
  /** Runs `fn` after `ms` (setTimeout); returns a cancel function. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

const DEFAULTS = { flushChars: 64 * 1024, flushMs: 250, readerFlushMs: 20, rowChars: 500_000, keepChars: 256 * 1024, keepAliveMs: 15_000 };

/** What a reader sends while the run is quiet (not an event: never logged, never numbered). */
export const KEEP_ALIVE = ": keep-alive\n\n";

/** A replay is handed on in chunks of about this many characters (the first one soon, none of them large). */
const CHUNK_CHARS = 64 * 1024;

/** The frames of a row's text after event `delivered` (rows of several frames: frame i is `first + i`). */
export function framesAfter(row: LogRow, delivered: number): string {
  if (row.first > delivered) return row.text;
  if (row.last <= delivered) return "";
  let at = 0;
  for (let seq = row.first; seq <= delivered; seq++) at = row.text.indexOf("\n\n", at) + 2;
  return row.text.slice(at);
}

/** The rows of one batch of frames: consecutive frames up to `rowChars` a row, a longer frame in parts. */
export function rowsOf(frames: readonly Frame[], rowChars: number): LogRow[] {
  const rows: LogRow[] = [];
  let open: LogRow | null = null;
  for (const f of frames) {
    if (f.text.length > rowChars) {
      open = null;
      for (let part = 0, at = 0; at < f.text.length; part++, at += rowChars) {
        rows.push({ first: f.seq, part, last: f.seq, final: at + rowChars >= f.text.length, text: f.text.slice(at, at + rowChars) });
      }
      continue;
    }
    if (open && open.text.length + f.text.length <= rowChars) {
      open.text += f.text;
      open.last = f.seq;
      continue;
    }
    open = { first: f.seq, part: 0, last: f.seq, final: true, text: f.text };
    rows.push(open);
  }
  return rows;
}

/** A page of stored rows after the reader's place `at` (advanced as they are taken), as text chunks of about `CHUNK_CHARS`. */
function* chunksOf(rows: readonly LogRow[], at: { key: readonly [number, number]; delivered: number }): Generator<string> {
  let text = "";
  for (const row of rows) {
    at.key = [row.first, row.part];
    if (!row.final || row.part > 0) {
      // A part of one long frame: all or nothing, by that frame's number.
      if (row.first > at.delivered) text += row.text;
      if (row.final) at.delivered = Math.max(at.delivered, row.first);
      continue;
    }
    text += framesAfter(row, at.delivered);
    at.delivered = Math.max(at.delivered, row.last);
    if (text.length >= CHUNK_CHARS) {
      yield text;
      text = "";
    }
  }
  if (text) yield text;
}

export class EventLog {
  readonly #rows: LogRows;
  readonly #options: Required<Omit<LogOptions, "schedule">> & Pick<LogOptions, "schedule">;
  #pending: Frame[] = [];
  #pendingChars = 0;
  /** The last written batch (consecutive, ending at `#stored`), to serve readers without a read; empty when it was too long to keep. */
  #written: Frame[] = [];
  #cancelTimer: (() => void) | null = null;
  /** Whether the flush timer is a waiting reader's prompt one (not the batch's age). */
  #prompt = false;
  #last: number;
  /** The last event in storage (the pending ones follow it): readers get no further. */
  #stored: number;
  #finished: boolean;
  #wake: Array<(changed: boolean) => void> = [];
  #cancelKeepAlive: (() => void) | null = null;

  /** `last`: the last event already stored (-1: none); `finished`: the terminal event is among them. */
  constructor(rows: LogRows, last: number, finished: boolean, options: LogOptions = {}) {
    this.#rows = rows;
    this.#options = { ...DEFAULTS, ...options };
    this.#last = last;
    this.#stored = last;
    this.#finished = finished;
  }

  /** The last event appended (stored or pending); -1 before the first. */
  get last(): number {
    return this.#last;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** Appends frames (numbered `last + 1…`); stores them when the batch is full or old enough, or soon when a reader waits for them. */
  append(frames: readonly Frame[]): void {
    if (this.#finished || !frames.length) return;
    for (const f of frames) {
      if (f.seq !== this.#last + 1) throw new Error(`event ${f.seq} appended after ${this.#last}: the log keeps consecutive events`);
      this.#last = f.seq;
      this.#pending.push(f);
      this.#pendingChars += f.text.length;
    }
    if (this.#pendingChars >= this.#options.flushChars) this.flush();
    else if (this.#wake.length) this.#soon();
    else if (!this.#cancelTimer && this.#options.schedule) this.#cancelTimer = this.#options.schedule(() => this.flush(), this.#options.flushMs);
  }

  /** A reader waits at the written end: the pending frames are written within `readerFlushMs` (one timer, whoever waits). */
  #soon(): void {
    if (!this.#pending.length || this.#prompt || !this.#options.schedule) return;
    this.#cancelTimer?.();
    this.#prompt = true;
    this.#cancelTimer = this.#options.schedule(() => this.flush(), this.#options.readerFlushMs);
  }

  /** Stores the pending frames as rows (one write), then wakes the readers. */
  flush(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    this.#prompt = false;
    if (!this.#pending.length) return;
    this.#rows.write(rowsOf(this.#pending, this.#options.rowChars));
    this.#stored = this.#pending.at(-1)!.seq;
    this.#written = this.#pendingChars <= this.#options.keepChars ? this.#pending : [];
    this.#pending = [];
    this.#pendingChars = 0;
    this.#notify();
  }

  /** The terminal event is in: stores everything, and readers close once they have it. */
  finish(): void {
    this.flush();
    this.#finished = true;
    this.#cancelKeepAlive?.();
    this.#cancelKeepAlive = null;
    this.#notify();
  }

  #notify(changed = true): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w(changed);
  }

  /** True when something was written; false when the keep-alive time passed first (one timer per log, not per reader). */
  #changed(): Promise<boolean> {
    if (!this.#cancelKeepAlive && this.#options.schedule) {
      this.#cancelKeepAlive = this.#options.schedule(() => {
        this.#cancelKeepAlive = null;
        this.#notify(false);
      }, this.#options.keepAliveMs);
    }
    return new Promise((resolve) => this.#wake.push(resolve));
  }

  /**
   * Every event after `startingAfter`, then each new one as it is written, until the terminal event: as
   * text chunks, at most a page of rows at a time (a long log is never held whole). Only written events
   * (see the rules above). Cancelling it (the reader left) stops nothing but itself.
   */
  async *read(startingAfter: number, pageRows = 16): AsyncGenerator<string> {
    // A reader of a finished run asking for events after its end gets the terminal event, so it learns how the run
    // ended instead of a stream closing with none.
    let delivered = this.#finished && startingAfter > this.#last ? this.#last - 1 : startingAfter;
    let key: readonly [number, number] = [-1, -1];
    for (;;) {
      if (delivered < this.#stored) {
        const batch = this.#written;
        // (Not while halfway through a long frame's parts: `key` is then past `delivered`.)
        if (batch.length && delivered >= batch[0]!.seq - 1 && key[0] <= delivered) {
          // The last written batch, from memory: a live follower reads no row back.
          let text = "";
          for (const f of batch) if (f.seq > delivered) text += f.text;
          delivered = batch.at(-1)!.seq;
          key = [delivered, Number.MAX_SAFE_INTEGER];
          yield text;
          continue;
        }
        const rows = this.#rows.after(key, delivered, pageRows);
        // No rows below what was stored: the run was deleted meanwhile; its stream ends.
        if (!rows.length) return;
        const at = { key, delivered };
        yield* chunksOf(rows, at);
        ({ key, delivered } = at);
        continue;
      }
      if (this.#finished && delivered >= this.#last) return;
      this.#soon();
      if (!(await this.#changed())) yield KEEP_ALIVE;
    }
  }
}
