// Internal: the one structured log line per response (Workers Logs indexes its JSON fields), also handed to Analytics Engine.
import { ResponsesError, type ResponseResource } from "../../src/index.ts";
import type { RequestOps } from "./request.ts";
import { UpstreamHttpError } from "../upstream.ts";
import type { ResponseLine, UsageEntry } from "./types.ts";

function where(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "";
  }
}

function baseLine(ops: RequestOps): ResponseLine {
  const t = ops.trace;
  const now = Date.now();
  return {
    event: "response",
    response_id: null,
    status: "failed",
    key: ops.key?.name ?? null,
    model: t.model,
    upstream_model: t.upstream?.model ?? null,
    upstream: t.upstream ? where(t.upstream.baseUrl) : null,
    transport: t.transport,
    endpoint: t.endpoint,
    input_tokens: 0,
    output_tokens: 0,
    cached_tokens: 0,
    reasoning_tokens: 0,
    ttft_ms: t.firstAt ? t.firstAt - t.start : null,
    duration_ms: now - t.start,
    attempts: t.attempts,
    error_code: null,
    http_status: null,
    dropped_fields: t.dropped,
    upstream_provider: null,
    request_id: ops.requestId,
  };
}

function emit(ops: RequestOps, line: ResponseLine): void {
  ops.trace.logged = true;
  console.log(JSON.stringify(line));
  try {
    ops.sink?.(line);
  } catch {
    // Analytics is best effort; the answer and the log line do not depend on it.
  }
}

/**
 * A response ended (any status): its line, and its tokens into the key's usage
 * (after the answer, through `waitUntil`: never a round trip on the way).
 */
export function logResponse(ops: RequestOps, response: ResponseResource, streamed: boolean): void {
  if (ops.trace.logged) return;
  ops.trace.transport ??= streamed ? "sse" : "json";
  const line = baseLine(ops);
  const u = response.usage;
  line.response_id = response.id;
  line.status = response.status;
  line.input_tokens = u?.input_tokens ?? 0;
  line.output_tokens = u?.output_tokens ?? 0;
  line.cached_tokens = u?.input_tokens_details?.cached_tokens ?? 0;
  line.reasoning_tokens = u?.output_tokens_details?.reasoning_tokens ?? 0;
  line.error_code = response.error?.code ?? null;
  emit(ops, line);
  // A prewarm (`generate: false`) asked nobody: nothing to count.
  if (ops.trace.attempts > 0) countUsage(ops, line);
}

/** The line's tokens into the key's usage (and so its `tokens_per_day`), after the answer. */
function countUsage(ops: RequestOps, line: ResponseLine): void {
  const entry = { model: line.model ?? "", input_tokens: line.input_tokens, output_tokens: line.output_tokens, cached_tokens: line.cached_tokens, reasoning_tokens: line.reasoning_tokens };
  recordUsage(ops, entry, `usage of ${line.response_id ?? line.request_id}`);
}

/** Tokens into the key's usage, after the answer (a key without a ledger counts nothing); `what` names them if the write fails. */
export function recordUsage(ops: RequestOps, entry: UsageEntry, what: string): void {
  if (!ops.ledger) return;
  ops.waitUntil(ops.ledger.record(entry).catch((e: unknown) => console.error(`responses-bridge: counting ${what} for key ${ops.key?.name} failed: ${String((e as Error)?.message ?? e)}`)));
}

/**
 * Tokens the upstream billed for something that is not a response of the bridge's own: an input token count
 * (`endpoint: "input_tokens"`), a request passed through unchanged (its `usage`
 * read as it streamed by). Its line, and its tokens into the key's usage.
 */
export function logTokenCount(ops: RequestOps, input: number, output: number, extra: { cached?: number; reasoning?: number; responseId?: string | null; status?: ResponseLine["status"] } = {}): void {
  if (ops.trace.logged) return;
  const line = baseLine(ops);
  line.status = extra.status ?? "completed";
  line.response_id = extra.responseId ?? null;
  line.input_tokens = input;
  line.output_tokens = output;
  line.cached_tokens = extra.cached ?? 0;
  line.reasoning_tokens = extra.reasoning ?? 0;
  emit(ops, line);
  countUsage(ops, line);
}

/** A response that failed before it began (a 4xx/5xx answered instead of a stream): its line, with the error's code and status. */
export function logFailure(ops: RequestOps, e: unknown): void {
  if (ops.trace.logged) return;
  const line = baseLine(ops);
  line.ttft_ms = null;
  if (e instanceof ResponsesError) {
    line.error_code = e.code ?? e.type;
    line.http_status = e.status;
    // Who said it, when the body named a provider (OpenRouter's provider_name, Google's envelope).
    if (e instanceof UpstreamHttpError) line.upstream_provider = e.provider;
  } else {
    line.error_code = "server_error";
    line.http_status = 500;
  }
  emit(ops, line);
}
