/**
 * `npm run bench:workerd`: what the Worker costs in workerd, where it really
 * runs, against a do-nothing stream, measured side by side in one run.
 *
 * Starts a local chat-completions server and `wrangler dev` (or Miniflare,
 * BENCH_HOST=miniflare) over `bench/workerd/worker.ts` (the product Worker and
 * its baselines, see there),
 * then streams the same answer through each path, interleaved, and reads the
 * CPU time of the workerd processes from /proc around each stream: the
 * Worker's own runtime and, apart, wrangler's proxy in front of it (see
 * workerd-rig.ts). Each run's ratio is taken against the do-nothing stream of
 * the same run; printed as Markdown (median and range over runs, paste into the
 * README), then the opt-in coalescing (STREAM_COALESCE_MS) off and on at 50 and
 * 500 tokens per second.
 *
 * Then, for background runs, the time from `GET …?stream=true&starting_after=N`
 * to the first replayed event, after the run and while it runs, and how late a
 * live reader gets each event against a foreground stream of the same answer.
 *
 * Linux only (/proc). Environment: BENCH_TOKENS (default 4000), BENCH_TPS
 * (default 1000), BENCH_REPS (default 5), BENCH_COALESCE_REPS (default 3),
 * BENCH_SKIP_COALESCE=1, BENCH_HOST (wrangler, the default, or miniflare),
 * BENCH_TARGETS (comma-separated keys of TARGETS; the do-nothing stream is always run).
 */
import { cpuMs, f1, f2, median, sleep, startUpstream, startWorkerd, streamAnswer, TARGETS, type Target, type Workerd } from "./workerd-rig.ts";

const TOKENS = Number(process.env.BENCH_TOKENS ?? 4000);
const TPS = Number(process.env.BENCH_TPS ?? 1000);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const COALESCE_REPS = Number(process.env.BENCH_COALESCE_REPS ?? 3);

const IDENTITY = TARGETS.identity;
const chosen = process.env.BENCH_TARGETS?.split(",").map((k) => k.trim());
const targets: Target[] = Object.entries(TARGETS).flatMap(([k, t]) => (!chosen || chosen.includes(k) || t === IDENTITY ? [t] : []));

/** A background run of `tokens` tokens at `tps`, streamed to its end by its creator; its id. */
async function backgroundRun(base: string, tokens: number, tps: number, stream: boolean): Promise<string> {
  const res = await fetch(`${base}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: `bench-${tokens}-${tps}`, input: "hi", background: true, stream }) });
  if (!stream) return ((await res.json()) as { id: string }).id;
  const text = await res.text();
  if (!text.includes("event: response.completed")) throw new Error(`background run did not complete: …${text.slice(-300)}`);
  return (JSON.parse(text.split("\n")[1]!.slice(6)) as { response: { id: string } }).response.id;
}

/** Milliseconds from sending `GET /v1/responses/{id}?stream=true&starting_after=n` to the first replayed event's bytes. */
async function firstReplayed(base: string, id: string, n: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/responses/${id}?stream=true&starting_after=${n}`);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!text.includes("event: ")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`no event after ${n}: ${text.slice(0, 300)}`);
    text += dec.decode(value, { stream: true });
  }
  const ms = performance.now() - t0;
  const seq = Number(/"sequence_number":(\d+)/.exec(text)?.[1]);
  if (seq !== n + 1) throw new Error(`replay after ${n} began at ${seq}`);
  await reader.cancel();
  return ms;
}

/**
 * How late each delta of a streamed answer reaches the client: its arrival less its paced send time (token i is sent
 * i/tps after the first), less the smallest such lag of the stream (the round trip), so what is left is the wait the
 * path adds to each event. The median and the 95th percentile over the deltas, in ms.
 */
async function eventLag(base: string, extra: Record<string, unknown>, tokens: number, tps: number): Promise<{ p50: number; p95: number; max: number }> {
  const res = await fetch(`${base}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: `bench-${tokens}-${tps}`, input: "hi", stream: true, ...extra }) });
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const lags: number[] = [];
  const t0 = performance.now();
  let tail = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const now = performance.now() - t0;
    const text = tail + dec.decode(value, { stream: true });
    const cut = text.lastIndexOf("\n\n") + 2;
    for (const m of text.slice(0, cut).matchAll(/"delta":" tok(\d+)"/g)) lags.push(now - (Number(m[1]) * 1000) / tps);
    tail = text.slice(cut);
  }
  if (lags.length !== tokens) throw new Error(`saw ${lags.length} of ${tokens} deltas`);
  const least = Math.min(...lags);
  const s = lags.map((x) => x - least).sort((a, b) => a - b);
  return { p50: median(s), p95: s[Math.floor(s.length * 0.95)]!, max: s.at(-1)! };
}

/** The lag table: foreground and background streams of the same paced answer, alternating. */
async function lagTable(w: Workerd): Promise<string> {
  const reps = Math.max(REPS, 3);
  const paths: Array<[string, Record<string, unknown>]> = [["`POST /v1/responses` (foreground)", {}], ["the same with `background: true` (the creator a live reader)", { background: true }]];
  const got = paths.map(() => [] as Array<{ p50: number; p95: number; max: number }>);
  for (let r = 0; r < reps; r++) for (const [i, [, extra]] of paths.entries()) got[i]!.push(await eventLag(w.url, extra, 2000, 1000));
  const rows = [`Live event lag (${w.host}): each delta's arrival at the client less its paced send time, less the stream's smallest such lag; 2,000 tokens at 1,000 tok/s, ${reps} streams each, alternating (median over streams of each stream's median, 95th percentile and maximum).\n`, "| path | median ms | p95 ms | max ms |", "|---|---:|---:|---:|"];
  for (const [i, [label]] of paths.entries()) {
    const xs = got[i]!;
    rows.push(`| ${label} | ${f1(median(xs.map((x) => x.p50)))} | ${f1(median(xs.map((x) => x.p95)))} | ${f1(median(xs.map((x) => x.max)))} |`);
  }
  return rows.join("\n");
}

/** The resume table: after a finished run (from its start, middle and end) and into a live run. */
async function resumeLatency(w: Workerd): Promise<string> {
  const reps = Math.max(REPS, 5);
  const done = await backgroundRun(w.url, TOKENS, 20_000, true);
  // Events: created, in_progress, item and part added, TOKENS deltas, then the closing ones.
  const points: Array<[string, number]> = [["the start (`starting_after=0`)", 0], [`the middle (${TOKENS >> 1})`, TOKENS >> 1], [`the end (${TOKENS})`, TOKENS]];
  const rows = [`Background runs (${w.host}): milliseconds from \`GET /v1/responses/{id}?stream=true&starting_after=N\` to the first replayed event's bytes at the client, ${reps} reads each (median, range).\n`, "| reading from | into | ms (median) | range |", "|---|---|---:|---:|"];
  for (const [label, n] of points) {
    const xs: number[] = [];
    for (let r = 0; r < reps; r++) xs.push(await firstReplayed(w.url, done, n));
    rows.push(`| ${label} | a finished ${TOKENS}-token run | ${f1(median(xs))} | ${f1(Math.min(...xs))}–${f1(Math.max(...xs))} |`);
  }
  const live: number[] = [];
  for (let r = 0; r < reps; r++) {
    const id = await backgroundRun(w.url, 2000, 1000, false);
    await sleep(1000);
    live.push(await firstReplayed(w.url, id, 0));
    await sleep(1200);
  }
  rows.push(`| the start (\`starting_after=0\`) | a live run, 1 s into a 2,000-token answer at 1,000 tok/s | ${f1(median(live))} | ${f1(Math.min(...live))}–${f1(Math.max(...live))} |`);
  return rows.join("\n");
}

/** CPU (ms) of the Worker's runtime and of wrangler's proxy: one stream, or `streams` at once. */
interface Sample {
  runtime: number;
  proxy: number;
  tokens: number;
  reads: number;
}

/** workerd's CPU rate while idle (ms of CPU per ms): the runtimes tick along without requests, and slow streams would be charged for it. */
async function idleRates(w: Workerd): Promise<{ runtime: number; proxy: number }> {
  const t0 = performance.now();
  const [r0, p0] = [cpuMs(w.runtime), cpuMs(w.proxy)];
  await sleep(3000);
  const dt = performance.now() - t0;
  return { runtime: (cpuMs(w.runtime) - r0) / dt, proxy: (cpuMs(w.proxy) - p0) / dt };
}

async function measure(w: Workerd, idle: { runtime: number; proxy: number }, target: Target, tokens: number, tps: number, streams = 1): Promise<Sample> {
  const t0 = performance.now();
  const [r0, p0] = [cpuMs(w.runtime), cpuMs(w.proxy)];
  const reads = await Promise.all(Array.from({ length: streams }, () => streamAnswer(w.url, target, tokens, tps)));
  // Let workerd finish its bookkeeping for the request (and the store its write) before reading its CPU.
  await sleep(100);
  const dt = performance.now() - t0;
  return { runtime: cpuMs(w.runtime) - r0 - idle.runtime * dt, proxy: cpuMs(w.proxy) - p0 - idle.proxy * dt, tokens: tokens * streams, reads: reads[0]! };
}

const per1k = (ms: number, tokens: number) => (ms / tokens) * 1000;
const range = (xs: number[]) => `${f2(Math.min(...xs))}–${f2(Math.max(...xs))}`;

const upstream = await startUpstream();
const out: string[] = [];
try {
  // ---- side by side ----
  const w = await startWorkerd(upstream.url);
  const samples = new Map<Target, Sample[]>(targets.map((t) => [t, []]));
  let idle = { runtime: 0, proxy: 0 };
  let resume = "";
  try {
    // Warm up: JIT, connections, the store's first object.
    for (const t of targets) await streamAnswer(w.url, t, 200, 10_000);
    idle = await idleRates(w);
    for (let r = 0; r < REPS; r++) {
      for (const t of targets) samples.get(t)!.push(await measure(w, idle, t, TOKENS, TPS));
      process.stderr.write(`run ${r + 1}/${REPS}\n`);
    }
    if (targets.includes(TARGETS.background)) resume = `${await resumeLatency(w)}\n\n${await lagTable(w)}`;
  } finally {
    await w.stop();
  }
  const base = samples.get(IDENTITY)!;
  const proxied = w.proxy.length > 0;
  out.push(
    `workerd (${w.host}), ${TOKENS}-token answer at ${TPS} tok/s, one token per upstream chunk, ${REPS} runs, paths interleaved. CPU of the Worker's workerd process${proxied ? " (and, in the last columns, also wrangler's proxy process in front of it)" : ""}, less its idle rate (${f1(idle.runtime * 1000)}${proxied ? ` and ${f1(idle.proxy * 1000)}` : ""} ms/s). Ratios are taken within each run against that run's do-nothing stream: median, and the range over runs.\n`,
    `| path | CPU per 1,000 tokens | × do-nothing stream | range |${proxied ? " with wrangler's proxy, per 1,000 tokens | × do-nothing | range |" : ""} client reads |`,
    `|---|---:|---:|---:|${proxied ? "---:|---:|---:|" : ""}---:|`,
  );
  for (const t of targets) {
    const list = samples.get(t)!;
    const rt = list.map((x, i) => x.runtime / base[i]!.runtime);
    const both = list.map((x, i) => (x.runtime + x.proxy) / (base[i]!.runtime + base[i]!.proxy));
    const withProxy = proxied ? ` ${f1(median(list.map((x) => per1k(x.runtime + x.proxy, x.tokens))))} ms | ${f2(median(both))} | ${range(both)} |` : "";
    out.push(`| ${t.name} | ${f1(median(list.map((x) => per1k(x.runtime, x.tokens))))} ms | ${f2(median(rt))} | ${range(rt)} |${withProxy} ${Math.round(median(list.map((x) => x.reads)))} |`);
  }
  console.log(`\n${out.join("\n")}\n`);
  const bg = samples.get(TARGETS.background);
  const fg = samples.get(TARGETS.worker);
  if (bg && fg) {
    const ratio = bg.map((x, i) => x.runtime / fg[i]!.runtime);
    console.log(`background / foreground (\`POST /v1/responses\`), CPU per token of the Worker's workerd, per run: median ${f2(median(ratio))}, range ${range(ratio)}\n`);
  }
  if (resume) console.log(`${resume}\n`);

  // ---- opt-in coalescing, at 50 and 500 tokens per second ----
  if (!process.env.BENCH_SKIP_COALESCE) {
    const rates: Array<[tps: number, tokens: number]> = [
      [50, 200],
      [500, 1000],
    ];
    // Both Workers at once, runs alternating, so drift on the shared machine hits both alike.
    const off = await startWorkerd(upstream.url);
    const on = await startWorkerd(upstream.url, { STREAM_COALESCE_MS: "20" }).catch(async (e) => {
      await off.stop();
      throw e;
    });
    const results = { off: new Map<number, Sample[]>(), on: new Map<number, Sample[]>() };
    try {
      const responses = TARGETS.worker;
      for (const w of [off, on]) await streamAnswer(w.url, responses, 200, 10_000);
      const [idleOff, idleOn] = await Promise.all([idleRates(off), idleRates(on)]);
      for (let r = 0; r < COALESCE_REPS; r++) {
        for (const [tps, tokens] of rates) {
          for (const [mode, w, i] of [["off", off, idleOff], ["on", on, idleOn]] as const) {
            const list = results[mode].get(tps) ?? [];
            list.push(await measure(w, i, responses, tokens, tps, 4));
            results[mode].set(tps, list);
          }
        }
      }
    } finally {
      await Promise.all([off.stop(), on.stop()]);
    }
    const proxied = off.proxy.length > 0;
    const co = [
      `STREAM_COALESCE_MS off (0) and on (20 ms), \`POST /v1/responses\`, 4 concurrent streams, ${COALESCE_REPS} runs alternating between two Workers (${off.host}); CPU per 1,000 tokens of the Worker's workerd (median), the ratio per run (median and range)${proxied ? ", and the same ratio with wrangler's proxy" : ""}.\n`,
      `| rate | off | on | on / off | range |${proxied ? " on / off with the proxy |" : ""}`,
      `|---|---:|---:|---:|---:|${proxied ? "---:|" : ""}`,
    ];
    for (const [tps] of rates) {
      const a = results.off.get(tps)!;
      const b = results.on.get(tps)!;
      const ratios = b.map((x, i) => x.runtime / a[i]!.runtime);
      const withProxy = proxied ? ` ${f2(median(b.map((x, i) => (x.runtime + x.proxy) / (a[i]!.runtime + a[i]!.proxy))))} |` : "";
      co.push(`| ${tps} tok/s | ${f1(median(a.map((x) => per1k(x.runtime, x.tokens))))} ms | ${f1(median(b.map((x) => per1k(x.runtime, x.tokens))))} ms | ${f2(median(ratios))} | ${range(ratios)} |${withProxy}`);
    }
    console.log(`${co.join("\n")}\n`);
  }
} finally {
  upstream.close();
}
