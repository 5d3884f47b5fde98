/**
 * `npm run bench:workerd`: what the Worker costs in workerd, where it really
 * runs, against a do-nothing stream, measured side by side in one run.
 *
 * Starts a local chat-completions server (one token per chunk, one chunk per
 * HTTP write, paced) and `wrangler dev` over `bench/workerd/worker.ts` (the
 * product Worker plus two baselines), then streams the same answer through
 * `POST /v1/responses`, a do-nothing `TransformStream` proxy and native
 * pass-through, interleaved, and reads the CPU time of the workerd processes
 * from /proc/<pid>/stat around each stream. Prints CPU per 1,000 tokens and
 * ratios as Markdown (paste into the README), then the same for the opt-in
 * coalescing (STREAM_COALESCE_MS) off/on at 50 and 500 tokens per second.
 *
 * Linux only (/proc). Environment: BENCH_TOKENS (default 4000), BENCH_TPS
 * (default 1000), BENCH_REPS (default 5), BENCH_SHAPES=1 (also the floors of a pull
 * shell: bytes forwarded untouched, then decoded and re-encoded, then each frame
 * parsed), BENCH_SKIP_COALESCE=1.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { startWorker } from "../test/support/start-worker.ts";

const TOKENS = Number(process.env.BENCH_TOKENS ?? 4000);
const TPS = Number(process.env.BENCH_TPS ?? 1000);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

// ---- the upstream: `model` says how many tokens at what rate, e.g. "bench-4000-1000" ----

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_761_000_000, model: "bench", system_fingerprint: "fp_bench", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;

function startUpstream(): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    if (!req.url?.endsWith("/chat/completions")) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"object":"list","data":[]}');
    }
    const [, n, tps] = ((JSON.parse(body) as { model: string }).model.match(/^bench-(\d+)-(\d+)$/) ?? []).map(Number);
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(chunk({ role: "assistant", content: "" }));
    const start = performance.now();
    for (let i = 0; i < n!; i++) {
      // Paced against the clock, so a late timer does not slow the whole answer down.
      const due = start + (i * 1000) / tps!;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      res.write(chunk({ content: ` tok${i}` }));
    }
    res.write(chunk({}, "stop"));
    res.write(`data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_761_000_000, model: "bench", choices: [], usage: { prompt_tokens: 10, completion_tokens: n, total_tokens: n! + 10 } })}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

// ---- workerd under wrangler dev, and its CPU ----

function startWrangler(upstream: string, vars: Record<string, string>) {
  return startWorker(upstream, 30_000 + Math.floor(Math.random() * 5_000) * 2, vars, "bench/workerd/wrangler.toml");
}

/** CPU ticks (user + system) of every workerd process under `pid`. */
function workerdTicks(pid: number): number {
  const procs: Array<{ pid: number; ppid: number; comm: string; ticks: number }> = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const f = stat.slice(close + 2).split(" ");
      // Fields after the name: state(3) ppid(4) … utime(14) stime(15), numbered from 1 in proc(5).
      procs.push({ pid: Number(d), ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // Gone meanwhile.
    }
  }
  const under = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!under.has(p.pid) && under.has(p.ppid)) (under.add(p.pid), (grew = true));
  }
  return procs.filter((p) => under.has(p.pid) && p.comm.includes("workerd")).reduce((n, p) => n + p.ticks, 0);
}

interface Sample {
  cpuMs: number;
  tokens: number;
  reads: number;
}

/**
 * workerd's own CPU rate while idle (ms of CPU per ms of wall time): wrangler dev's
 * runtime ticks along without requests too, and slow streams would be charged for it.
 */
async function idleRate(pid: number): Promise<number> {
  const t0 = performance.now();
  const before = workerdTicks(pid);
  await new Promise((r) => setTimeout(r, 3000));
  return ((workerdTicks(pid) - before) * TICK_MS) / (performance.now() - t0);
}

/** Streams `streams` answers at once through `path`; the workerd CPU they cost, less its idle rate over the same time. */
async function measure(base: string, pid: number, path: string, tokens: number, tps: number, streams = 1, idle = 0, extra: Record<string, unknown> = {}): Promise<Sample> {
  const t0 = performance.now();
  const before = workerdTicks(pid);
  let reads = 0;
  await Promise.all(
    Array.from({ length: streams }, async () => {
      const res = await fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: `bench-${tokens}-${tps}`, input: "hi", stream: true, stream_options: { include_usage: true }, ...extra }) });
      const reader = res.body!.getReader();
      let text = "";
      const dec = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        reads++;
        text += dec.decode(value, { stream: true });
      }
      if (!text.includes("[DONE]")) throw new Error(`${path}: stream did not finish: …${text.slice(-300)}`);
      if (path === "/v1/responses" && !text.includes("response.completed")) throw new Error(`${path}: no response.completed: …${text.slice(-300)}`);
    }),
  );
  // Let workerd finish its bookkeeping for the request before reading its CPU.
  await new Promise((r) => setTimeout(r, 100));
  return { cpuMs: (workerdTicks(pid) - before) * TICK_MS - idle * (performance.now() - t0), tokens: tokens * streams, reads };
}

interface Target {
  name: string;
  path: string;
  /** Fields added to the request body. */
  extra?: Record<string, unknown>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const per1k = (s: Sample[]) => (s.reduce((n, x) => n + x.cpuMs, 0) / s.reduce((n, x) => n + x.tokens, 0)) * 1000;
const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

class Done extends Error {}
const upstream = await startUpstream();
const rows: string[] = [];
try {
  // ---- side by side: the Worker, the do-nothing stream, native pass-through ----
  const w = await startWrangler(upstream.url, {});
  let idle = 0;
  const targets: Target[] = [
    { name: "`POST /v1/responses` (this Worker)", path: "/v1/responses" },
    { name: "the same with `store: false` (conversion only, no stored record)", path: "/v1/responses", extra: { store: false } },
    { name: "do-nothing `TransformStream` proxy, same headers", path: "/bench/identity" },
    { name: "native pass-through, `new Response(upstream.body)`", path: "/bench/native" },
  ];
  // The floors of a pull shell, for profiling (BENCH_SHAPES=1).
  const shapes = process.env.BENCH_SHAPES === "1" ? "floor-pull,floor-codec,floor-parse" : (process.env.BENCH_SHAPES ?? "");
  for (const s of shapes.split(",").filter(Boolean)) targets.push({ name: `floor: ${s}`, path: `/bench/shape/${s}` });
  const samples = new Map<Target, Sample[]>(targets.map((t) => [t, []]));
  try {
    // Warm up: JIT and connections.
    for (const t of targets) await measure(w.url, w.pid, t.path, 200, 10_000, 1, 0, t.extra);
    idle = await idleRate(w.pid);
    for (let r = 0; r < REPS; r++) for (const t of targets) samples.get(t)!.push(await measure(w.url, w.pid, t.path, TOKENS, TPS, 1, idle, t.extra));
  } finally {
    await w.stop();
  }
  const identity = samples.get(targets[2]!)!;
  const reads = (s: Sample[]) => Math.round(s.reduce((n, x) => n + x.reads, 0) / s.length);
  rows.push(`workerd (wrangler dev), ${TOKENS}-token answer at ${TPS} tok/s, one token per upstream chunk, ${REPS} runs each, interleaved; CPU of the workerd processes less their idle rate (${(idle * 1000).toFixed(1)} ms/s). The ratio is taken within each run (against that run's do-nothing stream): median, then the range over runs.\n`);
  rows.push("| path | CPU per 1,000 tokens (median) | × do-nothing stream, median | range over runs | client reads per answer |", "|---|---:|---:|---:|---:|");
  for (const t of targets) {
    const list = samples.get(t)!;
    const ratios = list.map((x, i) => x.cpuMs / identity[i]!.cpuMs).sort((a, b) => a - b);
    rows.push(`| ${t.name} | ${f1(median(list.map((x) => (x.cpuMs / x.tokens) * 1000)))} ms | ${f2(median(ratios))} | ${f2(ratios[0]!)}–${f2(ratios.at(-1)!)} | ${reads(list)} |`);
  }

  // ---- opt-in coalescing, at 50 and 500 tokens per second ----
  rows.push("", "STREAM_COALESCE_MS off (0) and on (20), CPU per 1,000 tokens of `POST /v1/responses`, 4 concurrent streams\n");
  rows.push("| rate | off | on (20 ms) | on / off |", "|---|---:|---:|---:|");
  if (process.env.BENCH_SKIP_COALESCE) throw new Done();
  const rates: Array<[number, number]> = [
    [50, 200],
    [500, 1000],
  ];
  const results: Record<string, Record<number, number>> = { off: {}, on: {} };
  for (const [mode, vars] of [["off", {}], ["on", { STREAM_COALESCE_MS: "20" }]] as const) {
    const ww = await startWrangler(upstream.url, vars);
    try {
      await measure(ww.url, ww.pid, "/v1/responses", 200, 10_000);
      const idleHere = await idleRate(ww.pid);
      for (const [tps, tokens] of rates) results[mode]![tps] = per1k([await measure(ww.url, ww.pid, "/v1/responses", tokens, tps, 4, idleHere)]);
    } finally {
      await ww.stop();
    }
  }
  for (const [tps] of rates) rows.push(`| ${tps} tok/s | ${f1(results.off![tps]!)} ms | ${f1(results.on![tps]!)} ms | ${f2(results.on![tps]! / results.off![tps]!)} |`);
} catch (e) {
  if (!(e instanceof Done)) throw e;
} finally {
  upstream.server.closeAllConnections();
  upstream.server.close();
}
console.log(`\n${rows.join("\n")}\n`);
