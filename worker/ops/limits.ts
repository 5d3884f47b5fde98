// Internal: a key's limits (models, requests per minute, tokens per day), checked before the upstream is asked, and its usage.
import { ResponsesError } from "../../src/index.ts";
import { UpstreamHttpError } from "../upstream.ts";
import type { RequestOps } from "./request.ts";
import type { Admission } from "./types.ts";

/** `1m0s`, `12.5s`, `800ms`: the duration format of OpenAI's `x-ratelimit-reset-*` headers. */
function resetDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.ceil(ms))}ms`;
  const s = Math.ceil(ms / 100) / 10;
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}h` : ""}${m}m${Math.ceil(s % 60)}s`;
}

/** OpenAI's words for a model a key may not use (it does not tell missing from forbidden). */
function modelNotFound(model: string): ResponsesError {
  return new ResponsesError(404, { message: `The model \`${model}\` does not exist or you do not have access to it.`, type: "invalid_request_error", param: null, code: "model_not_found" });
}

function refused(a: Exclude<Admission, { ok: true }>, name: string): UpstreamHttpError {
  const reset = resetDuration(a.resetMs);
  if (a.limit === "requests") {
    const wait = Math.max(1, Math.ceil(a.resetMs / 1000));
    return new UpstreamHttpError(
      429,
      { message: `Rate limit reached for key ${name} on requests per min (RPM): Limit ${a.max}, Used ${a.max}, Requested 1. Please try again in ${reset}.`, type: "requests", param: null, code: "rate_limit_exceeded" },
      { "retry-after": String(wait), "x-ratelimit-limit-requests": String(a.max), "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": reset },
    );
  }
  return new UpstreamHttpError(
    429,
    { message: `You exceeded your current quota: key ${name} has used ${a.used} of its ${a.max} tokens for today (UTC); the budget starts again in ${reset}.`, type: "insufficient_quota", param: null, code: "insufficient_quota" },
    { "x-ratelimit-limit-tokens": String(a.max), "x-ratelimit-remaining-tokens": String(Math.max(0, a.max - a.used)), "x-ratelimit-reset-tokens": reset },
  );
}

/**
 * Lets a request through to the upstream, or throws the answer OpenAI would
 * give: 404 `model_not_found` for a model outside the key's `models`, 429
 * `rate_limit_exceeded` over its requests per minute, 429 `insufficient_quota`
 * once today's tokens reached its budget. A key without limits returns at
 * once: no Durable Object is asked. Counted once per response.
 */
export async function admit(ops: RequestOps | undefined, model: string): Promise<void> {
  if (!ops) return;
  ops.trace.model ??= model;
  const limits = ops.key?.limits;
  if (!limits || ops.trace.admitted) return;
  if (limits.models && !limits.models.match.test(model)) throw modelNotFound(model);
  ops.trace.admitted = true;
  if (limits.requestsPerMinute === undefined && limits.tokensPerDay === undefined) return;
  if (!ops.ledger) {
    // Limits that cannot be counted are not silently dropped.
    throw new ResponsesError(500, { message: "PROXY_API_KEYS sets requests_per_minute or tokens_per_day, but the Worker has no KEY_LIMITS Durable Object binding to count them (see wrangler.toml).", type: "server_error", param: null, code: "bridge_misconfigured" });
  }
  const a = await ops.ledger.admit({ requestsPerMinute: limits.requestsPerMinute, tokensPerDay: limits.tokensPerDay });
  if (!a.ok) throw refused(a, ops.key!.name);
}
