import { type ClientContext, upstreamAuthFor } from "../context.ts";
import { STREAM_HEADERS } from "../http.ts";
import { callUpstream, forwardedHeaders, upstreamError } from "../upstream.ts";
import { admit } from "../ops/limits.ts";
import { tracedFetch } from "../ops/request.ts";

/**
 * `GET /v1/models` and `POST /v1/chat/completions`, passed to the upstream as
 * they are (with `MODEL_MAP` applied), so one base URL serves both APIs.
 */
export async function passThrough(request: Request, ctx: ClientContext): Promise<Response> {
  return forwardBody(request, ctx, request.method === "POST" ? await request.text() : null);
}

/**
 * Sends `request` to the same path on the upstream with `body` (already read), renaming the model
 * by `MODEL_MAP`, and hands the answer back as it comes (errors keep status, shape and back-off headers).
 */
export async function forwardBody(request: Request, ctx: ClientContext, text: string | null): Promise<Response> {
  const { config } = ctx;
  const url = new URL(request.url);
  const path = url.pathname.replace(/^\/v1/, "");
  let body = text;
  let baseUrl = config.upstreamBaseUrl;
  let auth = ctx.upstreamAuth;
  let wantsStream = false;
  let model: string | null = null;
  if (body !== null) {
    try {
      const parsed = JSON.parse(body) as { model?: unknown; stream?: unknown };
      if (typeof parsed.model === "string") {
        model = parsed.model;
        const route = config.route(parsed.model);
        baseUrl = route.baseUrl;
        auth = upstreamAuthFor(route, ctx);
        if (route.model !== parsed.model) body = JSON.stringify({ ...parsed, model: route.model });
      }
      wantsStream = parsed.stream === true;
    } catch {
      // Not JSON: the upstream will say so in its own words.
    }
  }
  // A key's limits hold here too (its tokens are not counted: the body passes through untouched).
  if (model !== null) await admit(ctx.ops, model);
  const upstream = await callUpstream(
    { target: `${baseUrl}${path}${url.search}`, method: request.method, body, stream: wantsStream, auth, clientSignal: ctx.signal, contentType: request.headers.get("content-type") },
    config,
    tracedFetch(ctx.fetchUpstream, ctx.ops),
  );
  const headers = forwardedHeaders(upstream.headers);
  if (!upstream.ok) throw await upstreamError(upstream, headers, config);
  const type = upstream.headers.get("content-type");
  if (type) headers["content-type"] = type;
  return new Response(upstream.body, { status: upstream.status, headers: wantsStream ? { ...headers, ...STREAM_HEADERS } : headers });
}

type Handler = (request: Request, ctx: ClientContext, params: Record<string, string>) => Promise<Response>;

/** With UPSTREAM_API=responses the stored-response paths belong to the upstream: forwarded, not served here. */
export function upstreamWhenResponses(handler: Handler): Handler {
  return (request, ctx, params) => (ctx.config.upstreamApi === "responses" ? passThrough(request, ctx) : handler(request, ctx, params));
}
