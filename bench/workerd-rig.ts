/**
 * What the workerd benchmarks (`workerd.bench.ts`, `workerd.profile.ts`) share:
 * the local chat-completions server, `wrangler dev` over `bench/workerd/worker.ts`,
 * the workerd processes it starts and their CPU time, and one streamed answer.
 *
 * `wrangler dev` runs two workerd processes: the Worker's own runtime (with the
 * inspector attached, for devtools) and wrangler's proxy in front of it, which
 * listens on the port the client uses and forwards each request and its
 * response body natively. Every path pays the proxy alike; only the Worker's
 * runtime is what a deployed Worker would run, so the two are counted apart.
 *
 * BENCH_HOST=miniflare runs the same Worker in workerd through Miniflare
 * instead (bundled with esbuild as wrangler does): one workerd process, no
 * proxy in front and no inspector attached, closer to how a deployed Worker
 * runs; what wrangler dev's extra process and inspector cost shows against it.
 *
 * Linux only (/proc).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { startWorker } from "../test/support/start-worker.ts";

export const TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the upstream: `model` says how many tokens at what rate, e.g. "bench-4000-1000" ----

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_761_000_000, model: "bench", system_fingerprint: "fp_bench", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;

/** A chat-completions server: one token per chunk, one chunk per HTTP write, paced against the clock. */
export function startUpstream(): Promise<{ server: Server; url: string; close(): void }> {
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
      const wait = start + (i * 1000) / tps! - performance.now();
      if (wait > 0) await sleep(wait);
      res.write(chunk({ content: ` tok${i}` }));
    }
    res.write(chunk({}, "stop"));
    res.write(`data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_761_000_000, model: "bench", choices: [], usage: { prompt_tokens: 10, completion_tokens: n, total_tokens: n! + 10 } })}\n\n`);
    res.end("data: [DONE]\n\n");
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        server,
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        close() {
          server.closeAllConnections();
          server.close();
        },
      }),
    ),
  );
}

// ---- workerd under wrangler dev, or Miniflare ----

/** The workerd processes running the bench Worker: its runtime and, under wrangler dev, wrangler's proxy in front of it. */
export interface Workerd {
  url: string;
  /** How it was started, for the tables' captions. */
  host: string;
  /** The Worker's own runtime (what a deployed Worker runs). */
  runtime: number[];
  /** wrangler's proxy (forwards natively; the same for every path); none under Miniflare. */
  proxy: number[];
  stop(): Promise<void>;
}

/** The bench Worker in workerd, as BENCH_HOST says (`wrangler`, the default, or `miniflare`). */
export function startWorkerd(upstream: string, vars: Record<string, string> = {}): Promise<Workerd> {
  const host = process.env.BENCH_HOST ?? "wrangler";
  if (host === "miniflare") return startMiniflare(upstream, vars);
  if (host === "wrangler") return startWrangler(upstream, vars);
  throw new Error(`BENCH_HOST is wrangler or miniflare, not ${host}`);
}

async function startWrangler(upstream: string, vars: Record<string, string> = {}): Promise<Workerd> {
  const port = 30_000 + Math.floor(Math.random() * 5_000) * 2;
  const w = await startWorker(upstream, port, vars, "bench/workerd/wrangler.toml");
  const runtime: number[] = [];
  const proxy: number[] = [];
  for (const p of processesUnder(w.pid)) {
    if (!p.comm.includes("workerd")) continue;
    // The proxy is the one listening on the port the client uses.
    const cmdline = readFileSync(`/proc/${p.pid}/cmdline`, "utf8");
    (cmdline.includes(`=127.0.0.1:${port}\0`) ? proxy : runtime).push(p.pid);
  }
  if (!runtime.length || !proxy.length) throw new Error(`expected two workerd processes under wrangler dev, found runtime ${runtime} and proxy ${proxy}`);
  return { url: w.url, host: "wrangler dev", runtime, proxy, stop: () => w.stop() };
}

/**
 * A bench Worker (`entry`, bundled by esbuild) as Miniflare runs it: the settings of bench/workerd/wrangler.toml,
 * the stored-responses Durable Object (and with `background`, the background runs' one), `UPSTREAM_BASE_URL` pointing at `upstream`. No inspectorPort, so no inspector.
 */
export async function benchWorkerOptions(entry: URL, name: string, upstream: string, vars: Record<string, string> = {}, background = false) {
  const [{ build }, { convertV4MiniflareOptions }] = await Promise.all([import("esbuild"), import("miniflare")]);
  const bundle = await build({
    entryPoints: [entry.pathname],
    bundle: true,
    format: "esm",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    target: "es2022",
    write: false,
    external: ["cloudflare:*"],
    logLevel: "warning",
  });
  return convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    workers: [
      {
        name,
        modules: [{ type: "ESModule", path: "worker.mjs", contents: bundle.outputFiles[0]!.text }],
        compatibilityDate: "2026-08-01",
        compatibilityFlags: ["enable_request_signal", "durable_object_io_tasks_prevent_eviction"],
        bindings: { UPSTREAM_BASE_URL: `${upstream}/v1`, ...vars },
        durableObjects: { RESPONSES_STORE: { className: "ResponseStoreObject", useSQLite: true }, ...(background ? { BACKGROUND_RUNS: { className: "BackgroundRunObject", useSQLite: true } } : {}) },
      },
    ],
  });
}

async function startMiniflare(upstream: string, vars: Record<string, string>): Promise<Workerd> {
  const [options, { Miniflare }] = await Promise.all([benchWorkerOptions(new URL("workerd/worker.ts", import.meta.url), "responses-bridge-bench", upstream, vars, true), import("miniflare")]);
  const ours = () => new Set(processesUnder(process.pid).filter((p) => p.comm.includes("workerd")).map((p) => p.pid));
  const before = ours();
  const mf = new Miniflare(options);
  const url = (await mf.ready).origin;
  const runtime = [...ours()].filter((pid) => !before.has(pid));
  if (!runtime.length) throw new Error("no workerd process found under Miniflare");
  return { url, host: "Miniflare, no inspector", runtime, proxy: [], stop: () => mf.dispose() };
}

function processesUnder(root: number): Array<{ pid: number; comm: string }> {
  const procs: Array<{ pid: number; ppid: number; comm: string }> = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      procs.push({ pid: Number(d), ppid: Number(stat.slice(close + 2).split(" ")[1]), comm: stat.slice(stat.indexOf("(") + 1, close) });
    } catch {
      // Gone meanwhile.
    }
  }
  const under = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!under.has(p.pid) && under.has(p.ppid)) (under.add(p.pid), (grew = true));
  }
  return procs.filter((p) => p.pid !== root && under.has(p.pid));
}

/** CPU time (user + system, ms) of these processes so far. */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the name: state(3) ppid(4) … utime(14) stime(15), numbered from 1 in proc(5).
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * TICK_MS;
}

// ---- one streamed answer ----

export interface Target {
  /** For the tables' rows. */
  name: string;
  /** For the tables' columns. */
  label: string;
  path: string;
  /** Fields added to the request body. */
  extra?: Record<string, unknown>;
}

/** The paths of bench/workerd/worker.ts (what each isolates is explained there). */
export const TARGETS = {
  worker: { name: "`POST /v1/responses` (this Worker, `store: true` by default)", label: "Worker", path: "/v1/responses" },
  noStore: { name: "the same with `store: false` (no stored record)", label: "`store: false`", path: "/v1/responses", extra: { store: false } },
  background: { name: "the same with `background: true` (run by its object, events logged, the client a reader)", label: "`background: true`", path: "/v1/responses", extra: { background: true } },
  identity: { name: "do-nothing `TransformStream` proxy (`pipeThrough`)", label: "do-nothing", path: "/bench/identity" },
  native: { name: "native pass-through, `new Response(upstream.body)`", label: "native", path: "/bench/native" },
  floorPull: { name: "floor: pull stream enqueuing each upstream read untouched", label: "floor-pull", path: "/bench/floor-pull" },
  floorCodec: { name: "floor: the same, decoding and re-encoding each read", label: "floor-codec", path: "/bench/floor-codec" },
  floorParse: { name: "floor: the same, also `JSON.parse` of each chunk", label: "floor-parse", path: "/bench/floor-parse" },
  floorNativeOut: { name: "floor: pull floor writing into a native `IdentityTransformStream`", label: "floor-native-out", path: "/bench/floor-native-out" },
} satisfies Record<string, Target>;

/** Streams one answer of `tokens` tokens at `tps` through `target`, checks it finished, and returns how many reads the client made. */
export async function streamAnswer(base: string, target: Target, tokens: number, tps: number): Promise<number> {
  const res = await fetch(`${base}${target.path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: `bench-${tokens}-${tps}`, input: "hi", stream: true, stream_options: { include_usage: true }, ...target.extra }),
  });
  if (!res.ok) throw new Error(`${target.path}: ${res.status} ${await res.text()}`);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const end = target.path === "/v1/responses" ? "event: response.completed" : "data: [DONE]";
  let tail = "";
  let finished = false;
  let reads = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    reads++;
    const text = tail + dec.decode(value, { stream: true });
    finished ||= text.includes(end);
    tail = text.slice(-400);
  }
  if (!finished) throw new Error(`${target.path}: stream did not finish with ${end}: …${tail}`);
  return reads;
}

// ---- figures ----

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const f1 = (n: number) => n.toFixed(1);
export const f2 = (n: number) => n.toFixed(2);
