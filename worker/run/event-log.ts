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
 * - A reader reads rows after the last it took, then the pending frames, then waits for more; it skips
 *   whatever it already delivered (a frame it took from `pending` reappears in a row once flushed).
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
  rowChars?: number;
  /** A reader waiting this long (ms) for the next event gets a `: keep-alive` comment, so no proxy drops a quiet stream. */
  keepAliveMs?: number;
  /** Runs `fn` after `ms` (setTimeout); returns a cancel function. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

const DEFAULTS = { flushChars: 64 * 1024, flushMs: 250, rowChars: 500_000, keepAliveMs: 15_000 };

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

export class EventLog {
  readonly #rows: LogRows;
  readonly #options: Required<Omit<LogOptions, "schedule">> & Pick<LogOptions, "schedule">;
  #pending: Frame[] = [];
  #pendingChars = 0;
  #cancelTimer: (() => void) | null = null;
  #last: number;
  /** The last event in storage (the pending ones follow it). */
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

  /** Appends frames (numbered `last + 1…`) and wakes the readers; stores them when the batch is full or old enough. */
  append(frames: readonly Frame[]): void {
    if (this.#finished || !frames.length) return;
    for (const f of frames) {
      if (f.seq !== this.#last + 1) throw new Error(`event ${f.seq} appended after ${this.#last}: the log keeps consecutive events`);
      this.#last = f.seq;
      this.#pending.push(f);
      this.#pendingChars += f.text.length;
    }
    if (this.#pendingChars >= this.#options.flushChars) this.flush();
    else if (!this.#cancelTimer && this.#options.schedule) this.#cancelTimer = this.#options.schedule(() => this.flush(), this.#options.flushMs);
    this.#notify();
  }

  /** Stores the pending frames as rows (one write). */
  flush(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = null;
    if (!this.#pending.length) return;
    this.#rows.write(rowsOf(this.#pending, this.#options.rowChars));
    this.#stored = this.#pending.at(-1)!.seq;
    this.#pending = [];
    this.#pendingChars = 0;
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

  /** True when something was appended; false when the keep-alive time passed first (one timer per log, not per reader). */
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
   * Every event after `startingAfter`, then each new one as it comes, until the terminal event: as
   * text chunks, at most a page of rows at a time (a long log is never held whole). Cancelling it
   * (the reader left) stops nothing but itself.
   */
  async *read(startingAfter: number, pageRows = 16): AsyncGenerator<string> {
    // A reader of a finished run that asks for events after more than the log holds saw events it lost (the unwritten
    // batch of a run interrupted by a restart, which then ended `failed` numbered after what was stored): it gets the
    // terminal event, so it learns how the run ended instead of a stream closing with none.
    let delivered = this.#finished && startingAfter > this.#last ? this.#last - 1 : startingAfter;
    let key: readonly [number, number] = [-1, -1];
    for (;;) {
      // Storage only while it holds something this reader has not had: a live follower reads memory alone.
      const rows = delivered < this.#stored ? this.#rows.after(key, delivered, pageRows) : [];
      if (rows.length) {
        let text = "";
        for (const row of rows) {
          key = [row.first, row.part];
          if (!row.final || row.part > 0) {
            // A part of one long frame: all or nothing, by that frame's number.
            if (row.first > delivered) text += row.text;
            if (row.final) delivered = Math.max(delivered, row.first);
            continue;
          }
          text += framesAfter(row, delivered);
          delivered = Math.max(delivered, row.last);
          if (text.length >= CHUNK_CHARS) {
            yield text;
            text = "";
          }
        }
        if (text) yield text;
        continue;
      }
      // The pending frames are consecutive from `#stored + 1`.
      const from = Math.max(0, delivered - this.#stored);
      if (from < this.#pending.length) {
        const fresh = this.#pending.slice(from);
        delivered = fresh.at(-1)!.seq;
        let text = "";
        for (const f of fresh) text += f.text;
        yield text;
        continue;
      }
      if (this.#finished && delivered >= this.#last) return;
      if (!(await this.#changed())) yield KEEP_ALIVE;
    }
  }
}
