/**
 * `npm run bench:workerd:profile`: where a streamed token's CPU goes in workerd.
 *
 * Starts the same local upstream and workerd as `npm run bench:workerd`
 * (workerd-rig.ts), then for each path (the Worker, `store: false`, the
 * do-nothing stream, native pass-through, the pull floors) samples the workerd
 * processes with `perf record -e cpu-clock` while one answer streams through
 * it, reads the samples back with `perf script`, and sorts each sample's own
 * function (the leaf, not its callers) into a few categories: the kernel, the
 * runtime's I/O machinery, V8 itself, JavaScript compiled by V8, the JS API
 * bindings, malloc, the inspector. Prints a Markdown table of CPU per 1,000
 * tokens per category and path, the symbols that differ most between the
 * Worker and the do-nothing stream, then single operations in a hot loop
 * inside workerd (bench/workerd/ops.ts) for scale.
 *
 * Needs Linux `perf` with access to the processes (perf_event_paranoid ≤ 2 for
 * your own processes); without it only the hot-loop section runs. A
 * benchmark, not a test. Environment: BENCH_PROFILE_TOKENS (default 6000),
 * BENCH_TPS (default 1000), BENCH_PROFILE_REPS (default 3, runs summed, paths
 * interleaved), BENCH_SKIP_OPS=1, BENCH_SKIP_PERF=1, BENCH_HOST (wrangler, the
 * default, or miniflare: no proxy and no inspector).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { cpuMs, f1, f2, median, sleep, startUpstream, startWorkerd, streamAnswer, TARGETS, type Target, type Workerd } from "./workerd-rig.ts";

const TOKENS = Number(process.env.BENCH_PROFILE_TOKENS ?? 6000);
const TPS = Number(process.env.BENCH_TPS ?? 1000);
const REPS = Number(process.env.BENCH_PROFILE_REPS ?? 3);
/** One sample per this much CPU time (cpu-clock counts nanoseconds), so samples × period = CPU time. */
const PERIOD_NS = 100_000;
const SAMPLE_MS = PERIOD_NS / 1e6;

const { worker: WORKER, identity: IDENTITY } = TARGETS;
const targets: Target[] = [WORKER, TARGETS.noStore, IDENTITY, TARGETS.native, TARGETS.floorPull, TARGETS.floorParse];

// ---- categories, by the sampled function's own name and library ----

const CATEGORIES = [
  "kernel (syscalls, scheduler, network stack)",
  "workerd I/O runtime (kj, capnp, tokio/hyper, IoContext)",
  "V8 (interpreter, builtins, GC, compiler, runtime calls)",
  "JS compiled by V8 (JIT code)",
  "jsg / streams and other API bindings",
  "malloc / free",
  "inspector / async tracing",
  "other (libc, unresolved)",
] as const;
type Category = (typeof CATEGORIES)[number];
const [KERNEL, RUNTIME, V8, JIT, API, MALLOC, INSPECTOR, OTHER] = CATEGORIES;

/** The leading namespace path of a demangled C++/Rust name: `v8::internal::Heap::Scavenge` → `v8::internal::Heap`. */
function namespaceOf(sym: string): string {
  let s = sym.replace(/^(?:non-virtual thunk to |virtual thunk to |void |\(anonymous namespace\)::)/, "");
  // Rust trait impls: `<tokio::io::PollEvented<E> as ...>::poll` → `tokio::io::PollEvented`.
  if (s.startsWith("<")) s = s.slice(1);
  const m = s.match(/^[\w$]+(?:::[\w$]+)*/);
  return m ? m[0] : s;
}

function categorize(sym: string, dso: string): Category {
  if (dso.startsWith("[kernel") || dso === "[guest.kernel.kallsyms]") return KERNEL;
  // Code V8 generated at run time: perf sees anonymous executable memory and names it [JIT] (or cannot resolve it).
  // perf finds it through the /tmp/perf-<pid>.map workerd names, without symbols.
  if (dso.startsWith("[JIT]") || /^\/tmp\/perf-\d+\.map$/.test(dso) || dso.startsWith("//anon") || dso.startsWith("[anon")) return JIT;
  const ns = namespaceOf(sym);
  if (/inspector|Inspector|async_trace/.test(ns) || /InspectorSink|async_trace|isInspectorEnabled/.test(sym)) return INSPECTOR;
  if (/tcmalloc|TCMalloc|^je_|^malloc|^free$|^cfree|^realloc|^calloc|^_int_(malloc|free)|^operator (new|delete)|^posix_memalign|^aligned_alloc/.test(ns) || /^(malloc|free|_int_malloc|_int_free|cfree)/.test(sym)) return MALLOC;
  if (/^workerd::(jsg|api)\b/.test(ns) || /^jsg::/.test(ns)) return API;
  if (/^(v8|cppgc|heap::base)\b/.test(ns) || /^Builtins?_|^Builtin:|^v8_/.test(sym)) return V8;
  // C++ (kj, capnp, workerd's own) and Rust crates (kj_hyper, tokio, hyper, futures_util, …).
  if (/^(kj|kj_\w+|capnp|workerd|workerd_\w+|edgeworker|tokio\w*|hyper\w*|h2|mio|futures\w*|bytes|http\w*|cxxbridge\w*)(::|$)/.test(ns)) return RUNTIME;
  return OTHER;
}

// ---- perf ----

function perfAvailable(): string | null {
  const r = spawnSync("perf", ["--version"], { encoding: "utf8" });
  if (r.error) return `\`perf\` is not installed or not on PATH (${(r.error as NodeJS.ErrnoException).code}); install it (Debian: apt-get install linux-perf) to profile.`;
  return r.status === 0 ? null : `\`perf --version\` failed: ${r.stderr}`;
}

interface Profile {
  /** Samples per category of the Worker's workerd process. */
  runtime: Map<Category, number>;
  /** Samples per symbol of the Worker's workerd process. */
  symbols: Map<string, number>;
  /** Samples of wrangler's proxy process, all categories. */
  proxy: number;
  /** CPU of the Worker's workerd from /proc over the same time, a cross-check of the sample count. */
  procMs: number;
  tokens: number;
}

/** Each symbol's category, as `perf script` named it with its library. */
const categoryOf = new Map<string, Category>();

const add = <K>(m: Map<K, number>, k: K, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

async function record(w: Workerd, target: Target, file: string): Promise<number> {
  const perf = spawn("perf", ["record", "-e", "cpu-clock", "-c", String(PERIOD_NS), "-o", file, "-p", [...w.runtime, ...w.proxy].join(",")], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  perf.stderr!.on("data", (d) => (err += d));
  const exited = new Promise<boolean>((r) => perf.on("exit", (code, signal) => r(code === 0 || signal === "SIGINT")));
  // perf needs a moment to attach to every thread.
  await sleep(700);
  if (perf.exitCode !== null) throw new Error(`perf record failed: ${err}`);
  const before = cpuMs(w.runtime);
  await streamAnswer(w.url, target, TOKENS, TPS);
  await sleep(100);
  const procMs = cpuMs(w.runtime) - before;
  perf.kill("SIGINT");
  if (!(await exited)) throw new Error(`perf record failed: ${err}`);
  return procMs;
}

/** `perf script` lines are `pid ip symbol (dso)`. */
async function readSamples(file: string, w: Workerd, into: Profile): Promise<void> {
  const runtime = new Set(w.runtime);
  const perf = spawn("perf", ["script", "-i", file, "-F", "pid,ip,sym,dso"], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<number | null>((r) => perf.on("exit", (code) => r(code)));
  let err = "";
  perf.stderr!.on("data", (d) => (err += d));
  for await (const line of createInterface({ input: perf.stdout! })) {
    const m = line.match(/^\s*(\d+)\s+[0-9a-f]+\s+(.*) \((.*)\)\s*$/);
    if (!m) continue;
    const [, pid, sym, dso] = m as unknown as [string, string, string, string];
    if (!runtime.has(Number(pid))) {
      into.proxy++;
      continue;
    }
    const category = categorize(sym, dso);
    const name = sym === "[unknown]" ? `[unknown] in ${dso}` : sym.replace(/\+0x[0-9a-f]+$/, "");
    categoryOf.set(name, category);
    add(into.runtime, category);
    add(into.symbols, name);
  }
  if ((await exited) !== 0) throw new Error(`perf script failed: ${err}`);
}

async function profile(w: Workerd): Promise<Map<Target, Profile>> {
  const dir = mkdtempSync(join(tmpdir(), "responses-bridge-perf-"));
  const out = new Map<Target, Profile>(targets.map((t) => [t, { runtime: new Map(), symbols: new Map(), proxy: 0, procMs: 0, tokens: 0 }]));
  try {
    for (let r = 0; r < REPS; r++) {
      for (const t of targets) {
        const file = join(dir, "perf.data");
        const p = out.get(t)!;
        p.procMs += await record(w, t, file);
        p.tokens += TOKENS;
        await readSamples(file, w, p);
        rmSync(file, { force: true });
      }
      process.stderr.write(`profile run ${r + 1}/${REPS}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function profileTables(profiles: Map<Target, Profile>, host: string, proxied: boolean): string {
  const perK = (samples: number, p: Profile) => (samples * SAMPLE_MS * 1000) / p.tokens;
  const total = (p: Profile) => [...p.runtime.values()].reduce((a, b) => a + b, 0);
  const rows = [
    `${host}: CPU per 1,000 tokens of the Worker's workerd process by category (ms, and share of that path's total), ${REPS} × ${TOKENS}-token answers at ${TPS} tok/s per path, interleaved; \`perf record -e cpu-clock\`, one sample per ${PERIOD_NS / 1000} µs of CPU, each sample counted where it was (its own function, not its callers).\n`,
    `| category | ${targets.map((t) => t.label).join(" | ")} |`,
    `|---|${targets.map(() => "---:|").join("")}`,
  ];
  for (const c of CATEGORIES) {
    rows.push(`| ${c} | ${targets.map((t) => {
      const p = profiles.get(t)!;
      const n = p.runtime.get(c) ?? 0;
      return `${f1(perK(n, p))} (${((n / total(p)) * 100).toFixed(0)}%)`;
    }).join(" | ")} |`);
  }
  rows.push(`| **total, samples** | ${targets.map((t) => `**${f1(perK(total(profiles.get(t)!), profiles.get(t)!))}**`).join(" | ")} |`);
  rows.push(`| total, /proc over the same streams | ${targets.map((t) => f1((profiles.get(t)!.procMs * 1000) / profiles.get(t)!.tokens)).join(" | ")} |`);
  rows.push(`| × do-nothing (samples) | ${targets.map((t) => f2(total(profiles.get(t)!) / profiles.get(t)!.tokens / (total(profiles.get(IDENTITY)!) / profiles.get(IDENTITY)!.tokens))).join(" | ")} |`);
  if (proxied) rows.push(`| wrangler's proxy process (not above) | ${targets.map((t) => f1(perK(profiles.get(t)!.proxy, profiles.get(t)!))).join(" | ")} |`);

  // The symbols that differ most between the Worker and the do-nothing stream, per 1,000 tokens.
  const a = profiles.get(WORKER)!;
  const b = profiles.get(IDENTITY)!;
  const names = new Set([...a.symbols.keys(), ...b.symbols.keys()]);
  const diff = [...names].map((s) => ({ s, a: perK(a.symbols.get(s) ?? 0, a), b: perK(b.symbols.get(s) ?? 0, b) })).map((d) => ({ ...d, d: d.a - d.b }));
  diff.sort((x, y) => Math.abs(y.d) - Math.abs(x.d));
  rows.push(
    "",
    "The functions whose CPU per 1,000 tokens differs most between the Worker and the do-nothing stream (ms; differences of a few tenths are noise):\n",
    "| function | category | Worker | do-nothing | difference |",
    "|---|---|---:|---:|---:|",
  );
  for (const d of diff.slice(0, 15)) rows.push(`| ${fn(d.s)} | ${short(categoryOf.get(d.s)!)} | ${f2(d.a)} | ${f2(d.b)} | ${d.d >= 0 ? "+" : ""}${f2(d.d)} |`);

  // What each category holds: its largest functions in the do-nothing stream.
  rows.push("", "The largest functions of each category in the do-nothing stream (ms per 1,000 tokens):\n", "| category | functions |", "|---|---|");
  for (const c of CATEGORIES) {
    const top = [...b.symbols].filter(([s, n]) => categoryOf.get(s) === c && perK(n, b) >= 0.05).sort((x, y) => y[1] - x[1]).slice(0, 4);
    rows.push(`| ${short(c)} | ${top.map(([s, n]) => `${fn(s, 60)} ${f1(perK(n, b))}`).join(", ")} |`);
  }
  return rows.join("\n");
}

const short = (c: Category) => c.split(" (")[0]!;
const fn = (s: string, max = 90) => `\`${s.length > max ? `${s.slice(0, max)}…` : s}\``;

// ---- single operations in a hot loop (bench/workerd/ops.ts) ----

const OPS: Array<[op: string, what: string]> = [
  ["await", "`await` of a plain value (one microtask turn)"],
  ["decode", "`TextDecoder.decode` of one 190-byte upstream chunk, `stream: true`"],
  ["encode", "`TextEncoder.encode` of one 230-byte delta event"],
  ["encodeInto", "`TextEncoder.encodeInto` of the same into a shared block"],
  ["JSON.parse", "`JSON.parse` of one upstream chunk"],
  ["JSON.stringify", "`JSON.stringify` of one token's text"],
  ["eventsource-parser", "`eventsource-parser` feed of one chunk"],
  ["Date.now", "`Date.now()`"],
  ["enqueue+read", "a JS `ReadableStream`: `enqueue` one chunk, `await read()` it (no I/O)"],
  ["write+read", "a `TransformStream`: `write` one chunk, `await read()` it (no I/O)"],
  ["pump", "this library's whole conversion of one token: decode, frame, parse, convert, serialize, encode"],
  ["pump-noencode", "the same without the encode"],
];

async function opCost(w: Workerd, op: string, n: number): Promise<{ ms: number; wall: number }> {
  const t0 = performance.now();
  const before = cpuMs(w.runtime);
  const res = await fetch(`${w.url}/bench/ops/${op}?n=${n}`);
  const body = await res.text();
  if (!res.ok) throw new Error(`op ${op}: ${res.status} ${body}`);
  await sleep(30);
  return { ms: cpuMs(w.runtime) - before, wall: performance.now() - t0 };
}

async function opsTable(w: Workerd, perToken: number | null): Promise<string> {
  const rows = [
    `Single operations in a hot loop inside the Worker's workerd (bench/workerd/ops.ts; workerd's clocks stand still while JavaScript runs, so the CPU time of the process around each request; each op run for about half a second, median of 3)${perToken ? `, against the ${f1(perToken)} µs of CPU a token costs the do-nothing stream in the profile above` : ""}:\n`,
    `| operation | µs per op |${perToken ? " share of a do-nothing token |" : ""}`,
    `|---|---:|${perToken ? "---:|" : ""}`,
  ];
  for (const [op, what] of OPS) {
    await opCost(w, op, 2000);
    // Size the loop to about half a second (the CPU clock ticks in 10 ms).
    const probe = await opCost(w, op, 20_000);
    const n = Math.max(20_000, Math.round((20_000 * 500) / Math.max(probe.wall, 1)));
    const us: number[] = [];
    for (let r = 0; r < 3; r++) us.push(((await opCost(w, op, n)).ms * 1000) / n);
    const m = median(us);
    rows.push(`| ${what} | ${m < 0.1 ? m.toFixed(3) : f2(m)} |${perToken ? ` ${((m / perToken) * 100).toFixed(2)}% |` : ""}`);
  }
  return rows.join("\n");
}

// ---- run ----

const missing = process.env.BENCH_SKIP_PERF ? "skipped (BENCH_SKIP_PERF)" : perfAvailable();
const upstream = await startUpstream();
try {
  const w = await startWorkerd(upstream.url);
  try {
    for (const t of targets) await streamAnswer(w.url, t, 300, 10_000);
    let perToken: number | null = null;
    if (missing) console.log(`\nperf profile: ${missing}\n`);
    else {
      const profiles = await profile(w);
      const id = profiles.get(IDENTITY)!;
      perToken = (id.procMs * 1000) / id.tokens;
      console.log(`\n${profileTables(profiles, w.host, w.proxy.length > 0)}\n`);
    }
    if (!process.env.BENCH_SKIP_OPS) console.log(`${await opsTable(w, perToken)}\n`);
  } finally {
    await w.stop();
  }
} finally {
  upstream.close();
}
