/**
 * `npx node bench/large-bodies.bench.ts`: large requests through `wrangler dev` in front of a Node
 * chat server (`test/support/counting-upstream.ts`, which counts each body without keeping it).
 *
 * - Time: `N` (default 10) requests of one 20 MB input string and `N` of a 30 × 1 MB conversation,
 *   then one each of `BIGGER` MB (default 50,80,120), from the first byte sent to the last byte of
 *   the answer. Bodies are streamed as they are sent, `store: false`.
 * - Loss (`LOSS=1`): after a burst of 256 streams, 20 MB requests with the upstream closing its idle
 *   keep-alive connections (as its keep-alive timer does) at 0, 100, …, 800 ms into each request,
 *   `REP` (default 4) times each: how many never reached the upstream (issue 27).
 *
 * Prints Markdown rows; results and conditions in bench/large-bodies.md.
 */
import { countingUpstream, streamedBody, tildes } from "../test/support/counting-upstream.ts";
import { startWorker } from "../test/support/start-worker.ts";

const upstream = await countingUpstream();
const worker = await startWorker(upstream.url);

async function send(body: ReadableStream<Uint8Array> | string): Promise<{ ms: number; status: number; text: string }> {
  const start = performance.now();
  const r = await fetch(`${worker.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
  const text = await r.text();
  return { ms: Math.round(performance.now() - start), status: r.status, text };
}

function* oneString(n: number) {
  yield '"';
  yield* tildes(n);
  yield '"';
}

function* conversation(turns: number, each: number) {
  yield "[";
  for (let i = 0; i < turns; i++) {
    yield `${i ? "," : ""}{"role":"${i % 2 ? "assistant" : "user"}","content":"`;
    yield* tildes(each);
    yield '"}';
  }
  yield "]";
}

const fields = { model: "counting", store: false };
const median = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

async function timing(): Promise<void> {
  const n = Number(process.env.N ?? 10);
  console.log("| request | bytes at the upstream | median | min–max |\n|---|---|---|---|");
  for (const [name, input] of [["one 20 MB input string", () => oneString(20_000_000)], ["30 × 1 MB conversation", () => conversation(30, 1_000_000)]] as const) {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = await send(streamedBody(fields, input()));
      if (r.status !== 200) console.log(`${name}: ${r.status} ${r.text.slice(0, 300)}`);
      ms.push(r.ms);
    }
    const bytes = upstream.arrivals.at(-1)!.bytes;
    console.log(`| ${name} | ${bytes} | ${(median(ms) / 1000).toFixed(1)} s | ${(Math.min(...ms) / 1000).toFixed(1)}–${(Math.max(...ms) / 1000).toFixed(1)} s |`);
  }
  for (const mb of (process.env.BIGGER ?? "50,80,120").split(",").filter(Boolean).map(Number)) {
    const r = await send(streamedBody(fields, oneString(mb * 1_000_000)));
    console.log(`| one ${mb} MB input string (once) | ${r.status === 200 ? upstream.arrivals.at(-1)!.bytes : `${r.status}: ${r.text.slice(0, 200)}`} | ${(r.ms / 1000).toFixed(1)} s | |`);
  }
}

async function loss(): Promise<void> {
  await Promise.all(Array.from({ length: 256 }, () => send(JSON.stringify({ ...fields, input: "hi", stream: true }))));
  const rep = Number(process.env.REP ?? 4);
  let lost = 0;
  let total = 0;
  for (const delay of [0, 100, 200, 300, 400, 500, 600, 800]) {
    let row = "";
    for (let k = 0; k < rep; k++) {
      // A few small requests first, so the pool holds idle connections as after any traffic.
      await Promise.all(Array.from({ length: 8 }, () => send(JSON.stringify({ ...fields, input: "hi" }))));
      const arrived = upstream.arrivals.length;
      const timer = setTimeout(() => upstream.server.closeIdleConnections(), delay);
      const r = await send(streamedBody(fields, oneString(20_000_000)));
      clearTimeout(timer);
      const ok = r.status === 200 && upstream.arrivals.length === arrived + 1;
      row += ok ? "." : "X";
      if (!ok) lost++;
      total++;
    }
    console.log(`| close at ${delay} ms | ${row} |`);
  }
  console.log(`\nlost ${lost} of ${total}`);
}

try {
  await (process.env.LOSS ? loss() : timing());
} finally {
  await worker.stop();
  await upstream.close();
}
