// Internal: the command line (and environment) → what to do. Pure: no I/O, errors as UsageError.
import { type ParseArgsConfig, parseArgs } from "node:util";

/** The Worker's variables (worker/env.ts), each also read from the environment; test/server checks this list against Env. */
export const WORKER_VARS = [
  "UPSTREAM_BASE_URL",
  "UPSTREAM_API_KEY",
  "UPSTREAM_API",
  "PROXY_API_KEYS",
  "ALLOW_ANONYMOUS",
  "MODEL_MAP",
  "UPSTREAM_TIMEOUT_MS",
  "UPSTREAM_IDLE_TIMEOUT_MS",
  "UPSTREAM_RETRIES",
  "UPSTREAM_RETRY_MAX_WAIT_MS",
  "STREAM_COALESCE_MS",
  "WS_IDLE_TIMEOUT_MS",
  "WS_MAX_MESSAGE_BYTES",
  "CORS_ALLOWED_ORIGINS",
  "REASONING_MODE",
  "THINK_TAGS",
  "REFUSAL_AS_TEXT",
  "HOSTED_TOOLS",
  "MAX_TOKENS_FIELD",
  "DEVELOPER_ROLE",
  "REASONING_HISTORY",
  "BRIDGE_SECRET",
  "OMIT_PARAMS",
  "FORWARD_PARAMS",
  "STORE_RETENTION_DAYS",
] as const;

/** Never printed: the command says only whether they are set. */
const SECRET_VARS: ReadonlySet<string> = new Set(["UPSTREAM_API_KEY", "PROXY_API_KEYS", "BRIDGE_SECRET"]);

/** wrangler.toml's [vars] defaults that are not the Worker's own defaults. */
const DEFAULT_VARS: Record<string, string> = { UPSTREAM_TIMEOUT_MS: "60000", CORS_ALLOWED_ORIGINS: "*" };

export class UsageError extends Error {}

export interface ServeCommand {
  kind: "serve";
  host: string;
  port: number;
  data: string;
  vars: Record<string, string>;
}

export interface CodexConfigCommand {
  kind: "codex-config";
  upstream: string;
  /** The key for the upstream's `GET /models` (UPSTREAM_API_KEY), if any. */
  upstreamKey: string | undefined;
  /** The bridge's `/v1` URL Codex will call. */
  baseURL: string;
  models: string[];
  reasoning: string[];
  contextWindow: number | undefined;
  write: boolean;
  codexHome: string;
}

export type Command = ServeCommand | CodexConfigCommand | { kind: "help"; topic: "serve" | "codex-config" } | { kind: "version" };

type Env = Record<string, string | undefined>;

const COMMON = {
  help: { type: "boolean", short: "h" },
  upstream: { type: "string", short: "u" },
  host: { type: "string" },
  port: { type: "string", short: "p" },
} as const;

function parse<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    // node's messages name the flag; drop its hint about `--` which does not apply here.
    throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

function port(value: string | undefined): number {
  if (value === undefined) return 8787;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new UsageError(`--port must be a port number (0-65535), not ${value}`);
  return n;
}

function upstreamURL(value: string | undefined): string {
  if (!value) throw new UsageError("missing --upstream URL: the Chat Completions server to bridge, e.g. --upstream http://127.0.0.1:11434/v1 (or set UPSTREAM_BASE_URL)");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`--upstream must be an http(s) URL, e.g. http://127.0.0.1:11434/v1, not ${value}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--upstream must be an http(s) URL, not ${value}`);
  return value.replace(/\/+$/, "");
}

/** `KEY=VALUE` (or wrangler's `KEY:VALUE`). */
export function parseVar(text: string): [string, string] {
  const m = /^([A-Z][A-Z0-9_]*)[=:]([\s\S]*)$/.exec(text);
  if (!m) throw new UsageError(`--var takes KEY=VALUE, e.g. --var MODEL_MAP='{"gpt-5.5":"qwen3"}', not ${text}`);
  if (!(WORKER_VARS as readonly string[]).includes(m[1]!)) throw new UsageError(`--var ${m[1]}: not a Worker variable (known: ${WORKER_VARS.join(", ")})`);
  return [m[1]!, m[2]!];
}

function serve(args: string[], env: Env, home: string): Command {
  const { values } = parse({ args, strict: true, options: { ...COMMON, data: { type: "string", short: "d" }, var: { type: "string", multiple: true } } });
  if (values.help) return { kind: "help", topic: "serve" };
  const vars: Record<string, string> = { ...DEFAULT_VARS };
  for (const name of WORKER_VARS) if (env[name] !== undefined && env[name] !== "") vars[name] = env[name]!;
  for (const v of values.var ?? []) {
    const [k, value] = parseVar(v);
    vars[k] = value;
  }
  vars.UPSTREAM_BASE_URL = upstreamURL(values.upstream ?? vars.UPSTREAM_BASE_URL);
  const host = values.host ?? "127.0.0.1";
  refuseOpenRelay(host, vars);
  return { kind: "serve", host, port: port(values.port), data: values.data ?? `${home}/.responses-bridge`, vars };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i;

/**
 * Serving the network with the owner's upstream key and no client keys would lend that key to anyone who can reach
 * the port. The Worker refuses such clients itself, but it can only judge them by the Host and CF-Connecting-IP a
 * client sends, which a client on the network can forge (nothing at the edge sets them here), so this is refused at
 * start instead, unless ALLOW_ANONYMOUS=true says it is meant.
 */
function refuseOpenRelay(host: string, vars: Record<string, string>): void {
  if (LOOPBACK.test(host) || vars.PROXY_API_KEYS || vars.ALLOW_ANONYMOUS === "true") return;
  if (!vars.UPSTREAM_API_KEY && !/"api_key"\s*:/.test(vars.MODEL_MAP ?? "")) return;
  throw new UsageError(`--host ${host} serves your network with your upstream key and no PROXY_API_KEYS: set PROXY_API_KEYS (the keys clients must present), or ALLOW_ANONYMOUS=true to serve anyone on purpose`);
}

/** A variable as the start-up summary prints it: secrets as "(set)", and the api_key values inside MODEL_MAP masked. */
export function shownVar(name: string, value: string): string {
  if (SECRET_VARS.has(name)) return "(set)";
  if (name === "MODEL_MAP") return value.replace(/("api_key"\s*:\s*")(?:[^"\\]|\\.)*"/g, '$1***"');
  return value;
}

function contextWindow(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--context-window must be a positive number of tokens, not ${value}`);
  return n;
}

function codexConfig(args: string[], env: Env, home: string): Command {
  const { values } = parse({
    args,
    strict: true,
    options: {
      ...COMMON,
      model: { type: "string", short: "m", multiple: true },
      reasoning: { type: "string", multiple: true },
      "context-window": { type: "string" },
      write: { type: "boolean" },
    },
  });
  if (values.help) return { kind: "help", topic: "codex-config" };
  const host = values.host ?? "127.0.0.1";
  return {
    kind: "codex-config",
    upstream: upstreamURL(values.upstream ?? env.UPSTREAM_BASE_URL),
    upstreamKey: env.UPSTREAM_API_KEY || undefined,
    baseURL: `http://${host.includes(":") ? `[${host}]` : host}:${port(values.port)}/v1`,
    models: values.model ?? [],
    reasoning: values.reasoning ?? [],
    contextWindow: contextWindow(values["context-window"]),
    write: values.write ?? false,
    codexHome: env.CODEX_HOME || `${home}/.codex`,
  };
}

/** `argv` without node and the script; `home` is the user's home folder. */
export function parseCommand(argv: string[], env: Env, home: string): Command {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-v") return { kind: "version" };
  if (first === "codex-config") return codexConfig(rest, env, home);
  if (first === "help") return { kind: "help", topic: rest[0] === "codex-config" ? "codex-config" : "serve" };
  if (first !== undefined && !first.startsWith("-")) throw new UsageError(`unknown command ${first} (commands: codex-config; or flags only to serve; see --help)`);
  return serve(argv, env, home);
}
