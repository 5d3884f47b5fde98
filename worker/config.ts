import type { ConvertOptions, ReasoningHistory, ToChatOptions } from "../src/index.ts";
import type { Env } from "./env.ts";

export interface ModelRoute {
  model: string;
  baseUrl: string;
  /** MODEL_MAP's per-model `reasoning_history`, overriding REASONING_HISTORY. */
  reasoningHistory?: ReasoningHistory;
  /** Set when this model's upstream speaks the Responses API (UPSTREAM_API, or MODEL_MAP's per-model `api`); absent: Chat Completions. */
  api?: "responses";
}

const UPSTREAM_APIS = ["chat", "responses"] as const;

const REASONING_HISTORIES = ["auto", "drop", "reasoning_content", "reasoning"] as const;

export interface BridgeConfig {
  upstreamBaseUrl: string;
  /** UPSTREAM_API: what the upstream speaks by default (MODEL_MAP may say otherwise per model). */
  upstreamApi: "chat" | "responses";
  upstreamApiKey: string | null;
  proxyApiKeys: string[];
  route(model: string): ModelRoute;
  timeoutMs: number;
  /** The stream shell's settings (`chatToResponsesSse`). */
  stream: { idleTimeoutMs: number; coalesceMs: number };
  /** Retries before the first byte; `attempts` 0 = off. */
  retry: { attempts: number; maxWaitMs: number };
  /** A WebSocket with nothing running and nothing received for this long is closed. */
  wsIdleTimeoutMs: number;
  corsOrigins: "*" | string[];
  convert: Pick<ConvertOptions, "reasoning" | "thinkTags">;
  refusalAsText: boolean | "auto";
  translate: ToChatOptions;
  /** Key material for sealed tokens that does not depend on the client; null when the Worker has neither BRIDGE_SECRET nor UPSTREAM_API_KEY. */
  sealSecret: string | null;
  /** How long a stored response is kept, in milliseconds (STORE_RETENTION_DAYS). */
  retentionMs: number;
}

/** A configuration mistake, reported as a 500 that says which variable is wrong. */
export class ConfigError extends Error {}

function list(v: string | undefined): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function oneOf<T extends string>(name: string, v: string | undefined, allowed: readonly T[]): T | undefined {
  if (v === undefined || v === "") return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(`${name} must be one of ${allowed.join(", ")}; got "${v}".`);
  return v as T;
}

/** A non-negative number from a variable, or the default when it is unset. */
function millis(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined || v.trim() === "") return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`${name} must be a non-negative number; got "${v}".`);
  return n;
}

export function configFromEnv(env: Env): BridgeConfig {
  const base = (env.UPSTREAM_BASE_URL ?? "").trim().replace(/\/+$/, "");
  if (!base) throw new ConfigError("UPSTREAM_BASE_URL is not set: point it at a chat-completions server, e.g. http://127.0.0.1:11434/v1.");
  let map: Record<string, string | { model?: string; base_url?: string; reasoning_history?: string; api?: string }> = {};
  if (env.MODEL_MAP) {
    try {
      map = JSON.parse(env.MODEL_MAP) as typeof map;
    } catch {
      throw new ConfigError("MODEL_MAP is not valid JSON.");
    }
  }
  const timeout = env.UPSTREAM_TIMEOUT_MS ? Number(env.UPSTREAM_TIMEOUT_MS) : 60_000;
  if (!Number.isFinite(timeout) || timeout <= 0) throw new ConfigError("UPSTREAM_TIMEOUT_MS must be a positive number of milliseconds.");
  const cors = (env.CORS_ALLOWED_ORIGINS ?? "").trim();
  const forward = list(env.FORWARD_PARAMS);
  const omit = list(env.OMIT_PARAMS);
  const translate: ToChatOptions = {};
  const hosted = oneOf("HOSTED_TOOLS", env.HOSTED_TOOLS, ["drop", "reject"] as const);
  if (hosted) translate.hostedTools = hosted;
  const maxField = oneOf("MAX_TOKENS_FIELD", env.MAX_TOKENS_FIELD, ["max_tokens", "max_completion_tokens"] as const);
  if (maxField) translate.maxTokensField = maxField;
  const dev = oneOf("DEVELOPER_ROLE", env.DEVELOPER_ROLE, ["system", "developer"] as const);
  if (dev) translate.developerRole = dev;
  const hist = oneOf("REASONING_HISTORY", env.REASONING_HISTORY, REASONING_HISTORIES);
  if (hist) translate.reasoningHistory = hist;
  if (forward.length) translate.forward = forward;
  if (omit.length) translate.omit = omit;
  // Checked now, so that a typo fails every request with a clear message rather than only that model's.
  const perModelHistory = new Map<string, ReasoningHistory>();
  const upstreamApi = oneOf("UPSTREAM_API", env.UPSTREAM_API, UPSTREAM_APIS) ?? "chat";
  const perModelApi = new Map<string, "chat" | "responses">();
  for (const [name, entry] of Object.entries(map)) {
    const h = typeof entry === "object" && entry !== null ? oneOf(`MODEL_MAP["${name}"].reasoning_history`, entry.reasoning_history, REASONING_HISTORIES) : undefined;
    if (h) perModelHistory.set(name, h);
    const api = typeof entry === "object" && entry !== null ? oneOf(`MODEL_MAP["${name}"].api`, entry.api, UPSTREAM_APIS) : undefined;
    if (api) perModelApi.set(name, api);
  }
  const withApi = (route: ModelRoute, key: string): ModelRoute => {
    if ((perModelApi.get(key) ?? upstreamApi) === "responses") route.api = "responses";
    return route;
  };
  const retentionDays = env.STORE_RETENTION_DAYS ? Number(env.STORE_RETENTION_DAYS) : 30;
  if (!Number.isFinite(retentionDays) || retentionDays <= 0) throw new ConfigError("STORE_RETENTION_DAYS must be a positive number of days.");
  const reasoning = oneOf("REASONING_MODE", env.REASONING_MODE, ["summary", "raw"] as const);
  const refusal = oneOf("REFUSAL_AS_TEXT", env.REFUSAL_AS_TEXT, ["auto", "true", "false"] as const);
  return {
    stream: { idleTimeoutMs: millis("UPSTREAM_IDLE_TIMEOUT_MS", env.UPSTREAM_IDLE_TIMEOUT_MS, 120_000), coalesceMs: millis("STREAM_COALESCE_MS", env.STREAM_COALESCE_MS, 0) },
    wsIdleTimeoutMs: millis("WS_IDLE_TIMEOUT_MS", env.WS_IDLE_TIMEOUT_MS, 600_000),
    retry: { attempts: Math.min(5, Math.floor(millis("UPSTREAM_RETRIES", env.UPSTREAM_RETRIES, 0))), maxWaitMs: millis("UPSTREAM_RETRY_MAX_WAIT_MS", env.UPSTREAM_RETRY_MAX_WAIT_MS, 2_000) },
    upstreamBaseUrl: base,
    upstreamApi,
    upstreamApiKey: env.UPSTREAM_API_KEY ? env.UPSTREAM_API_KEY : null,
    // Labelled so the same string used as both never yields the same key; HKDF keeps the key itself out of every token.
    sealSecret: env.BRIDGE_SECRET ? `bridge-secret:${env.BRIDGE_SECRET}` : env.UPSTREAM_API_KEY ? `upstream-key:${env.UPSTREAM_API_KEY}` : null,
    proxyApiKeys: list(env.PROXY_API_KEYS),
    route(model) {
      const key = map[model] != null ? model : "*";
      const entry = map[key];
      if (entry == null) return withApi({ model, baseUrl: base }, key);
      if (typeof entry === "string") return withApi({ model: entry, baseUrl: base }, key);
      const route: ModelRoute = { model: entry.model ?? model, baseUrl: (entry.base_url ?? base).replace(/\/+$/, "") };
      const history = perModelHistory.get(key);
      if (history) route.reasoningHistory = history;
      return withApi(route, key);
    },
    timeoutMs: timeout,
    corsOrigins: cors === "*" ? "*" : list(cors),
    convert: { reasoning: reasoning ?? "summary", thinkTags: env.THINK_TAGS === "true" },
    refusalAsText: refusal === undefined || refusal === "auto" ? "auto" : refusal === "true",
    translate,
    retentionMs: retentionDays * 86_400_000,
  };
}
