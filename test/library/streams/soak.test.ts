import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { createResponsesReader } from "../../../src/index.ts";
import { faultyBody } from "../../support/faulty-upstream.ts";
import { checkInvariants } from "../../support/invariants.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const STREAMS = 10_000;
/** Heap growth allowed between stream 1,000 and stream 10,000 (bytes): flat, with room for V8's own noise. */
const BOUND = 4 * 1024 * 1024;

const frame = (c: unknown) => `data: ${JSON.stringify(c)}\n\n`;
const text = (t: string, finish: string | null = null) => frame({ id: "c", created: 1, model: "m", choices: [{ index: 0, delta: { content: t }, finish_reason: finish }] });
const call = (args: string, first: boolean) => frame({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...(first ? { id: "call_1", function: { name: "f", arguments: args } } : { function: { arguments: args } }) }] } }] });

/** Four kinds of stream in turn: text, a tool call, a reset, a cut without [DONE]. */
function upstream(i: number) {
  const kind = i % 4;
  const body = Array.from({ length: 20 }, (_, k) => text(`tok${k} `));
  if (kind === 0) return faultyBody([...body, text("", "stop"), "data: [DONE]\n\n"]);
  if (kind === 1) return faultyBody([call('{"a":', true), call('"xyz"}', false), frame({ choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] }), "data: [DONE]\n\n"]);
  if (kind === 2) return faultyBody(body, "reset");
  return faultyBody(body.slice(0, 5), "close");
}

async function one(i: number): Promise<string> {
  const reader = createResponsesReader(upstream(i).body, { idleTimeoutMs: 60_000 });
  let raw = "";
  const sink = { event: (type: string, json: string) => void (raw += `event: ${type}\ndata: ${json}\n\n`) };
  while (await reader.pull(sink));
  if (i % 500 === 0) checkInvariants(`${raw}data: [DONE]\n\n`);
  return reader.response.status;
}

describe("soak", () => {
  it(`${STREAMS} streams in one process: heap flat, every ending as expected`, async () => {
    const statuses = new Map<string, number>();
    let heapAt1k = 0;
    for (let i = 0; i < STREAMS; i++) {
      const s = await one(i);
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
      if (i === 999) {
        gc();
        heapAt1k = process.memoryUsage().heapUsed;
      }
    }
    gc();
    const growth = process.memoryUsage().heapUsed - heapAt1k;
    console.log(`soak: heap growth ${(growth / 1024).toFixed(0)} KiB between stream 1000 and ${STREAMS}`);
    expect(Object.fromEntries(statuses)).toEqual({ completed: STREAMS / 2, failed: STREAMS / 2 });
    expect(growth, `heap grew ${(growth / 1024).toFixed(0)} KiB over ${STREAMS - 1000} streams`).toBeLessThan(BOUND);
  }, 300_000);
});
