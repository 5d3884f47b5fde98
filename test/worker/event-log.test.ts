import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventLog, type Frame, framesAfter, KEEP_ALIVE, type LogRow, type LogRows, rowsOf } from "../../worker/run/event-log.ts";

const frame = (seq: number, data = "x"): Frame => ({ seq, type: "response.output_text.delta", text: `event: response.output_text.delta\ndata: {"delta":${JSON.stringify(data)},"sequence_number":${seq}}\n\n` });

/** The rows in memory, as SQLite keeps them (ordered by first, part), counting writes. */
function memoryRows(): LogRows & { rows: LogRow[]; writes: number } {
  const store = {
    rows: [] as LogRow[],
    writes: 0,
    write(rows: LogRow[]) {
      store.writes++;
      store.rows.push(...rows.map((r) => ({ ...r })));
    },
    after(key: readonly [number, number], delivered: number, limit: number) {
      return store.rows.filter((r) => (r.first > key[0] || (r.first === key[0] && r.part > key[1])) && r.last > delivered).slice(0, limit);
    },
  };
  return store;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A virtual clock for the log's timers: `advance` runs what falls due, in order. */
function clock() {
  let now = 0;
  const timers = new Set<{ at: number; ms: number; fn: () => void }>();
  return {
    timers,
    schedule(fn: () => void, ms: number) {
      const t = { at: now + ms, ms, fn };
      timers.add(t);
      return () => void timers.delete(t);
    },
    advance(ms: number) {
      const end = now + ms;
      for (let due = [...timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0]; due; due = [...timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0]) {
        timers.delete(due);
        now = due.at;
        due.fn();
      }
      now = end;
    },
  };
}

/** A reader of `log` from `after`, taking whatever is ready when asked (it waits for more once caught up). */
function follower(log: EventLog, after: number) {
  const gen = log.read(after, 2);
  let pending = gen.next();
  const r = {
    after,
    got: "",
    done: false,
    async take() {
      for (let n = 0; n < 1_000 && !r.done; n++) {
        const next = await Promise.race([pending, new Promise<null>((res) => setTimeout(() => res(null), 0))]);
        if (next === null) return;
        if (next.done) r.done = true;
        else {
          if (next.value !== KEEP_ALIVE) r.got += next.value;
          pending = gen.next();
        }
      }
    },
    stop: () => void gen.return(undefined),
  };
  return r;
}

const terminal = (seq: number, type = "response.failed"): Frame => ({ seq, type, text: `event: ${type}\ndata: {"type":"${type}","sequence_number":${seq}}\n\n` });
const seqsOf = (text: string) => [...text.matchAll(/"sequence_number":(\d+)/g)].map((m) => Number(m[1]));
/** The frames of `text` (a log's replay) after event `after`. */
const framesIn = (text: string, after: number) => text.split(/(?<=\n\n)/).filter((f) => f && seqsOf(f)[0]! > after).join("");
/** The last event the rows hold whole (what a new instance of the object finds). */
const writtenEnd = (rows: LogRow[]) => Math.max(-1, ...rows.filter((r) => r.final).map((r) => r.last));

async function drain(it: AsyncGenerator<string>): Promise<string> {
  let s = "";
  for await (const chunk of it) s += chunk;
  return s;
}

describe("event log", () => {
  it("keeps batches as rows below the row limit, and a frame longer than a row in parts", () => {
    const big = frame(2, "z".repeat(2_500));
    const rows = rowsOf([frame(0), frame(1), big, frame(3)], 1_000);
    expect(rows.map((r) => [r.first, r.part, r.last, r.final])).toEqual([[0, 0, 1, true], [2, 0, 2, false], [2, 1, 2, false], [2, 2, 2, true], [3, 0, 3, true]]);
    for (const r of rows) expect(r.text.length).toBeLessThanOrEqual(1_000);
    expect(rows.slice(1, 4).map((r) => r.text).join("")).toBe(big.text);
    expect(framesAfter(rows[0]!, 0)).toBe(frame(1).text);
    expect(framesAfter(rows[0]!, -1)).toBe(frame(0).text + frame(1).text);
    expect(framesAfter(rows[0]!, 1)).toBe("");
  });

  it("writes in batches, not one write per frame", () => {
    const rows = memoryRows();
    const log = new EventLog(rows, -1, false, { flushChars: 10_000, schedule: () => () => {} });
    for (let i = 0; i < 500; i++) log.append([frame(i)]);
    log.finish();
    expect(rows.writes).toBeLessThan(10);
    expect(rows.rows.map((r) => r.text).join("")).toBe(Array.from({ length: 500 }, (_x, i) => frame(i).text).join(""));
  });

  it("every reader, from any starting_after, gets each later frame exactly once and in order, whatever is stored or pending when", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 0, max: 300 }), flush: fc.boolean(), read: fc.boolean() }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: -1, max: 45 }),
        fc.integer({ min: 1, max: 4 }),
        async (steps, after, pageRows) => {
          const rows = memoryRows();
          const log = new EventLog(rows, -1, false, { flushChars: 400, rowChars: 120, schedule: () => () => {} });
          const reader = log.read(after, pageRows);
          let got = "";
          let pending = reader.next();
          const take = async () => {
            // Whatever is ready now (the reader waits for more when it has caught up).
            for (;;) {
              const r = await Promise.race([pending, new Promise<null>((res) => setTimeout(() => res(null), 0))]);
              if (r === null || r.done) return;
              got += r.value;
              pending = reader.next();
            }
          };
          const frames = steps.map((s, i) => frame(i, "d".repeat(s.size)));
          for (const [i, s] of steps.entries()) {
            log.append([frames[i]!]);
            if (s.flush) log.flush();
            if (s.read) await take();
          }
          log.finish();
          for (let r = await pending; !r.done; r = await reader.next()) got += r.value;
          expect(got).toBe(frames.filter((f) => f.seq > after).map((f) => f.text).join(""));
          // And a reader after the end replays the same from storage alone; one asking for more than the log holds gets its last event.
          const beyond = after > frames.length - 1;
          expect(await drain(log.read(after, pageRows))).toBe(beyond ? frames.at(-1)!.text : got);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a reader waiting through a quiet stretch gets a keep-alive comment, never numbered or stored", async () => {
    const c = clock();
    const rows = memoryRows();
    const log = new EventLog(rows, -1, false, { readerFlushMs: 20, keepAliveMs: 15_000, schedule: c.schedule });
    const reader = log.read(-1);
    log.append([frame(0)]);
    const first = reader.next();
    await sleep(0);
    c.advance(20); // the prompt flush of a waiting reader
    expect((await first).value).toBe(frame(0).text);
    const waiting = reader.next();
    await sleep(0);
    c.advance(15_000);
    expect((await waiting).value).toBe(KEEP_ALIVE);
    log.append([frame(1)]);
    log.finish();
    expect((await reader.next()).value).toBe(frame(1).text);
    expect((await reader.next()).done).toBe(true);
    expect(rows.rows.map((r) => r.text).join("")).toBe(frame(0).text + frame(1).text);
  });

  it("a reader gets only written events: a restart loses the unwritten batch, never one a reader saw", async () => {
    const rows = memoryRows();
    const before = new EventLog(rows, -1, false, { schedule: () => () => {} });
    const reader = follower(before, -1);
    for (let i = 0; i < 6; i++) before.append([frame(i)]);
    await reader.take();
    expect(reader.got).toBe(""); // appended, not yet written: not served
    before.flush(); // 0…5 stored
    await reader.take();
    expect(reader.got).toBe(Array.from({ length: 6 }, (_x, i) => frame(i).text).join(""));
    for (let i = 6; i < 9; i++) before.append([frame(i)]);
    await reader.take();
    expect(reader.got).toBe(Array.from({ length: 6 }, (_x, i) => frame(i).text).join("")); // 6…8 never stored, never seen
    // The restart: the object's next instance finds 0…5 and ends the run right after them, with a number nobody had.
    const after = new EventLog(rows, 5, false);
    after.append([terminal(6)]);
    after.finish();
    expect(await drain(after.read(5))).toBe(terminal(6).text);
    expect(await drain(after.read(3))).toBe(frame(4).text + frame(5).text + terminal(6).text);
    // One asking for events after the end of the finished run gets its terminal event.
    expect(await drain(after.read(8))).toBe(terminal(6).text);
    expect(await drain(after.read(6))).toBe("");
  });

  it("a reader waiting at the written end has the pending events written within readerFlushMs; with none waiting a batch keeps its age", async () => {
    const c = clock();
    const rows = memoryRows();
    const log = new EventLog(rows, -1, false, { flushMs: 250, readerFlushMs: 20, keepAliveMs: 60_000, schedule: c.schedule });
    log.append([frame(0)]);
    expect([...c.timers].map((t) => t.ms)).toEqual([250]);
    const reader = follower(log, -1);
    await reader.take();
    expect([...c.timers].map((t) => t.ms).sort((a, b) => a - b)).toEqual([20, 60_000]); // the batch's timer made prompt, and the keep-alive
    c.advance(19);
    await reader.take();
    expect(reader.got).toBe("");
    c.advance(1);
    await reader.take();
    expect(reader.got).toBe(frame(0).text);
    expect(rows.writes).toBe(1);
    // Waiting again: the next event is written 20 ms after it came, whoever waits (one timer for two readers).
    const second = follower(log, 0);
    await second.take();
    log.append([frame(1)]);
    expect([...c.timers].filter((t) => t.ms === 20)).toHaveLength(1);
    c.advance(20);
    await Promise.all([reader.take(), second.take()]);
    expect(reader.got).toBe(frame(0).text + frame(1).text);
    expect(second.got).toBe(frame(1).text);
    // Nobody waiting (both readers gone): a batch is written 250 ms after its first event, as before.
    reader.stop();
    second.stop();
    await Promise.all([reader.take(), second.take()]);
    const quiet = new EventLog(memoryRows(), -1, false, { flushMs: 250, readerFlushMs: 20, schedule: c.schedule });
    quiet.append([frame(0)]);
    quiet.append([frame(1)]);
    expect([...c.timers].filter((t) => t.ms === 20)).toHaveLength(0);
  });

  it("restarts at any point: whatever any reader saw survives, and the stream after the restart is continuous with no number reused", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ size: fc.integer({ min: 0, max: 300 }), flush: fc.boolean(), tick: fc.integer({ min: 0, max: 300 }), read: fc.boolean(), attach: fc.option(fc.integer({ min: -1, max: 45 }), { freq: 4 }) }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: -1, max: 45 }),
        fc.nat({ max: 45 }),
        async (steps, first, restartAt) => {
          const c = clock();
          const rows = memoryRows();
          const options = { flushChars: 400, rowChars: 120, keepChars: 300, flushMs: 250, readerFlushMs: 20, keepAliveMs: 5_000, schedule: c.schedule };
          const log = new EventLog(rows, -1, false, options);
          const readers = [follower(log, first)];
          const frames = steps.map((s, i) => frame(i, "d".repeat(s.size)));
          const written = (after: number) => frames.filter((f) => f.seq > after && f.seq <= writtenEnd(rows.rows)).map((f) => f.text).join("");
          const restarted = restartAt < steps.length;
          for (const [i, s] of steps.slice(0, restarted ? restartAt : steps.length).entries()) {
            log.append([frames[i]!]);
            if (s.flush) log.flush();
            if (s.attach !== null) readers.push(follower(log, s.attach));
            c.advance(s.tick);
            if (s.read) for (const r of readers) await r.take();
            // Nothing a reader has is unwritten.
            for (const r of readers) expect(written(r.after).startsWith(r.got)).toBe(true);
          }
          let end: EventLog = log;
          if (restarted) {
            // The instance is gone with its pending frames and its readers; the next one ends the run after what it finds.
            for (const r of readers) r.stop();
            const found = writtenEnd(rows.rows);
            end = new EventLog(rows, found, false, options);
            end.append([terminal(found + 1)]);
          } else log.append([terminal(frames.length, "response.completed")]);
          end.finish();
          const final = await drain(end.read(-1));
          expect(seqsOf(final)).toEqual(seqsOf(final).map((_x, i) => i));
          for (const r of readers) {
            // What it saw is a prefix of what survives; resuming after its last event gives the rest, each event once.
            expect(framesIn(final, r.after).startsWith(r.got)).toBe(true);
            const lastSeen = r.got ? seqsOf(r.got).at(-1)! : r.after;
            if (!restarted) await r.take();
            const rest = restarted ? await drain(end.read(lastSeen)) : "";
            if (lastSeen < seqsOf(final).length - 1) expect(r.got + rest).toBe(framesIn(final, r.after));
          }
          // After the end a new instance replays the same.
          expect(await drain(new EventLog(rows, writtenEnd(rows.rows), true, options).read(-1))).toBe(final);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses a frame out of order", () => {
    const log = new EventLog(memoryRows(), 4, false);
    expect(() => log.append([frame(6)])).toThrow(/consecutive/);
  });
});
