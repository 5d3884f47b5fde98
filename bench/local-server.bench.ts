/**
 * `node bench/local-server.bench.ts`: the time from `npx responses-bridge-server`
 * to the first streamed token, as a user on a laptop would see it.
 *
 * Packs both packages and installs them once (test/server/installed.ts: this
 * warms the machine's npm cache with Miniflare, workerd, …), then:
 * - "npx, warm npm cache": `npx --package <library.tgz> --package <server.tgz>
 *   responses-bridge-server …` in an empty folder, with npx's own install of
 *   these tarballs (its folder in the cache's _npx/, created by a first run; only
 *   that one is deleted) removed before each run, so npx installs from the cache
 *   (what a user's `npx responses-bridge-server` costs once the packages are cached);
 * - "npx, already installed by npx": the same, _npx/ kept;
 * - "installed in the project": `npx responses-bridge-server` where the
 *   tarballs are in node_modules.
 * Each run: spawn → the "listening" line → a streamed `POST /v1/responses` to a
 * local scripted chat server → its first `response.output_text.delta`. The
 * process group is stopped after each run. Environment: BENCH_REPS (default 3).
 */
import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { scriptedUpstream } from "../test/support/scripted-upstream.ts";
import { serve } from "../test/support/serve.ts";
import { groupAlive, packAndInstall, PATH } from "../test/server/installed.ts";

const REPS = Number(process.env.BENCH_REPS ?? 3);

async function firstToken(url: string): Promise<void> {
  const res = await fetch(`${url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "scripted-text", input: "Hi", stream: true }) });
  const reader = res.body!.getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`no output_text.delta in:\n${text}`);
    text += new TextDecoder().decode(value);
    if (text.includes("response.output_text.delta")) return void (await reader.cancel());
  }
}

/** Milliseconds from spawning `npx …args` in `cwd` to the first token; stops the process group. */
async function timeOne(cwd: string, args: string[], env: Record<string, string>): Promise<{ ready: number; token: number }> {
  const t0 = performance.now();
  const child = spawn("npx", args, { cwd, env: { ...process.env, PATH, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  try {
    let url: string | undefined;
    while (!(url = /listening on (http:\/\/\S+)/.exec(out)?.[1])) {
      if (child.exitCode !== null || performance.now() - t0 > 120_000) throw new Error(`did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const ready = performance.now() - t0;
    await firstToken(url);
    return { ready, token: performance.now() - t0 };
  } finally {
    process.kill(-child.pid!, "SIGINT");
    const until = Date.now() + 10_000;
    while (groupAlive(child.pid!) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    if (groupAlive(child.pid!)) process.kill(-child.pid!, "SIGKILL");
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const { dir, app, tarballs } = packAndInstall();
const upstream = await serve(scriptedUpstream);
const npxDir = join(execFileSync("npm", ["config", "get", "cache"], { encoding: "utf8", env: { ...process.env, PATH } }).trim(), "_npx");
let ours: string[] = [];
try {
  const list = () => new Set((() => { try { return readdirSync(npxDir); } catch { return []; } })());
  const empty = join(dir, "empty");
  mkdirSync(empty);
  const serveArgs = ["--upstream", `${upstream.url}/v1`, "--port", "0", "--data", join(dir, "data")];
  const viaNpx = ["--yes", ...tarballs.flatMap((t) => ["--package", t]), "responses-bridge-server", ...serveArgs];
  const env = { npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
  const before = list();
  await timeOne(empty, viaNpx, env);
  // Ours: new since, and naming our tarball (other processes may use npx meanwhile).
  ours = [...list()].filter((d) => !before.has(d) && readFileSync(join(npxDir, d, "package.json"), "utf8").includes(tarballs[1]!));
  if (ours.length !== 1) throw new Error(`expected one new folder in ${npxDir}, found ${ours.join(", ")}`);

  const cases: Array<[string, () => Promise<{ ready: number; token: number }>]> = [
    ["npx, warm npm cache (npx installs from the cache)", () => (rmSync(join(npxDir, ours[0]!), { recursive: true, force: true }), timeOne(empty, viaNpx, env))],
    ["npx, already installed by an earlier npx", () => timeOne(empty, viaNpx, env)],
    ["installed in the project (`npm i responses-bridge-server`)", () => timeOne(app, ["--no-install", "responses-bridge-server", ...serveArgs], env)],
  ];
  const rows: string[] = [];
  for (const [name, run] of cases) {
    const runs = [];
    for (let i = 0; i < REPS; i++) runs.push(await run());
    const tokens = runs.map((r) => r.token);
    rows.push(`| ${name} | ${s(median(runs.map((r) => r.ready)))} | ${s(median(tokens))} | ${s(Math.min(...tokens))}–${s(Math.max(...tokens))} |`);
    process.stderr.write(`${name}: ${tokens.map(s).join(", ")}\n`);
  }
  process.stdout.write(`| How it was started | to "listening" (median) | to the first token (median) | range (${REPS} runs) |\n|---|---|---|---|\n${rows.join("\n")}\n`);
} finally {
  await upstream.close();
  if (ours[0]) rmSync(join(npxDir, ours[0]), { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
}
