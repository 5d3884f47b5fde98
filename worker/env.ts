import type { KeyLimitsObject } from "./cloudflare/key-limits-object.ts";
import type { ResponseStoreObject } from "./cloudflare/response-store-object.ts";

/** The Worker's bindings: `[vars]` in wrangler.toml, secrets, or `.dev.vars`. */
export interface Env {
  /** e.g. `https://api.deepseek.com/v1`, `http://127.0.0.1:11434/v1`. */
  UPSTREAM_BASE_URL?: string;
  /** Secret. When unset, the client's `Authorization` is forwarded (unless PROXY_API_KEYS is set). */
  UPSTREAM_API_KEY?: string;
  /**
   * Secret. The keys clients must present as `Authorization: Bearer …`: comma-separated, or a JSON object of named keys
   * with optional limits: `{"alice": {"key": "sk-a", "requests_per_minute": 60, "tokens_per_day": 2000000, "models": ["deepseek-*"]}, "dave": "sk-d"}`
   * (docs/operators.md).
   */
  PROXY_API_KEYS?: string;
  /** `true`: serve without PROXY_API_KEYS even from outside loopback while holding UPSTREAM_API_KEY (otherwise refused: 401). */
  ALLOW_ANONYMOUS?: string;
  /** The Durable Object namespace counting each named key's limits and usage (wrangler.toml); unset: keys with limits are refused, usage is not kept. */
  KEY_LIMITS?: DurableObjectNamespace<KeyLimitsObject>;
  /** Optional Workers Analytics Engine dataset: one data point per response (docs/operators.md has the SQL). */
  USAGE_ANALYTICS?: AnalyticsEngineDataset;
  /**
   * JSON: `{"gpt-5-codex": "deepseek-chat", "local": {"model": "qwen3", "base_url": "http://127.0.0.1:11434/v1"}, "*": "fallback"}`;
   * an object entry may also set `reasoning_history` (as REASONING_HISTORY, for that model only), `api` (as UPSTREAM_API,
   * for that model only), `api_key` (that upstream's own key) and `fallback` (entries or model names tried in turn before
   * the first byte: docs/operators.md).
   */
  MODEL_MAP?: string;
  /**
   * `chat` (default): the upstream speaks Chat Completions and the bridge serves Responses in front of it.
   * `responses`: the upstream speaks Responses (`gpt-5-pro`, the `*-codex` models); `POST /v1/chat/completions`
   * is converted to it and back, and the Responses paths are forwarded unchanged. A MODEL_MAP object entry's
   * `"api"` sets it for one model.
   */
  UPSTREAM_API?: string;
  /** Milliseconds to wait for the upstream's response headers (default 60000). */
  UPSTREAM_TIMEOUT_MS?: string;
  /** Milliseconds a stream may go without a byte from the upstream before it is cancelled and the response fails (default 120000; 0: never). */
  UPSTREAM_IDLE_TIMEOUT_MS?: string;
  /** Retries before the first byte, for a failed connection or a 429 (short Retry-After) / 502 / 503 (default 0, at most 5). */
  UPSTREAM_RETRIES?: string;
  /** The longest wait before a retry, and the longest Retry-After honoured (ms, default 2000). */
  UPSTREAM_RETRY_MAX_WAIT_MS?: string;
  /** Opt-in: join the events of upstream chunks arriving within this many ms into one write (less CPU per token; up to this much latency). Default 0: off. */
  STREAM_COALESCE_MS?: string;
  /** Milliseconds a Responses WebSocket may sit with no message and no response running before it is closed (default 600000). */
  WS_IDLE_TIMEOUT_MS?: string;
  /** The largest Responses WebSocket message accepted, in bytes, announced to Codex on the upgrade (default and most: the platform's 33554432, 32 MiB). */
  WS_MAX_MESSAGE_BYTES?: string;
  /** `*` or a comma-separated list of origins; unset means no CORS headers. */
  CORS_ALLOWED_ORIGINS?: string;
  /** `summary` (default) or `raw`. */
  REASONING_MODE?: string;
  /** `true`: move a leading `<think>…</think>` into reasoning. */
  THINK_TAGS?: string;
  /** `auto` (default): refusals as output_text for Codex (it cannot parse refusal parts), detected by its `originator` header; `true`/`false` for everyone. */
  REFUSAL_AS_TEXT?: string;
  /** `drop` (default, reported in a header) or `reject` (400). */
  HOSTED_TOOLS?: string;
  /** `max_tokens` (default) or `max_completion_tokens`. */
  MAX_TOKENS_FIELD?: string;
  /** `system` (default) or `developer`. */
  DEVELOPER_ROLE?: string;
  /** `auto` (default: reasoning goes back only to the upstream that produced it, in its own field), `drop`, `reasoning_content` or `reasoning`. */
  REASONING_HISTORY?: string;
  /**
   * Secret. Keys the sealed tokens (compaction `encrypted_content`, reasoning
   * `encrypted_content`). Unset: derived from UPSTREAM_API_KEY, else from the
   * client's own credential (see README, "Sealed tokens").
   */
  BRIDGE_SECRET?: string;
  /** Comma-separated chat fields to leave out (for strict upstreams). */
  OMIT_PARAMS?: string;
  /** Comma-separated Responses-only fields to forward (e.g. `service_tier,metadata,store`). */
  FORWARD_PARAMS?: string;
  /** The Durable Object namespace stored responses live in (wrangler.toml); unset: nothing is stored. */
  RESPONSES_STORE?: DurableObjectNamespace<ResponseStoreObject>;
  /**
   * The Durable Object namespace background runs live in (`background: true`; one object per run, wrangler.toml);
   * unset: `background: true` is refused. Typed loosely (its RPC interface is in cloudflare/background-runs.ts) so
   * that the object, which reads this Env, does not import itself through it.
   */
  BACKGROUND_RUNS?: DurableObjectNamespace;
  /** Days a stored response is kept (default 30; fractions allowed). */
  STORE_RETENTION_DAYS?: string;
}
