// Internal: the operator side's shapes shared with the Cloudflare adapters (a leaf: imports nothing).

/** One response's tokens, counted into the key's usage when it ends. */
export interface UsageEntry {
  model: string;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
}

/** `GET /v1/usage`'s rows: one per UTC date and model. */
export interface UsageRow extends UsageEntry {
  date: string;
  requests: number;
}

export type Admission =
  | { ok: true }
  | { ok: false; limit: "requests"; max: number; resetMs: number }
  | { ok: false; limit: "tokens"; max: number; used: number; resetMs: number };

/**
 * One key's counters, where they are exact across isolates and concurrent
 * requests: a Durable Object per key (cloudflare/key-limits-object.ts), which
 * handles one call at a time.
 */
export interface KeyLedger {
  /** Checks today's tokens against `tokensPerDay`, then counts one request against `requestsPerMinute` if it fits. */
  admit(limits: { requestsPerMinute?: number | undefined; tokensPerDay?: number | undefined }): Promise<Admission>;
  /** Adds a finished response to today's usage (and so to today's tokens). */
  record(entry: UsageEntry): Promise<void>;
  usage(): Promise<UsageRow[]>;
  /** Remembers ids an upstream created for this key (worker/ops/ownership.ts). */
  remember(ids: string[]): Promise<void>;
  /** Which of `ids` this key created (the others are another key's, or nobody's through this bridge). */
  owned(ids: string[]): Promise<string[]>;
}

/** One line per response: `console.log` of this object, as JSON (worker/ops/log.ts). */
export interface ResponseLine {
  event: "response";
  response_id: string | null;
  status: "completed" | "incomplete" | "failed" | "cancelled" | "in_progress" | "queued";
  /** The key's name (or a short hash prefix of it for the comma form); null without PROXY_API_KEYS. Never the key. */
  key: string | null;
  /** As the client asked. */
  model: string | null;
  /** What the upstream that answered was asked for (after MODEL_MAP and fallbacks). */
  upstream_model: string | null;
  /** That upstream's base URL (origin and path only). */
  upstream: string | null;
  transport: "sse" | "json" | "websocket" | null;
  endpoint: "responses" | "compact" | "chat_completions" | "input_tokens";
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  /** Request to the first streamed batch of events; null when nothing streamed (JSON, compaction, an early failure). */
  ttft_ms: number | null;
  duration_ms: number;
  attempts: number;
  error_code: string | null;
  /** The HTTP status of an error answered before the response began (429, 404, 502…); null otherwise. */
  http_status: number | null;
  /** Request fields left out of the upstream request: refused by that upstream (learned), or MODEL_MAP's `omit`. */
  dropped_fields: string[];
  /** The provider an upstream error body named (OpenRouter's `metadata.provider_name`; "Google" for Google's envelope); null otherwise. */
  upstream_provider: string | null;
  request_id: string;
}
