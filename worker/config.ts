import type { ConvertOptions, ReasoningHistory, TemplateShape, ToChatOptions } from "../src/index.ts";
import type { Env } from "./env.ts";
import { type NamedKey, parseProxyKeys } from "./ops/keys.ts";
import { PLATFORM_WS_MESSAGE_BYTES } from "./cloudflare/websocket.ts";

export interface ModelRoute {
  model: string;
  baseUrl: string;
  /** MODEL_MAP's per-model `reasoning_history`, overriding REASONING_HISTORY. */
  reasoningHistory?: ReasoningHistory;
  /** Set when this model's upstream speaks the Responses API (UPSTREAM_API, or MODEL_MAP's per-model `api`); absent: Chat Completions. */
  api?: "responses";
  /** MODEL_MAP's per-route `api_key`: sent instead of UPSTREAM_API_KEY (a fallback provider's own key). */
  apiKey?: string;
  /** MODEL_MAP's per-model `template` ("strict" or "no-system"): that shape from the first request, instead of learning it from the upstream's error. */
  template?: TemplateShape;
  /** MODEL_MAP's `fallback`: tried in order before the first byte when this route fails (worker/ops/fallback.ts). */
  fallback?: ModelRoute[];
  /** MODEL_MAP's per-model `omit`: Chat Completions fields never sent to this route (worker/run/refused-fields.ts also learns them). */
  omit?: string[];
}

/** A MODEL_MAP entry in its object form (a fallback object has the same fields). */
interface MapEntry {
  model?: string;
  base_url?: string;
  reasoning_history?: string;
  template?: string;
  api?: string;
  api_key?: string;
  fallback?: Array<string | MapEntry>;
  omit?: string[];
}

const UPSTREAM_APIS = ["chat", "responses"] as const;

const REASONING_HISTORIES = ["auto", "drop", "reasoning_content", "reasoning"] as const;
const TEMPLATES = ["auto", "strict", "no-system"] as const;

export interface BridgeConfig {
  upstreamBaseUrl: string;
  /** UPSTREAM_API: what the upstream speaks by default (MODEL_MAP may say otherwise per model). */
  upstreamApi: "chat" | "responses";
  upstreamApiKey: string | null;
  /** PROXY_API_KEYS with their names and limits (the comma form: unnamed, no limits). */
  keys: NamedKey[];
  /** ALLOW_ANONYMOUS=true: serve without PROXY_API_KEYS from anywhere, even holding UPSTREAM_API_KEY. */
  allowAnonymous: boolean;
  /** Upstream keys besides UPSTREAM_API_KEY (MODEL_MAP's `api_key`s), redacted like it. */
  extraSecrets: string[];
  route(model: string): ModelRoute;
  timeoutMs: number;
  /** The stream shell's settings (`chatToResponsesSse`). */
  stream: { idleTimeoutMs: number; coalesceMs: number };
  /** Retries before the first byte; `attempts` 0 = off. */
  retry: { attempts: number; maxWaitMs: number };
  /** A WebSocket with nothing running and nothing received for this long is closed. */
  wsIdleTimeoutMs: number;
  /** The largest WebSocket message taken (WS_MAX_MESSAGE_BYTES; at most the platform's), announced in `x-codex-websocket-max-message-bytes`. */
  wsMaxMessageBytes: number;
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

/** What a request cannot be without: MODEL_MAP's `omit` may not name them. */
const NEVER_OMITTED = new Set(["model", "messages", "stream"]);

/** MODEL_MAP's `omit`: a list of top-level Chat Completions field names. */
function omitList(entry: string, v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((f) => typeof f === "string" && f !== "")) throw new ConfigError(`${entry}.omit must be a list of request field names, e.g. ["prompt_cache_key"].`);
  const bad = v.find((f: string) => NEVER_OMITTED.has(f));
  if (bad) throw new ConfigError(`${entry}.omit cannot name "${bad}": every request needs it.`);
  return v as string[];
}

/** WS_MAX_MESSAGE_BYTES: a whole number of bytes, from 1 to the platform's limit (beyond it the runtime closes the socket itself). */
function messageBytes(v: string | undefined): number {
  if (v === undefined || v.trim() === "") return PLATFORM_WS_MESSAGE_BYTES;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > PLATFORM_WS_MESSAGE_BYTES) throw new ConfigError(`WS_MAX_MESSAGE_BYTES must be a whole number of bytes from 1 to ${PLATFORM_WS_MESSAGE_BYTES} (the platform's limit); got "${v}".`);
  return n;
}

/** MODEL_MAP's `fallback` list: an object is a MODEL_MAP entry (its own `base_url`, `api_key`…), a string a model on the default upstream. */
function fallbackRoutes(name: string, list: unknown, base: string, secrets: string[]): ModelRoute[] {
  if (!Array.isArray(list)) throw new ConfigError(`MODEL_MAP["${name}"].fallback must be a list of models or MODEL_MAP entries.`);
  return list.map((f: unknown, i) => {
    if (typeof f === "string" && f) return { model: f, baseUrl: base };
    if (typeof f !== "object" || f === null || typeof (f as MapEntry).model !== "string") throw new ConfigError(`MODEL_MAP["${name}"].fallback[${i}] must be a model name or an object with "model".`);
    const e = f as MapEntry;
    const route: ModelRoute = { model: e.model!, baseUrl: (e.base_url ?? base).replace(/\/+$/, "") };
    const h = oneOf(`MODEL_MAP["${name}"].fallback[${i}].reasoning_history`, e.reasoning_history, REASONING_HISTORIES);
    if (h) route.reasoningHistory = h;
    const omit = omitList(`MODEL_MAP["${name}"].fallback[${i}]`, e.omit);
    if (omit) route.omit = omit;
    if (e.api_key) {
      route.apiKey = e.api_key;
      secrets.push(e.api_key);
    }
    return route;
  });
}

export function configFromEnv(env: Env): BridgeConfig {
  const base = (env.UPSTREAM_BASE_URL ?? "").trim().replace(/\/+$/, "");
  if (!base) throw new ConfigError("UPSTREAM_BASE_URL is not set: point it at a chat-completions server, e.g. http://127.0.0.1:11434/v1.");
  let map: Record<string, string | MapEntry> = {};
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
  const perModelTemplate = new Map<string, TemplateShape>();
  const fallbacks = new Map<string, ModelRoute[]>();
  const omits = new Map<string, string[]>();
  const extraSecrets: string[] = [];
  for (const [name, entry] of Object.entries(map)) {
    const h = typeof entry === "object" && entry !== null ? oneOf(`MODEL_MAP["${name}"].reasoning_history`, entry.reasoning_history, REASONING_HISTORIES) : undefined;
    if (h) perModelHistory.set(name, h);
    const t = typeof entry === "object" && entry !== null ? oneOf(`MODEL_MAP["${name}"].template`, entry.template, TEMPLATES) : undefined;
    if (t && t !== "auto") perModelTemplate.set(name, t);
    const api = typeof entry === "object" && entry !== null ? oneOf(`MODEL_MAP["${name}"].api`, entry.api, UPSTREAM_APIS) : undefined;
    if (api) perModelApi.set(name, api);
    if (typeof entry === "object" && entry !== null) {
      if (entry.api_key) extraSecrets.push(entry.api_key);
      if (entry.fallback !== undefined) fallbacks.set(name, fallbackRoutes(name, entry.fallback, base, extraSecrets));
      const omit = omitList(`MODEL_MAP["${name}"]`, entry.omit);
      if (omit) omits.set(name, omit);
    }
  }
  let keys: NamedKey[];
  try {
    keys = parseProxyKeys(env.PROXY_API_KEYS);
  } catch (e) {
    throw new ConfigError((e as Error).message);
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
    wsMaxMessageBytes: messageBytes(env.WS_MAX_MESSAGE_BYTES),
    retry: { attempts: Math.min(5, Math.floor(millis("UPSTREAM_RETRIES", env.UPSTREAM_RETRIES, 0))), maxWaitMs: millis("UPSTREAM_RETRY_MAX_WAIT_MS", env.UPSTREAM_RETRY_MAX_WAIT_MS, 2_000) },
    upstreamBaseUrl: base,
    upstreamApi,
    upstreamApiKey: env.UPSTREAM_API_KEY ? env.UPSTREAM_API_KEY : null,
    // Labelled so the same string used as both never yields the same key; HKDF keeps the key itself out of every token.
    sealSecret: env.BRIDGE_SECRET ? `bridge-secret:${env.BRIDGE_SECRET}` : env.UPSTREAM_API_KEY ? `upstream-key:${env.UPSTREAM_API_KEY}` : null,
    keys,
    allowAnonymous: env.ALLOW_ANONYMOUS === "true",
    extraSecrets,
    route(model) {
      const key = map[model] != null ? model : "*";
      const entry = map[key];
      if (entry == null) return withApi({ model, baseUrl: base }, key);
      if (typeof entry === "string") return withApi({ model: entry, baseUrl: base }, key);
      const route: ModelRoute = { model: entry.model ?? model, baseUrl: (entry.base_url ?? base).replace(/\/+$/, "") };
      const history = perModelHistory.get(key);
      if (history) route.reasoningHistory = history;
      const template = perModelTemplate.get(key);
      if (template) route.template = template;
      if (entry.api_key) route.apiKey = entry.api_key;
      const fallback = fallbacks.get(key);
      if (fallback) route.fallback = fallback;
      const omit = omits.get(key);
      if (omit) route.omit = omit;
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
