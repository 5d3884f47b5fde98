import { fromResponse, parseResponsesRequest, type ResponseResource, responsesToChatSse, ResponsesError, toResponsesRequest } from "../../src/index.ts";
import type { ModelRoute } from "../config.ts";
import { type ClientContext, upstreamAuthFor } from "../context.ts";
import { EVENT_STREAM_HEADERS, json } from "../http.ts";
import { callUpstream, forwardedHeaders, redact, upstreamError } from "../upstream.ts";
import { forwardBody } from "./passthrough.ts";
import { admit } from "../ops/limits.ts";
import { logResponse } from "../ops/log.ts";
import { tracedFetch } from "../ops/request.ts";

/**
 * `POST /v1/chat/completions`. For a model whose upstream speaks Chat
 * Completions (the default) the request is passed through; for one that
 * speaks Responses (UPSTREAM_API or MODEL_MAP `"api": "responses"`) it is
 * translated to `POST <base_url>/responses` and the answer converted back:
 * chat chunks when `stream: true`, else one `chat.completion`.
 */
export async function postChatCompletions(request: Request, ctx: ClientContext): Promise<Response> {
  const text = await request.text();
  let model = "";
  try {
    const parsed = JSON.parse(text) as { model?: unknown };
    if (typeof parsed?.model === "string") model = parsed.model;
  } catch {
    // Not JSON: a chat upstream answers in its own words; a Responses one gets our 400 below.
  }
  const route = ctx.config.route(model);
  // Its log line (and the key's usage it counts) says what was asked, passed through or translated.
  if (ctx.ops) ctx.ops.trace.endpoint = "chat_completions";
  if (route.api !== "responses") return forwardBody(request, ctx, text);
  const body = parseResponsesRequest(text);
  // A key's limits hold here too, as on every path that reaches an upstream.
  await admit(ctx.ops, model);
  return chatViaResponses(body, route, ctx);
}

async function chatViaResponses(body: unknown, route: ModelRoute, ctx: ClientContext): Promise<Response> {
  const { config } = ctx;
  const t = toResponsesRequest(body, { model: () => route.model });
  // OMIT_PARAMS applies here too: e.g. `temperature,top_p`, which reasoning models such as gpt-5-pro reject.
  for (const k of config.translate.omit ?? []) delete t.request[k];
  const upstream = await callUpstream(
    { target: `${route.baseUrl}/responses`, method: "POST", body: JSON.stringify(t.request), stream: t.stream, auth: upstreamAuthFor(route, ctx), clientSignal: ctx.signal },
    config,
    tracedFetch(ctx.fetchUpstream, ctx.ops),
  );
  const headers = forwardedHeaders(upstream.headers);
  if (!upstream.ok) throw await upstreamError(upstream, headers, config);
  if (t.stream) {
    // Read by the shell itself (not `pipeThrough`), so a reset or a stall ends in an error frame the client sees.
    // The upstream's final Response is this answer's log line and usage (tokens_per_day counts it).
    const onEnd = (final: unknown) => ctx.ops && logResponse(ctx.ops, final as ResponseResource, true);
    const stream = responsesToChatSse(upstream, { includeUsage: t.includeUsage, model: route.model, redact: (s) => redact(s, config), idleTimeoutMs: config.stream.idleTimeoutMs, onEnd });
    return new Response(stream, { status: 200, headers: { ...headers, ...EVENT_STREAM_HEADERS } });
  }
  const text = await upstream.text();
  let resource: unknown;
  try {
    resource = JSON.parse(text);
  } catch {
    throw new ResponsesError(502, { message: `Upstream sent a body that is not JSON: ${text.slice(0, 300)}`, type: "upstream_error", code: "server_error" });
  }
  const completion = fromResponse(resource, { model: route.model });
  if (ctx.ops) logResponse(ctx.ops, resource as ResponseResource, false);
  return json(200, completion, headers);
}
