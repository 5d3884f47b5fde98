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
    const timers: Array<() => void> = [];
    const rows = memoryRows();
    const log = new EventLog(rows, -1, false, { schedule: (fn) => (timers.push(fn), () => {}) });
    const reader = log.read(-1);
    log.append([frame(0)]);
    expect((await reader.next()).value).toBe(frame(0).text);
    const waiting = reader.next();
    expect(timers).toHaveLength(2); // the flush, and the keep-alive of the waiting reader
    timers[1]!();
    expect((await waiting).value).toBe(KEEP_ALIVE);
    log.append([frame(1)]);
    log.finish();
    expect((await reader.next()).value).toBe(frame(1).text);
    expect((await reader.next()).done).toBe(true);
    expect(rows.rows.map((r) => r.text).join("")).toBe(frame(0).text + frame(1).text);
  });

  it("after a restart lost the unwritten batch, a reader that saw it still gets the terminal event", async () => {
    const rows = memoryRows();
    const before = new EventLog(rows, -1, false, { schedule: () => () => {} });
    const reader = before.read(-1);
    for (let i = 0; i < 6; i++) before.append([frame(i)]);
    expect((await reader.next()).value).toBe(Array.from({ length: 6 }, (_x, i) => frame(i).text).join(""));
    before.flush(); // 0…5 stored
    for (let i = 6; i < 9; i++) before.append([frame(i)]);
    expect((await reader.next()).value).toBe(frame(6).text + frame(7).text + frame(8).text); // seen, never stored
    // The restart: the object's next instance finds 0…5 and ends the run after them.
    const after = new EventLog(rows, 5, false);
    const failed: Frame = { seq: 6, type: "response.failed", text: `event: response.failed\ndata: {"type":"response.failed","sequence_number":6}\n\n` };
    after.append([failed]);
    after.finish();
    expect(await drain(after.read(8))).toBe(failed.text);
    expect(await drain(after.read(6))).toBe("");
    expect(await drain(after.read(3))).toBe(frame(4).text + frame(5).text + failed.text);
  });

  it("refuses a frame out of order", () => {
    const log = new EventLog(memoryRows(), 4, false);
    expect(() => log.append([frame(6)])).toThrow(/consecutive/);
  });
});
