// Internal: PROXY_API_KEYS as named keys with optional limits, and which one a client presented.
import { sha256 } from "../auth.ts";

/** What a key may do; every field optional. `models` are glob patterns (`*`, `?`). */
interface KeyLimits {
  requestsPerMinute?: number;
  tokensPerDay?: number;
  models?: { patterns: string[]; match: RegExp };
}

export interface NamedKey {
  /** The JSON form's name; for the comma form, null (the name is then a short hash of the key, known once hashed). */
  name: string | null;
  key: string;
  /** null: no limits at all (nothing to check, no Durable Object asked). */
  limits: KeyLimits | null;
}

/** Who a request is: the key's name (never the key) and its limits. */
export interface KeyIdentity {
  name: string;
  limits: KeyLimits | null;
}

const LIMIT_FIELDS = new Set(["key", "requests_per_minute", "tokens_per_day", "models"]);

function glob(patterns: string[]): RegExp {
  const one = (p: string) => p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^(?:${patterns.map(one).join("|")})$`);
}

function positiveInt(name: string, field: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new TypeError(`PROXY_API_KEYS["${name}"].${field} must be a positive integer; got ${JSON.stringify(v)}.`);
  return v;
}

function namedKey(name: string, entry: unknown): NamedKey {
  if (typeof entry === "string") return { name, key: entry, limits: null };
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new TypeError(`PROXY_API_KEYS["${name}"] must be a key string or an object with "key".`);
  const e = entry as Record<string, unknown>;
  for (const field of Object.keys(e)) if (!LIMIT_FIELDS.has(field)) throw new TypeError(`PROXY_API_KEYS["${name}"] has an unknown field "${field}" (known: ${[...LIMIT_FIELDS].join(", ")}).`);
  if (typeof e.key !== "string" || !e.key) throw new TypeError(`PROXY_API_KEYS["${name}"].key must be a non-empty string.`);
  const limits: KeyLimits = {};
  const rpm = positiveInt(name, "requests_per_minute", e.requests_per_minute);
  if (rpm !== undefined) limits.requestsPerMinute = rpm;
  const tpd = positiveInt(name, "tokens_per_day", e.tokens_per_day);
  if (tpd !== undefined) limits.tokensPerDay = tpd;
  if (e.models !== undefined) {
    if (!Array.isArray(e.models) || !e.models.every((m) => typeof m === "string" && m)) throw new TypeError(`PROXY_API_KEYS["${name}"].models must be a list of model names or glob patterns.`);
    limits.models = { patterns: e.models as string[], match: glob(e.models as string[]) };
  }
  return { name, key: e.key, limits: Object.keys(limits).length ? limits : null };
}

/** The last value parsed: the environment is the same for every request of an isolate, so it is parsed once. */
let cached: { raw: string; keys: NamedKey[] } | null = null;

/**
 * `PROXY_API_KEYS`: comma-separated keys, or a JSON object of named keys
 * (`{"alice": {"key": "sk-a", "requests_per_minute": 60, "tokens_per_day": 2000000, "models": ["deepseek-*"]}, "dave": "sk-d"}`).
 * Throws a TypeError that says what is wrong.
 */
export function parseProxyKeys(raw: string | undefined): NamedKey[] {
  const text = (raw ?? "").trim();
  if (cached?.raw === text) return cached.keys;
  let keys: NamedKey[];
  if (text.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new TypeError("PROXY_API_KEYS starts with { but is not valid JSON.");
    }
    keys = Object.entries(parsed as Record<string, unknown>).map(([name, entry]) => namedKey(name, entry));
    const seen = new Set<string>();
    for (const k of keys) {
      if (seen.has(k.key)) throw new TypeError(`PROXY_API_KEYS gives the same key to two names ("${k.name}" among them).`);
      seen.add(k.key);
    }
  } else {
    keys = text
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((key) => ({ name: null, key, limits: null }));
  }
  cached = { raw: text, keys };
  return keys;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Each configured key's digest, computed once per isolate (the key list itself is cached above). */
const digests = new WeakMap<NamedKey, Promise<Uint8Array>>();
function digestOf(k: NamedKey): Promise<Uint8Array> {
  let d = digests.get(k);
  if (!d) digests.set(k, (d = sha256(k.key)));
  return d;
}

/**
 * The key `presented` is, or null, in time that depends on neither: digests
 * make every comparison the same length, and every key is compared, so the
 * position of a match does not show either.
 */
export async function identify(presented: string, keys: readonly NamedKey[]): Promise<KeyIdentity | null> {
  const p = await sha256(presented);
  let found: NamedKey | null = null;
  let foundDigest: Uint8Array | null = null;
  for (const k of keys) {
    const d = await digestOf(k);
    let diff = 0;
    for (let i = 0; i < d.length; i++) diff |= d[i]! ^ p[i]!;
    if (diff === 0) [found, foundDigest] = [k, d];
  }
  if (!found) return null;
  // The comma form has no names: a short prefix of the key's SHA-256 stands in (never the key).
  return { name: found.name ?? `key_${hex(foundDigest!).slice(0, 12)}`, limits: found.limits };
}
