/**
 * `npm run bench:store`: stored conversations (issue 17), measured in workerd.
 *
 * The product Worker (plus bench/store/worker.ts's two bench routes) runs in
 * workerd through Miniflare, its Durable Object storage persisted to a fresh
 * directory; a chat-completions server on loopback stands in for the upstream
 * and notes, per request, when its headers arrived, when the body had been read
 * and when it answered.
 *
 * 1. Storage: chains of 10, 100 and 1,000 turns of 10 KB and of 100 KB (half a
 *    user message, half an answer) are stored turn by turn (`/bench/put`: the
 *    Worker's own `put`, into the same object, without running each turn through
 *    the upstream, which would send the whole history every turn: 50 GB for the
 *    100 KB × 1,000 chain). Bytes: the object's SQLite size (`databaseSize`,
 *    what Cloudflare bills) and the files on disk, against the conversation's
 *    own bytes (UTF-8 of every message's text).
 * 2. Latency: a continuation through the Worker (`previous_response_id`, a 10 KB
 *    message, streamed) at turn 10, 100 and 1,000 of the 10 KB chains (and 10,
 *    100 of the 100 KB ones): time to first byte at the client, split on one
 *    clock (the upstream runs in this process) into the bridge's work before the
 *    upstream call, the request body's transfer (which really grows; a large
 *    body streams, so its serialisation overlaps it), the upstream's own time
 *    (whole body in → first byte out) and the way back. Median of RUNS.
 * 3. Waiting for the write: the terminal event's delay after the last delta,
 *    store: true against store: false (the write the terminal event now waits for).
 * 4. 12 turns of 4 MB through the Worker, end to end, then every turn retrieved
 *    and its input items paged through.
 * 5. Conversations (the Conversations API): conversations of 10, 100, 1,000 and
 *    10,000 items of 1 KB (alternately a user message and an answer), each its
 *    own object, built through `/bench/append` in appends of 500 items; their
 *    SQLite size against their bytes; then RUNS turns continuing each through the
 *    Worker (`conversation`, a 100-character message, streamed), split as in 2,
 *    and the terminal event's delay (it waits for the append); then the last of those
 *    responses continued RUNS times by `previous_response_id` (its turn names the
 *    conversation, never copies it): the time before the upstream call and the SQLite
 *    each stored continuation adds. `ONLY_CONVERSATIONS=1` runs this part alone.
 * 6. A background `create` (`background: true`) refuses at create what the foreground refuses, so it prepares
 *    the request (reads and checks the history) before it answers `queued`, and its run prepares it again in
 *    its object: the time to `queued` continuing turn 10, 100 and 1,000 of the 10 KB chains, against a
 *    background create continuing nothing and against the foreground's own preparation (section 2's "before
 *    the upstream call"). Each run is waited for before the next create (untimed). `ONLY_BACKGROUND=1` runs
 *    this part alone (with the chains it needs).
 *
 * Results: bench/store.md.
 */
import { readdirSync, rmSync, statSync, mkdtempSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchWorkerOptions } from "./workerd-rig.ts";

const RUNS = Number(process.env.RUNS ?? 7);
const KEY = "sk-bench-store";

// ---- the upstream ----

interface Timing {
  headers: number;
  body: number;
  answered: number;
  bytes: number;
}
const timings: Timing[] = [];

function chunk(delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_761_000_000, model: "bench", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
}

/** Answers `bench-answer-<chars>` with that many characters, in four chunks; notes its own timings. */
async function upstream(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const t: Timing = { headers: performance.now(), body: 0, answered: 0, bytes: 0 };
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  const body = Buffer.concat(parts);
  t.body = performance.now();
  t.bytes = body.length;
  if (!req.url?.endsWith("/chat/completions")) return void res.end("{}");
  // The model name is near the start: no need to parse megabytes to find it.
  const chars = Number(/"model":"bench-answer-(\d+)"/.exec(body.subarray(0, 4096).toString())?.[1] ?? 100);
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.write(chunk({ role: "assistant", content: "" }));
  t.answered = performance.now();
  timings.push(t);
  const piece = "a".repeat(Math.ceil(chars / 4));
  for (let i = 0; i < 4; i++) res.write(chunk({ content: piece.slice(0, Math.min(piece.length, chars - i * piece.length)) }));
  res.write(chunk({}, "stop"));
  res.end("data: [DONE]\n\n");
}

// ---- the Worker in workerd ----

async function startWorkerd(upstreamUrl: string, persist: string) {
  const [options, { Miniflare }] = await Promise.all([benchWorkerOptions(new URL("store/worker.ts", import.meta.url), "responses-bridge-bench-store", upstreamUrl, {}, true), import("miniflare")]);
  const mf = new Miniflare({ ...options, resourcePersistencePath: persist } as never);
  const url = (await mf.ready).origin;
  return { url, stop: () => mf.dispose() };
}

function diskBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/**
 * The bytes of one object's SQLite file once its write-ahead log is checkpointed into it: workerd leaves a
 * WAL of up to ~4 MB of page versions behind, which SQLite reuses and a deployed object does not bill.
 */
async function objectFileBytes(dir: string, objectId: string): Promise<number> {
  const { DatabaseSync } = await import("node:sqlite");
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name !== `${objectId}.sqlite`) continue;
    const path = join(entry.parentPath, entry.name);
    const db = new DatabaseSync(path);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    return statSync(path).size;
  }
  throw new Error(`no file for object ${objectId}`);
}

// ---- the client ----

let base = "";
const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
const hex = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");
const utf8 = (s: string) => Buffer.byteLength(s);

/** Streams a response; resolves its id, the client's TTFB, the terminal event's delay after the last delta, and the upstream's own time. */
async function respond(body: Record<string, unknown>) {
  const sent = performance.now();
  const before = timings.length;
  const res = await fetch(`${base}/v1/responses`, { method: "POST", headers, body: JSON.stringify({ stream: true, ...body }) });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  const reader = res.body!.getReader();
  let first = 0;
  let lastDelta = 0;
  let terminal = 0;
  let text = "";
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const now = performance.now();
    if (!first) first = now;
    const piece = decoder.decode(value, { stream: true });
    if (piece.includes("response.output_text.delta")) lastDelta = now;
    if (piece.includes("event: response.completed")) terminal = now;
    text += piece.length < 2000 || piece.includes("event: response.completed") ? piece : piece.slice(0, 1000) + piece.slice(-1000);
  }
  const id = /"id":"(resp_[0-9a-f]+)"/.exec(text)![1]!;
  const store = /"store":(true|false)/.exec(text.slice(text.lastIndexOf("response.completed")))![1] === "true";
  const t = timings[before]!;
  // One clock: the upstream runs in this process.
  return { id, store, ttfb: first - sent, prep: t.headers - sent, transfer: t.body - t.headers, own: t.answered - t.body, back: first - t.answered, bytes: t.bytes, terminalDelay: terminal - lastDelta };
}

async function put(turn: unknown): Promise<void> {
  const res = await fetch(`${base}/bench/put`, { method: "POST", headers, body: JSON.stringify({ key: KEY, turn }) });
  if (!res.ok || !((await res.json()) as { stored: boolean }).stored) throw new Error(`put failed: ${res.status}`);
}

async function stats(id: string): Promise<{ databaseSize: number; turns: number; items: number; chunks: number; objectId: string }> {
  return (await fetch(`${base}/bench/stats?key=${KEY}&id=${id}`)).json() as never;
}

type Run = Awaited<ReturnType<typeof respond>>;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = (n: number) => (n / 1e6).toFixed(2);

/** A chain of `turns` turns of `size` bytes stored turn by turn, starting from one real response (whose envelope every turn copies). */
async function buildChain(turns: number, size: number, extra: Record<string, unknown> = {}): Promise<{ ids: string[]; conversation: number }> {
  const half = size / 2;
  const first = await respond({ model: `bench-answer-${half}`, input: "u".repeat(half), ...extra });
  const envelope = (await (await fetch(`${base}/v1/responses/${first.id}`, { headers })).json()) as Record<string, unknown>;
  const shard = first.id.slice(5, 21);
  const id = (prefix: string) => `${prefix}_${shard}${hex(16)}`;
  const ids = [first.id];
  for (let n = 1; n < turns; n++) {
    const rid = id("resp");
    const output = [{ id: id("msg"), type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", annotations: [], logprobs: [], text: "a".repeat(half) }] }];
    const input = [{ type: "message", id: id("msg"), role: "user", content: [{ type: "input_text", text: "u".repeat(half) }] }];
    await put({ response: { ...envelope, id: rid, previous_response_id: ids.at(-1), output }, previous: ids.at(-1), input });
    ids.push(rid);
  }
  return { ids, conversation: turns * size };
}

/** A conversation of `n` items of `size` characters of text each, built through `/bench/append`; its id and the bytes of its text. */
async function buildConversation(n: number, size: number): Promise<{ id: string; bytes: number }> {
  const res = await fetch(`${base}/v1/conversations`, { method: "POST", headers, body: JSON.stringify({ metadata: { bench: String(n) } }) });
  const { id } = (await res.json()) as { id: string };
  const shard = id.slice(5, 21);
  const item = (k: number) =>
    k % 2
      ? { id: `msg_${shard}${hex(16)}`, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", annotations: [], logprobs: [], text: "a".repeat(size) }] }
      : { id: `msg_${shard}${hex(16)}`, type: "message", status: "completed", role: "user", content: [{ type: "input_text", text: "u".repeat(size) }] };
  for (let k = 0; k < n; k += 500) {
    const items = Array.from({ length: Math.min(500, n - k) }, (_, j) => item(k + j));
    const put = await fetch(`${base}/bench/append`, { method: "POST", headers, body: JSON.stringify({ key: KEY, id, items }) });
    if (!put.ok || !((await put.json()) as { stored: boolean }).stored) throw new Error(`append failed: ${put.status}`);
  }
  return { id, bytes: n * size };
}

/** Section 5: conversation storage against its bytes, and the time to continue one. */
async function benchConversations(log: (line: string) => void): Promise<void> {
  const SIZE = 1_000;
  log(`\n## Conversations: storage and continuation (items of ${SIZE / 1000} KB; median of ${RUNS})\n`);
  log("| items | conversation | SQLite (`databaseSize`) | per item | ratio | request to upstream | TTFB at client | before the upstream call | request body transfer | last delta → terminal event (append) |");
  log("|---|---|---|---|---|---|---|---|---|---|");
  const continued: string[] = [];
  for (const n of (process.env.ITEMS ?? "10,100,1000,10000").split(",").map(Number)) {
    const { id, bytes } = await buildConversation(n, SIZE);
    const s = await stats(id);
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await respond({ model: "bench-answer-100", conversation: id, input: "q".repeat(100) }));
    const m = (f: (r: Run) => number) => `${median(runs.map(f)).toFixed(1)} ms`;
    const row = [n, `${mb(bytes)} MB`, `${mb(s.databaseSize)} MB`, `${(s.databaseSize / n).toFixed(0)} B`, (s.databaseSize / bytes).toFixed(2), `${mb(runs[0]!.bytes)} MB`, m((r) => r.ttfb), m((r) => r.prep), m((r) => r.transfer), m((r) => r.terminalDelay)];
    log(`| ${row.join(" | ")} |`);
    continued.push(await continueConversationResponse(n, id, runs.at(-1)!.id));
  }
  log(`\n### A response made in a conversation, continued by \`previous_response_id\` (median of ${RUNS})\n`);
  log("| items before it | request to upstream | before the upstream call | SQLite growth per stored continuation |");
  log("|---|---|---|---|");
  for (const line of continued) log(line);
}

/** Continues the last response made in the conversation (which names the conversation's items, never copies them): what it sends and what each stored turn adds. */
async function continueConversationResponse(n: number, conversation: string, last: string): Promise<string> {
  const before = await stats(conversation);
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await respond({ model: "bench-answer-100", previous_response_id: last, input: "q".repeat(100) }));
  const after = await stats(conversation);
  const growth = (after.databaseSize - before.databaseSize) / RUNS;
  return `| ${n + 2 * RUNS - 2} | ${mb(runs[0]!.bytes)} MB | ${median(runs.map((r) => r.prep)).toFixed(1)} ms | ${(growth / 1000).toFixed(1)} KB |`;
}

/** Section 6: the time a background create takes to answer `queued`, continuing each chain (its history read and checked first). */
async function benchBackgroundCreate(chains: Array<{ turns: number; size: number; ids: string[] }>, log: (line: string) => void): Promise<void> {
  const queued = async (body: Record<string, unknown>) => {
    const sent = performance.now();
    const res = await fetch(`${base}/v1/responses`, { method: "POST", headers, body: JSON.stringify({ model: "bench-answer-100", input: "q".repeat(10_000), background: true, ...body }) });
    const r = (await res.json()) as { id: string; status: string };
    const ms = performance.now() - sent;
    if (r.status !== "queued") throw new Error(`background create answered ${res.status} ${JSON.stringify(r).slice(0, 300)}`);
    for (let i = 0; i < 600; i++) {
      const now = (await (await fetch(`${base}/v1/responses/${r.id}`, { headers })).json()) as { status: string };
      if (now.status === "completed") return ms;
      if (now.status !== "queued" && now.status !== "in_progress") throw new Error(`background run ${r.id} ended ${now.status}`);
      await new Promise((done) => setTimeout(done, 20));
    }
    throw new Error(`background run ${r.id} never finished`);
  };
  log(`\n## A background create's time to \`queued\` (median of ${RUNS}; a 10 KB message; the create prepares the request before it answers)\n`);
  log("| continues | history | create → `queued` | foreground: before the upstream call |");
  log("|---|---|---|---|");
  const fresh: number[] = [];
  for (let i = 0; i < RUNS; i++) fresh.push(await queued({}));
  log(`| nothing | 0 MB | ${median(fresh).toFixed(1)} ms | |`);
  for (const { turns, size, ids } of chains) {
    if (size !== 10_000) continue;
    const times: number[] = [];
    const prep: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      times.push(await queued({ previous_response_id: ids.at(-1) }));
      prep.push((await respond({ model: "bench-answer-100", previous_response_id: ids.at(-1), input: "q".repeat(10_000) })).prep);
    }
    log(`| turn ${turns} of 10 KB turns | ${mb(turns * size)} MB | ${median(times).toFixed(1)} ms | ${median(prep).toFixed(1)} ms |`);
  }
}

async function main(): Promise<void> {
  const server = createServer((req, res) => void upstream(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const persist = mkdtempSync(join(tmpdir(), "responses-bridge-bench-store-"));
  const workerd = await startWorkerd(`http://127.0.0.1:${(server.address() as { port: number }).port}`, persist);
  base = workerd.url;
  const lines: string[] = [];
  /** Each chain's object, to weigh its file once the objects are closed (their write-ahead logs checkpointed). */
  const files: Array<{ label: string; objectId: string; last: string; conversation: number }> = [];
  const log = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  let stopped = false;
  try {
    log(`## Storage (RUNS=${RUNS}, Miniflare, persisted SQLite)\n`);
    log("| turns × size | conversation | SQLite (`databaseSize`) | per turn | ratio | on disk (files, delta) | ratio on disk | rows (turns / items) |");
    log("|---|---|---|---|---|---|---|---|");
    const chains: Array<{ turns: number; size: number; ids: string[] }> = [];
    for (const size of (process.env.SIZES ?? "10000,100000").split(",").map(Number)) {
      for (const turns of (process.env.TURNS ?? "10,100,1000").split(",").map(Number)) {
        const disk = diskBytes(persist);
        const { ids, conversation } = await buildChain(turns, size);
        const s = await stats(ids.at(-1)!);
        const onDisk = diskBytes(persist) - disk;
        files.push({ label: `${turns} × ${size / 1000} KB`, objectId: s.objectId, last: ids.at(-1)!, conversation });
        log(`| ${turns} × ${size / 1000} KB | ${mb(conversation)} MB | ${mb(s.databaseSize)} MB | ${(s.databaseSize / turns / 1000).toFixed(1)} KB | ${(s.databaseSize / conversation).toFixed(2)} | ${mb(onDisk)} MB | ${(onDisk / conversation).toFixed(2)} | ${s.turns} / ${s.items} |`);
        chains.push({ turns, size, ids });
      }
    }

    // What Codex sends every turn besides the conversation: long instructions and a dozen tools (kept once per object).
    const codex = { instructions: "You are a coding agent running in a terminal. ".repeat(500), tools: Array.from({ length: 12 }, (_, i) => ({ type: "function", name: `tool_${i}`, description: "Runs a command and returns its output. ".repeat(15), parameters: { type: "object", properties: { cmd: { type: "string" } } } })) };
    const extraBytes = utf8(JSON.stringify(codex));
    const disk = diskBytes(persist);
    const { ids, conversation } = await buildChain(100, 10_000, codex);
    const s = await stats(ids.at(-1)!);
    const onDisk = diskBytes(persist) - disk;
    files.push({ label: "100 × 10 KB, Codex-like", objectId: s.objectId, last: ids.at(-1)!, conversation });
    log(`| 100 × 10 KB, plus ${(extraBytes / 1000).toFixed(0)} KB of instructions and tools echoed in every response (Codex-like) | ${mb(conversation)} MB | ${mb(s.databaseSize)} MB | ${(s.databaseSize / 100 / 1000).toFixed(1)} KB | ${(s.databaseSize / conversation).toFixed(2)} | ${mb(onDisk)} MB | ${(onDisk / conversation).toFixed(2)} | ${s.turns} / ${s.items} |`);
    if (process.env.ONLY_BACKGROUND) {
      await benchBackgroundCreate(chains, log);
      return;
    }
    if (process.env.ONLY_CONVERSATIONS) {
      await benchConversations(log);
      return;
    }
    if (!process.env.ONLY_STORAGE) {

      log(`\n## Continuation latency (median of ${RUNS}; a 10 KB message continuing turn n)\n`);
      log("| chain | turn n | request to upstream | TTFB at client | before the upstream call (read history, expand, translate) | request body transfer | upstream's own | first byte back to client | bridge (TTFB − upstream's own) |");
      log("|---|---|---|---|---|---|---|---|---|");
      for (const { turns, size, ids } of chains) {
        if (size === 100_000 && turns === 1000) continue; // 100 MB per request: past any upstream's context
        const runs: Run[] = [];
        for (let i = 0; i < RUNS; i++) runs.push(await respond({ model: "bench-answer-100", previous_response_id: ids.at(-1), input: "q".repeat(10_000) }));
        const m = (f: (r: Run) => number) => `${median(runs.map(f)).toFixed(1)} ms`;
        log(`| ${size / 1000} KB turns | ${turns} | ${mb(runs[0]!.bytes)} MB | ${m((r) => r.ttfb)} | ${m((r) => r.prep)} | ${m((r) => r.transfer)} | ${m((r) => r.own)} | ${m((r) => r.back)} | ${m((r) => r.ttfb - r.own)} |`);
      }

      log(`\n## The terminal event waits for the write (median of ${RUNS * 3}, a 100-character answer continuing turn 10 of the 10 KB chain)\n`);
      log("| store | last delta → terminal event |");
      log("|---|---|");
      const ten = chains.find((c) => c.turns === 10 && c.size === 10_000)!;
      for (const store of [false, true]) {
        const runs = [];
        for (let i = 0; i < RUNS * 3; i++) runs.push(await respond({ model: "bench-answer-100", previous_response_id: ten.ids.at(-1), input: "q", store }));
        log(`| ${store} | ${median(runs.map((r) => r.terminalDelay)).toFixed(2)} ms |`);
      }

      log("\n## 12 turns of 4 MB through the Worker (48 MB of history)\n");
      log("| turn | request to upstream | TTFB | before the upstream call | request body transfer | stored |");
      log("|---|---|---|---|---|---|");
      let previous: string | null = null;
      const big: string[] = [];
      const FOUR_MB = 4_000_000;
      for (let n = 1; n <= 12; n++) {
        const r = await respond({ model: "bench-answer-100", input: String(n % 10).repeat(FOUR_MB), ...(previous ? { previous_response_id: previous } : {}) });
        log(`| ${n} | ${mb(r.bytes)} MB | ${r.ttfb.toFixed(0)} ms | ${r.prep.toFixed(0)} ms | ${r.transfer.toFixed(0)} ms | ${r.store} |`);
        previous = r.id;
        big.push(r.id);
      }
      let checked = 0;
      for (const [i, id] of big.entries()) {
        const got = await fetch(`${base}/v1/responses/${id}`, { headers });
        if (got.status !== 200) throw new Error(`turn ${i + 1} not retrievable: ${got.status}`);
        await got.arrayBuffer();
        let after = "";
        let items = 0;
        let bytes = 0;
        for (;;) {
          const page = (await (await fetch(`${base}/v1/responses/${id}/input_items?order=asc&limit=5${after}`, { headers })).json()) as { data: Array<{ content: Array<{ text: string }> }>; has_more: boolean; last_id: string };
          items += page.data.length;
          for (const item of page.data) bytes += utf8(item.content[0]!.text);
          if (!page.has_more) break;
          after = `&after=${page.last_id}`;
        }
        if (items !== 2 * i + 1 || bytes !== (i + 1) * FOUR_MB + i * 100) throw new Error(`turn ${i + 1}: ${items} input items, ${bytes} bytes`);
        checked++;
      }
      const last = await stats(big.at(-1)!);
      log(`\nEvery turn retrievable, with all its input items (${checked} of 12 checked: count and bytes). The object: ${mb(last.databaseSize)} MB of SQLite for ${mb(12 * FOUR_MB + 1200)} MB of conversation, ${last.items} item rows, ${last.chunks} chunks.`);
      await benchConversations(log);
      await benchBackgroundCreate(chains, log);
    }
    // By now the chains have more turns (the latency runs' forks): weighed again, to compare with their files.
    const final = new Map<string, { databaseSize: number; turns: number }>();
    for (const f of files) final.set(f.objectId, await stats(f.last));
    await workerd.stop();
    stopped = true;
    log("\n## On disk, once the objects are closed (each object's SQLite file, its write-ahead log checkpointed into it)\n");
    log("| chain | turns now (with the latency runs' forks) | `databaseSize` at the end | file on disk |");
    log("|---|---|---|---|");
    for (const f of files) {
      const size = await objectFileBytes(persist, f.objectId);
      const end = final.get(f.objectId)!;
      log(`| ${f.label} | ${end.turns} | ${mb(end.databaseSize)} MB | ${mb(size)} MB |`);
    }
  } finally {
    if (!stopped) await workerd.stop();
    server.closeAllConnections();
    server.close();
    rmSync(persist, { recursive: true, force: true });
  }
}

await main();
