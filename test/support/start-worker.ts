import { type ChildProcess, type ChildProcessByStdio, type SpawnOptions, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";

/** A port nobody listens on right now, with the next one free too (wrangler's inspector takes port + 1). Picked by the OS, then checked. */
export async function freePortPair(): Promise<number> {
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await listen(0);
    if (port >= 65_535) continue;
    if (await listen(port + 1).then(() => true, () => false)) return port;
  }
  throw new Error("no free port pair on 127.0.0.1");
}

/**
 * Process groups this test process started and has not stopped yet. wrangler's
 * launcher re-executes the real CLI, which starts workerd: killing the launcher
 * alone leaves them running (and holding the port), so every start is its own
 * group and the whole group is killed. If the test process exits without
 * stopping one (a crash, a hook that timed out), the exit handler still does.
 */
const running = new Set<number>();
let exitHookInstalled = false;

/** Kills a whole process group; a group already gone is fine. */
export function killGroup(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Spawns `command` (stdout and stderr piped) as the leader of its own process group, killed with its children on `stopGroup` or when this process exits. */
export function spawnGroup(command: string, args: string[], options: Omit<SpawnOptions, "stdio" | "detached">): ChildProcessByStdio<null, Readable, Readable> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    const killAll = () => {
      for (const pid of running) killGroup(pid);
    };
    process.on("exit", killAll);
    // A signal ends the process without "exit" (a runner killed from outside, Ctrl-C): the groups go first,
    // then the signal is raised again for its default effect.
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.once(signal, () => {
        killAll();
        process.kill(process.pid, signal);
      });
    }
  }
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"], detached: true });
  running.add(child.pid!);
  child.once("exit", () => {
    // The leader is gone; what it started may not be (workerd under the CLI).
    killGroup(child.pid!);
    running.delete(child.pid!);
  });
  return child;
}

/** SIGTERM to the group, SIGKILL after `graceMs`, resolved when the leader has exited. */
export async function stopGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  const pid = child.pid!;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, "exit");
    killGroup(pid, "SIGTERM");
    const timer = setTimeout(() => killGroup(pid, "SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }
  killGroup(pid, "SIGKILL");
  running.delete(pid);
}

/**
 * Starts the Worker for real with `wrangler dev` (workerd, local mode) in front
 * of `upstream`, and resolves once it answers. Nothing leaves the machine:
 * local mode, no metrics, loopback only. `port` defaults to a free pair the OS picked.
 */
export async function startWorker(
  upstream: string,
  port?: number,
  vars: Record<string, string> = {},
  /** Another wrangler config (the workerd benchmark's). */
  config?: string,
  /** More environment for wrangler itself (e.g. `WRANGLER_LOG: "log"` to see the Worker's console.log lines). */
  processEnv: Record<string, string> = {},
): Promise<{ url: string; pid: number; stop(): Promise<void>; output(): string }> {
  port ??= await freePortPair();
  // Each Worker its own storage (stored responses' Durable Objects), gone when it stops: runs never see each other's state.
  const persist = mkdtempSync(join(tmpdir(), "responses-bridge-wrangler-"));
  const args = ["dev", "--local", ...(config ? ["--config", config] : []), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(port + 1), "--show-interactive-dev-session=false", "--persist-to", persist, "--var", `UPSTREAM_BASE_URL:${upstream}/v1`];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const child = spawnGroup("wrangler", args, {
    cwd: new URL("../..", import.meta.url).pathname,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_LOG: "warn", CI: "true", NO_UPDATE_NOTIFIER: "1", ...processEnv },
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const stop = async () => {
    await stopGroup(child);
    rmSync(persist, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`wrangler dev exited early:\n${log}`);
    }
    try {
      const r = await fetch(`${url}/v1/models`);
      await r.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler dev did not start within 60 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { url, pid: child.pid!, output: () => log, stop };
}
