import { killGroup, spawnGroup } from "../support/start-worker.ts";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CODEX = new URL("./node_modules/.bin/codex", import.meta.url).pathname;
/** The previous Codex release, installed beside the current one (`codex-0169` in package.json), for `runCodex`'s `bin`. */
export const CODEX_0169 = new URL("./node_modules/codex-0169/bin/codex.js", import.meta.url).pathname;

/** The key Codex sends (`env_key`); the Worker forwards it, and the scripted upstream accepts anything. */
const BRIDGE_API_KEY = "sk-codex-client";

/**
 * A `config.toml` pointing Codex at the bridge: a `wire_api = "responses"`
 * provider, no approvals, no sandbox (the tests run commands in a temp dir).
 * `top` adds top-level keys; `extra` is appended right after the provider
 * table, so its bare keys are provider settings (e.g. a transport flag) and
 * any `[table]` in it starts a table of its own.
 */
export function codexConfig(options: { baseURL: string; model: string; top?: string; extra?: string }): string {
  return `model = ${JSON.stringify(options.model)}
model_provider = "bridge"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
${options.top ?? ""}

[model_providers.bridge]
name = "responses-bridge"
base_url = ${JSON.stringify(options.baseURL)}
wire_api = "responses"
env_key = "BRIDGE_API_KEY"
${options.extra ?? ""}
`;
}

/** One line of `codex exec --json`. */
export interface CodexEvent {
  type: string;
  item?: { id: string; type: string; text?: string; command?: string; aggregated_output?: string; exit_code?: number | null; status?: string; changes?: Array<{ path: string; kind: string }>; message?: string };
  usage?: Record<string, number>;
  error?: { message: string };
  message?: string;
}

export interface CodexRun {
  exitCode: number | null;
  events: CodexEvent[];
  /** Completed items, in order (`agent_message`, `reasoning`, `command_execution`, `file_change`, `error`, …). */
  items: NonNullable<CodexEvent["item"]>[];
  stderr: string;
  /** The working directory Codex ran in (a fresh temp dir unless `cwd` was given); removed by `cleanup`. */
  cwd: string;
  cleanup(): Promise<void>;
}

/**
 * `codex exec --json` with `config` as its whole configuration (a fresh
 * CODEX_HOME, so nothing from the machine's own ~/.codex leaks in), in a
 * fresh working directory (`env` adds variables, e.g. another `env_key`; `bin` runs another Codex, e.g. `CODEX_0169`). Resolves when Codex exits (killed after `timeoutMs`).
 */
export async function runCodex(options: { config: string; prompt: string; cwd?: string; args?: string[]; timeoutMs?: number; env?: Record<string, string>; home?: string; bin?: string }): Promise<CodexRun> {
  // A `home` given is the caller's (kept, e.g. for `codex exec resume`); otherwise a fresh one, removed after.
  const home = options.home ?? (await mkdtemp(join(tmpdir(), "codex-home-")));
  const cwd = options.cwd ?? (await mkdtemp(join(tmpdir(), "codex-work-")));
  await writeFile(join(home, "config.toml"), options.config);
  const child = spawnGroup(options.bin ?? CODEX, ["exec", "--json", "--skip-git-repo-check", "-C", cwd, ...(options.args ?? []), options.prompt], {
    env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: home, BRIDGE_API_KEY, RUST_LOG: "error", NO_COLOR: "1", ...options.env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const timer = setTimeout(() => killGroup(child.pid!), options.timeoutMs ?? 60_000);
  const exitCode = await new Promise<number | null>((resolve) => child.on("close", resolve));
  // Whatever Codex started (a shell command it ran) goes with it.
  killGroup(child.pid!);
  clearTimeout(timer);
  if (!options.home) await rm(home, { recursive: true, force: true });
  const events = stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as CodexEvent);
  return {
    exitCode,
    events,
    items: events.filter((e) => e.type === "item.completed" && e.item).map((e) => e.item!),
    stderr,
    cwd,
    cleanup: () => (options.cwd ? Promise.resolve() : rm(cwd, { recursive: true, force: true })),
  };
}
