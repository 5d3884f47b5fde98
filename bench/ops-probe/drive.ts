import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
const TICK = 1000 / Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());
function ticks(pid: number): number {
  const procs: any[] = [];
  for (const d of readdirSync("/proc")) { if (!/^\d+$/.test(d)) continue; try { const s = readFileSync(`/proc/${d}/stat`, "utf8"); const c = s.lastIndexOf(")"); const comm = s.slice(s.indexOf("(") + 1, c); const f = s.slice(c + 2).split(" "); procs.push({ pid: +d, ppid: +f[1], comm, t: +f[11] + +f[12] }); } catch {} }
  const under = new Set([pid]); for (let g = true; g;) { g = false; for (const p of procs) if (!under.has(p.pid) && under.has(p.ppid)) { under.add(p.pid); g = true; } }
  return procs.filter((p) => under.has(p.pid) && p.comm.includes("workerd")).reduce((n, p) => n + p.t, 0);
}
const port = 41000 + Math.floor(Math.random() * 1000);
const child = spawn("/work/main/node_modules/.bin/wrangler", ["dev", "--local", "--config", "/work/main/bench/ops-probe/wrangler.toml", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(port + 1), "--show-interactive-dev-session=false"], { cwd: "/work/main", env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, stdio: ["ignore", "pipe", "pipe"] });
let log = ""; child.stdout!.on("data", (d) => (log += d)); child.stderr!.on("data", (d) => (log += d));
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) { try { await (await fetch(`${url}/v1/models`)).text(); break; } catch { if (i > 120 || child.exitCode !== null) { console.log(log); process.exit(1); } await new Promise((r) => setTimeout(r, 250)); } }
const ops = (process.env.OPS ?? "loop,decode,decode-plain,encode,encodeInto,encodeInto-sub,parse,stringify,esp,js-decode,js-encode,now,pnow,pump,pump-noenc").split(",");
const N = Number(process.env.N ?? 200000);
for (const op of ops) await (await fetch(`${url}/${op}?n=2000`)).text();
const res: Record<string, number[]> = {};
for (let rep = 0; rep < 3; rep++) for (const op of ops) {
  const b = ticks(child.pid!); const r = await (await fetch(`${url}/${op}?n=${N}`)).text(); await new Promise((r) => setTimeout(r, 50)); const a = ticks(child.pid!);
  if (!r.includes('"r"')) console.log(op, r.slice(0, 300));
  (res[op] ??= []).push(((a - b) * TICK * 1000) / N);
}
for (const [op, v] of Object.entries(res)) console.log(op.padEnd(16), v.map((x) => x.toFixed(2)).join("  "), "µs/op");
child.kill("SIGTERM");
