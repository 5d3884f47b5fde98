import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Child processes get this Node (22+, as Miniflare needs) first on PATH, as `npx` would find it. */
export const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ""}`;

/**
 * Both packages as a user gets them: `npm pack` of the library and of server/
 * into `dir`, then `npm install` of the two tarballs into an empty folder
 * (everything else from the npm registry, or its cache). Returns that folder.
 */
export function packAndInstall(dir = mkdtempSync(join(tmpdir(), "responses-bridge-server-"))): { dir: string; app: string; tarballs: string[] } {
  const run = (args: string[], cwd: string) => execFileSync("npm", args, { cwd, env: { ...process.env, PATH }, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  const packed = (cwd: string, scripts = true) => join(dir, run(["pack", "--pack-destination", dir, "--loglevel=error", ...(scripts ? [] : ["--ignore-scripts"])], cwd).trim().split("\n").at(-1)!);
  // The library's prepack rebuilds dist/, which other test projects may be reading: skipped when dist/ is newer than src/.
  const tarballs = [packed(ROOT, !libraryBuilt()), packed(join(ROOT, "server"))];
  const app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), '{ "private": true }\n');
  run(["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...tarballs], app);
  return { dir, app, tarballs };
}

function libraryBuilt(): boolean {
  const newest = (dir: string): number => Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  try {
    return statSync(join(ROOT, "dist", "index.js")).mtimeMs > newest(join(ROOT, "src"));
  } catch {
    return false;
  }
}

export interface Bin {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Ctrl-C: SIGINT to the whole process group (npx, the bin, workerd); resolves with npx's exit code once every process of the group is gone (SIGKILL after 10 s). */
  stop(): Promise<number | null>;
}

const started = new Set<number>();
let exitHook = false;

/**
 * `npx responses-bridge-server …args` in `app`, in a process group of its own (killed if this
 * process exits first). Not test/support's spawnGroup: that kills the group as soon as npx
 * exits, and the point here is to see the bin stop by itself on Ctrl-C.
 */
export function npx(app: string, args: string[], env: Record<string, string> = {}): Bin {
  if (!exitHook) {
    exitHook = true;
    process.on("exit", () => {
      for (const pid of started) if (groupAlive(pid)) process.kill(-pid, "SIGKILL");
    });
  }
  const child = spawn("npx", ["--no-install", "responses-bridge-server", ...args], { cwd: app, env: { PATH, HOME: process.env.HOME ?? app, ...env }, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  started.add(child.pid!);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const group = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {}
  };
  return {
    child,
    output: () => out,
    exited,
    async stop() {
      group("SIGINT");
      const until = Date.now() + 10_000;
      while (groupAlive(child.pid!) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      group("SIGKILL");
      return exited;
    },
  };
}

/** Waits for the "listening on http://…" line; the origin. */
export async function listening(bin: Bin, timeoutMs = 60_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const m = /listening on (http:\/\/\S+)/.exec(bin.output());
    if (m) return m[1]!;
    if (bin.child.exitCode !== null || Date.now() > until) throw new Error(`responses-bridge-server did not start:\n${bin.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether any process of the group is still alive. */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
