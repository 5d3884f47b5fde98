import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { startWorker } from "../../test/support/start-worker.ts";
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1_761_000_000, model: "bench", system_fingerprint: "fp_bench", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const server = createServer(async (req, res) => {
  let body = ""; for await (const c of req) body += c;
  if (!req.url?.endsWith("/chat/completions")) { res.writeHead(200, { "content-type": "application/json" }); return res.end('{"object":"list","data":[]}'); }
  const [, n, tps] = ((JSON.parse(body) as { model: string }).model.match(/^bench-(\d+)-(\d+)$/) ?? []).map(Number);
  res.writeHead(200, { "content-type": "text/event-stream" });
  res.write(chunk({ role: "assistant", content: "" }));
  const start = performance.now();
  for (let i = 0; i < n!; i++) { const wait = start + (i * 1000) / tps! - performance.now(); if (wait > 0) await new Promise((r) => setTimeout(r, wait)); res.write(chunk({ content: ` tok${i}` })); }
  res.write(chunk({}, "stop"));
  res.end("data: [DONE]\n\n");
});
await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
const up = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const w = await startWorker(up, 32000 + Math.floor(Math.random() * 2000) * 2, {}, "bench/workerd/wrangler.toml");
function workerdPids(root: number): number[] {
  const procs: any[] = [];
  for (const d of readdirSync("/proc")) { if (!/^\d+$/.test(d)) continue; try { const s = readFileSync(`/proc/${d}/stat`, "utf8"); const c = s.lastIndexOf(")"); const comm = s.slice(s.indexOf("(") + 1, c); const f = s.slice(c + 2).split(" "); procs.push({ pid: +d, ppid: +f[1], comm }); } catch {} }
  const under = new Set([root]); for (let g = true; g;) { g = false; for (const p of procs) if (!under.has(p.pid) && under.has(p.ppid)) { under.add(p.pid); g = true; } }
  return procs.filter((p) => under.has(p.pid) && p.comm.includes("workerd")).map((p) => p.pid);
}
async function stream(path: string, n: number) {
  const res = await fetch(`${w.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: `bench-${n}-1000`, input: "hi", stream: true }) });
  const r = res.body!.getReader(); for (;;) { const { done } = await r.read(); if (done) break; }
}
const paths = (process.env.PATHS ?? "/v1/responses,/bench/identity,/bench/shape/floor-parse").split(",");
try {
  for (const p of paths) await stream(p, 300);
  const pids = workerdPids(w.pid);
  for (const p of paths) {
    const name = p.replaceAll("/", "_");
    const rec = spawn("perf", ["record", "-e", "cpu-clock", "-F", "4000", "-g", "-o", `/tmp/perf${name}.data`, "-p", pids.join(",")], { stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 500));
    await stream(p, Number(process.env.N ?? 6000));
    rec.kill("SIGINT");
    await new Promise((r) => rec.on("exit", r));
    console.log("recorded", p);
  }
} finally { await w.stop(); server.close(); server.closeAllConnections(); }
