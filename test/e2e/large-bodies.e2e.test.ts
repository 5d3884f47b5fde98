import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countingUpstream, type CountingUpstream, streamedBody, tildes } from "../support/counting-upstream.ts";
import { startWorker } from "../support/start-worker.ts";

// Issue 27: a large request after a burst of streams was now and then answered 502 "Network
// connection lost" and never reached the upstream. The runtime sent it on a pooled keep-alive
// connection that the upstream had closed while the isolate was busy reading and translating the
// request (worker/delivery.ts). Here the upstream's keep-alive close is made to land in that moment
// on every round, at a different point of it each time: before the fix 8 of these 40 requests were
// lost this way; now each such request is sent again on another connection and every one arrives.

const ROUNDS = 20;
const BIG = 20_000_000;
const TURNS = 30;
const TURN = 1_000_000;

let upstream: CountingUpstream;
let worker: Awaited<ReturnType<typeof startWorker>>;

beforeAll(async () => {
  upstream = await countingUpstream();
  worker = await startWorker(upstream.url);
});

afterAll(async () => {
  await worker?.stop();
  await upstream?.close();
});

/** POSTs a body streamed as it is sent (the client never holds it whole either); the status and the body's text. */
async function send(body: ReadableStream<Uint8Array> | string): Promise<{ status: number; text: string }> {
  const r = await fetch(`${worker.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body, duplex: "half" } as RequestInit);
  return { status: r.status, text: await r.text() };
}

/** `send`, with the upstream closing its idle keep-alive connections `closeAfterMs` into it, as its keep-alive timer would. */
async function sendAsKeepAliveExpires(body: ReadableStream<Uint8Array>, closeAfterMs: number) {
  const timer = setTimeout(() => upstream.server.closeIdleConnections(), closeAfterMs);
  try {
    return await send(body);
  } finally {
    clearTimeout(timer);
  }
}

/** The input as one JSON string of `n` tildes. */
const oneString = function* (n: number) {
  yield '"';
  yield* tildes(n);
  yield '"';
};

/** The input as a conversation of `TURNS` messages of `TURN` tildes each, user and assistant in turn. */
const conversation = function* () {
  yield "[";
  for (let i = 0; i < TURNS; i++) {
    yield `${i ? "," : ""}{"role":"${i % 2 ? "assistant" : "user"}","content":"`;
    yield* tildes(TURN);
    yield '"}';
  }
  yield "]";
};

describe("large requests right after a burst of 256 streams", () => {
  it(`a 20 MB input and a 30 × 1 MB conversation, ${ROUNDS} times each, all reach the upstream and are answered`, async () => {
    // The burst is the load the scenario needs, not what it tests: a connection the local TCP stack resets while 256 of
    // them open at once against wrangler dev (seen once in eight runs of the whole suite: ECONNRESET before any HTTP answer) is opened again.
    const burstOne = () => send(JSON.stringify({ model: "counting", input: "hi", stream: true, store: false }));
    const burst = await Promise.all(Array.from({ length: 256 }, () => burstOne().catch((e: unknown) => ((e as { cause?: { code?: string } })?.cause?.code === "ECONNRESET" ? burstOne() : Promise.reject(e)))));
    expect(burst.filter((r) => r.status !== 200 || !r.text.includes('"type":"response.completed"'))).toEqual([]);
    const before = upstream.arrivals.length;
    const failures: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // From 100 to 650 ms into the request: the span in which the Worker reads, parses and translates it.
      const closeAfterMs = 100 + (round % 12) * 50;
      for (const [name, input, chars] of [
        ["20 MB input", oneString(BIG), BIG],
        [`${TURNS} × 1 MB conversation`, conversation(), TURNS * TURN],
      ] as const) {
        const arrived = upstream.arrivals.length;
        const r = await sendAsKeepAliveExpires(streamedBody({ model: "counting", store: false }, input), closeAfterMs);
        const got = upstream.arrivals.slice(arrived);
        const answered = r.status === 200 && got.length === 1 && got[0]!.tildes === chars && r.text.includes(`Got ${got[0]!.bytes} bytes.`);
        if (!answered) failures.push(`round ${round}, ${name}: ${r.status} ${r.text.slice(0, 300)} (the upstream saw ${got.length})`);
      }
    }
    expect(failures).toEqual([]);
    expect(upstream.arrivals.length - before).toBe(2 * ROUNDS);
  }, 240_000);
});
