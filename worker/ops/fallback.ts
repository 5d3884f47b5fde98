// Internal: the upstream call of a response: the key's limits first, then MODEL_MAP's fallbacks in turn, before the first byte only.
import { ResponsesError, type ResponsesReaderOptions } from "../../src/index.ts";
import type { ModelRoute } from "../config.ts";
import { type ClientContext, upstreamAuthFor } from "../context.ts";
import { type PreparedResponse, prepareResponse } from "../run/prepare.ts";
import { callUpstream, errorText } from "../upstream.ts";
import { templateShapeAskedFor } from "../run/template-retry.ts";
import { admit } from "./limits.ts";
import { type Trace, tracedFetch } from "./request.ts";

/** Worth asking the next upstream: this one could not be reached or sent no headers in time. */
function movesOn(e: unknown): boolean {
  return e instanceof ResponsesError && (e.payload.code === "upstream_unreachable" || e.payload.code === "upstream_timeout");
}

/**
 * llama.cpp and Ollama answer a chat template's refusal with a 500: that is this route asking for
 * another shape (worker/run/template-retry.ts), not failing, so it is answered here and learned.
 */
async function asksForTemplateShape(upstream: Response, prepared: PreparedResponse): Promise<boolean> {
  if (upstream.status !== 500 || !prepared.template.learns) return false;
  const text = await errorText(upstream.clone()).catch(() => "");
  return templateShapeAskedFor(upstream.status, text, prepared.template.shape) !== null;
}

/**
 * Points `prepared` at another route: the request translated again for it
 * (its model, and reasoning sent back only where it came from), and the
 * converter tagging new reasoning with its identity, so later turns follow the
 * upstream actually used. Only on a fallback, so the second expansion of the
 * input (stored history) costs nothing otherwise.
 */
async function retarget(prepared: PreparedResponse, ctx: ClientContext, route: ModelRoute): Promise<void> {
  const next = await prepareResponse(prepared.request, { ...ctx, config: { ...ctx.config, route: () => route } }, prepared.keep);
  const { adjust } = prepared;
  Object.assign(prepared, next);
  // What the caller changed in the run it prepared (remote compaction's summary run) holds for the new route too.
  if (adjust) {
    prepared.adjust = adjust;
    adjust(prepared);
  }
}

/**
 * Times the first batch of events. The reader calls `beforeFlush` as a method
 * of its options object, so the hook puts the original back after the first
 * batch: from then on nothing runs per batch that did not before.
 */
export function clockFirstBatch(options: ResponsesReaderOptions, trace: Trace): void {
  const inner = options.beforeFlush;
  options.beforeFlush = function (this: ResponsesReaderOptions | undefined, pending) {
    trace.firstAt ||= Date.now();
    if (this) this.beforeFlush = inner;
    return inner?.call(this, pending);
  };
}

/**
 * Asks the upstream for `prepared` and returns its answer (any status; the
 * caller turns errors into `UpstreamHttpError`s). The key's limits are checked
 * first (throws their 404/429). When the route names fallbacks, a connection
 * failure, a timeout waiting for headers, a 5xx or a 429 moves on to the next
 * one (each after the route's own UPSTREAM_RETRIES); the last one's answer is
 * the answer. Nothing has reached the client yet: once bytes flow, nothing is
 * retried. `prepared.route` ends as the route that answered.
 */
export async function callWithFallback(prepared: PreparedResponse, ctx: ClientContext, stream: boolean, body: () => string | (() => ReadableStream<Uint8Array>)): Promise<Response> {
  const model = typeof prepared.request.model === "string" ? prepared.request.model : "";
  await admit(ctx.ops, model);
  const chain = prepared.route.fallback ?? [];
  for (let i = 0; ; i++) {
    const last = i >= chain.length;
    const route = prepared.route;
    const auth = upstreamAuthFor(route, ctx);
    let upstream: Response;
    try {
      upstream = await callUpstream({ target: `${route.baseUrl}/chat/completions`, method: "POST", body: body(), stream, auth, clientSignal: ctx.signal }, ctx.config, tracedFetch(ctx.fetchUpstream, ctx.ops));
    } catch (e) {
      if (last || !movesOn(e) || ctx.signal?.aborted) throw e;
      await retarget(prepared, ctx, chain[i]!);
      continue;
    }
    if (!last && (upstream.status >= 500 || upstream.status === 429) && !(await asksForTemplateShape(upstream, prepared))) {
      await upstream.body?.cancel().catch(() => {});
      await retarget(prepared, ctx, chain[i]!);
      continue;
    }
    if (ctx.ops) {
      ctx.ops.trace.upstream = { model: prepared.route.model, baseUrl: prepared.route.baseUrl };
      if (stream) clockFirstBatch(prepared.options, ctx.ops.trace);
    }
    return upstream;
  }
}
