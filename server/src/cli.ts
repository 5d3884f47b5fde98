// responses-bridge-server: the Worker on this machine (Miniflare), and the Codex config for it.
// The shell around args.ts (what to do), serve.ts (running it) and codex-config.ts (what Codex needs).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "smol-toml";
import { type CodexConfigCommand, parseCommand, type ServeCommand, shownVar, UsageError } from "./args.ts";
import { buildCatalog, CATALOG_FILE, KEY_ENV, mergeConfig, pickTemplate, providerBlock, topLevelKeys } from "./codex-config.ts";
import { StartError, startServer } from "./serve.ts";

const dist = new URL(".", import.meta.url).pathname;
const version = () => (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

const HELP = {
  serve: `responses-bridge-server: the OpenAI Responses API (HTTP, SSE, WebSocket, stored responses) in front of any
Chat Completions server, on this machine. The responses-bridge Worker, run by Miniflare (workerd).

Usage: responses-bridge-server --upstream URL [options]
       responses-bridge-server codex-config --upstream URL [options]   (see codex-config --help)

Options:
  -u, --upstream URL   the Chat Completions server, e.g. http://127.0.0.1:11434/v1 (env UPSTREAM_BASE_URL)
  -p, --port N         port to listen on (default 8787; 0 picks a free one)
      --host HOST      address to listen on (default 127.0.0.1)
  -d, --data DIR       where stored responses are kept (default ~/.responses-bridge)
      --var KEY=VALUE  a Worker variable, repeatable (MODEL_MAP, UPSTREAM_API_KEY, REASONING_MODE, …)
  -v, --version        print the version
  -h, --help           this help

Every Worker variable is also read from the environment under its own name (UPSTREAM_API_KEY,
MODEL_MAP, PROXY_API_KEYS, …); --var wins over the environment. Secrets are never printed.
Requires Node.js 22 or later. Docs: docs/local-server.md in the responses-bridge repository.`,
  "codex-config": `responses-bridge-server codex-config: print (or --write) the Codex config.toml for the bridge, with a
model catalog built from the upstream's GET /models, so Codex knows each model's context window,
reasoning efforts and tools (no "Model metadata … not found" fallback).

Usage: responses-bridge-server codex-config --upstream URL [options]

Options:
  -u, --upstream URL      the Chat Completions server whose /models to read (env UPSTREAM_BASE_URL;
                          env UPSTREAM_API_KEY is sent with it)
  -m, --model M           a model to list (repeatable; default: every model the upstream lists)
      --reasoning M       treat M as a reasoning model (repeatable; otherwise the upstream's
                          supported_parameters, or the model's name, decide)
      --context-window N  the context window Codex should plan with (default: what the upstream reports)
      --host HOST, -p N   where the bridge listens (default 127.0.0.1:8787)
      --write             write the catalog to $CODEX_HOME/${CATALOG_FILE} and merge the keys into
                          $CODEX_HOME/config.toml (default ~/.codex), keeping everything else
  -h, --help              this help`,
};

/** Prints one clear line and exits non-zero. */
function fail(message: string, code = 1): never {
  process.stderr.write(`responses-bridge-server: ${message}\n`);
  process.exit(code);
}

/** A URL as printed: a password in it (`https://user:key@host`) is a secret too. */
function shownURL(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = "***";
    return u.href;
  } catch {
    return url;
  }
}

function describeVars(vars: Record<string, string>): string {
  return Object.entries(vars)
    .filter(([k]) => k !== "UPSTREAM_BASE_URL")
    .map(([k, v]) => `  ${k} = ${shownVar(k, v)}`)
    .join("\n");
}

async function serve(command: ServeCommand): Promise<void> {
  const running = await startServer(command, { worker: join(dist, "worker.js"), assets: join(dist, "public") });
  // Listening on every address: clients on this machine use loopback.
  const local = running.url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:");
  const baseURL = `${local}/v1`;
  const vars = describeVars(command.vars);
  process.stdout.write(`responses-bridge ${version()} listening on ${running.url}
  upstream: ${shownURL(command.vars.UPSTREAM_BASE_URL!)}
  stored responses: ${command.data}
${vars ? `${vars}\n` : ""}
Open ${local}/ for the page; point clients at ${baseURL}.

Codex: add this to ~/.codex/config.toml (or run \`responses-bridge-server codex-config --upstream … --write\`
for a model catalog too), then \`export ${KEY_ENV}=…\` (any value, your upstream key, or one of PROXY_API_KEYS):

${topLevelKeys(undefined, undefined)}

${providerBlock(baseURL)}
Ctrl-C stops.
`);
  // Miniflare's own handlers kill workerd and exit at once; replaced, so the first Ctrl-C disposes
  // Miniflare properly (its `exit` hook stays: a second Ctrl-C exits at once and still stops workerd).
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write(`\n${signal}: stopping\n`);
    running.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.removeAllListeners(signal);
    process.on(signal, stop);
  }
}

async function listModels(command: CodexConfigCommand): Promise<unknown> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (command.upstreamKey) headers.authorization = `Bearer ${command.upstreamKey}`;
  try {
    const res = await fetch(`${command.upstream}/models`, { headers, signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return await res.json();
  } catch (e) {
    const why = `could not list the models at ${shownURL(command.upstream)}/models (${(e as Error).message})`;
    if (!command.models.length) fail(`${why}; name them with --model M`);
    process.stderr.write(`responses-bridge-server: ${why}; using --model as given\n`);
    return null;
  }
}

/** Codex's own entry for gpt-5.5 (its instructions and tool settings, versioned with the Codex installed), if a Codex is on PATH. */
function codexTemplate(): Record<string, unknown> | undefined {
  const home = mkdtempSync(join(tmpdir(), "responses-bridge-codex-"));
  try {
    const out = spawnSync(process.env.CODEX_BIN || "codex", ["debug", "models", "--bundled"], { env: { ...process.env, CODEX_HOME: home }, encoding: "utf8", timeout: 20_000, maxBuffer: 64 << 20 });
    return out.status === 0 ? pickTemplate(JSON.parse(out.stdout)) : undefined;
  } catch {
    return undefined;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function codexConfig(command: CodexConfigCommand): Promise<void> {
  const template = codexTemplate();
  let catalog;
  try {
    catalog = buildCatalog(await listModels(command), command, template);
  } catch (e) {
    fail((e as Error).message);
  }
  const catalogPath = join(command.codexHome, CATALOG_FILE);
  const top = topLevelKeys(String(catalog.models[0]!.slug), catalogPath);
  const provider = providerBlock(command.baseURL);
  const json = `${JSON.stringify(catalog, null, 2)}\n`;
  const note = template ? "" : "(no `codex` on PATH: the catalog carries short base instructions instead of Codex's own)\n";
  if (!command.write) {
    process.stdout.write(`# ${join(command.codexHome, "config.toml")}\n${top}\n\n${provider}\n# ${catalogPath}\n${json}`);
    if (note) process.stderr.write(note);
    return;
  }
  const configPath = join(command.codexHome, "config.toml");
  let existing = "";
  try {
    existing = readFileSync(configPath, "utf8");
  } catch {}
  let merged;
  try {
    merged = mergeConfig(existing, top, provider);
  } catch (e) {
    fail(`${configPath} is not valid TOML, left unchanged (${(e as Error).message.split("\n")[0]})`);
  }
  mkdirSync(command.codexHome, { recursive: true });
  writeFileSync(catalogPath, json);
  writeFileSync(configPath, merged);
  const replaced = replacedKeys(existing, merged);
  process.stdout.write(
    `wrote ${catalogPath} (${catalog.models.length} models: ${catalog.models.map((m) => m.slug).join(", ")})\nupdated ${configPath}:\n\n${top}\n\n${provider}\n${replaced ? `(it had ${replaced})\n` : ""}then: export ${KEY_ENV}=…\n${note}`,
  );
}

/** The top-level settings --write changed, as they were, so the user can put them back. */
function replacedKeys(before: string, after: string): string {
  const [b, a] = [parse(before), parse(after)] as Array<Record<string, unknown>>;
  return ["model", "model_provider", "model_catalog_json"]
    .filter((k) => b![k] !== undefined && b![k] !== a![k])
    .map((k) => `${k} = ${JSON.stringify(b![k])}`)
    .join(", ");
}

async function main(): Promise<void> {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22) fail(`needs Node.js 22 or later (Miniflare's workerd); this is ${process.version}`);
  let command;
  try {
    command = parseCommand(process.argv.slice(2), process.env, homedir());
  } catch (e) {
    if (e instanceof UsageError) fail(`${e.message} (see --help)`, 2);
    throw e;
  }
  if (command.kind === "help") return void process.stdout.write(`${HELP[command.topic]}\n`);
  if (command.kind === "version") return void process.stdout.write(`${version()}\n`);
  if (command.kind === "codex-config") return codexConfig(command);
  try {
    await serve(command);
  } catch (e) {
    if (e instanceof StartError) fail(e.message);
    fail(`could not start: ${(e as Error).message.split("\n")[0]}`);
  }
}

await main();
