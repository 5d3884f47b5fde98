import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Starts the Worker for real with `wrangler dev` (workerd, local mode) in front
 * of `upstream`, and resolves once it answers. Nothing leaves the machine:
 * local mode, no metrics, loopback only.
 */
export async function startWorker(
  upstream: string,
  port: number,
  vars: Record<string, string> = {},
  /** Another wrangler config (the workerd benchmark's). */
  config?: string,
): Promise<{ url: string; pid: number; stop(): Promise<void>; output(): string }> {
  // Each Worker its own storage (stored responses' Durable Objects), gone when it stops: runs never see each other's state.
  const persist = mkdtempSync(join(tmpdir(), "responses-bridge-wrangler-"));
  const args = ["dev", "--local", ...(config ? ["--config", config] : []), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(port + 1), "--show-interactive-dev-session=false", "--persist-to", persist, "--var", `UPSTREAM_BASE_URL:${upstream}/v1`];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const child: ChildProcess = spawn("wrangler", args, {
    cwd: new URL("../..", import.meta.url).pathname,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_LOG: "warn", CI: "true", NO_UPDATE_NOTIFIER: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${log}`);
    try {
      const r = await fetch(`${url}/v1/models`);
      await r.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`wrangler dev did not start within 60 s:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    url,
    pid: child.pid!,
    output: () => log,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await once(child, "exit");
        clearTimeout(timer);
      }
      rmSync(persist, { recursive: true, force: true });
    },
  };
}
