import type { ClientContext } from "../context.ts";
import { STREAM_HEADERS } from "../http.ts";
import { callUpstream, forwardedHeaders, upstreamError } from "../upstream.ts";
import { admit } from "../ops/limits.ts";
import { tracedFetch } from "../ops/request.ts";

/**
 * `GET /v1/models` and `POST /v1/chat/completions`, passed to the upstream as
 * they are (with `MODEL_MAP` applied), so one base URL serves both APIs.
 */
export async function passThrough(request: Request, ctx: ClientContext): Promise<Response> {
  const { config } = ctx;
  const url = new URL(request.url);
  const path = url.pathname.replace(/^\/v1/, "");
  let body: string | null = null;
  let baseUrl = config.upstreamBaseUrl;
  let wantsStream = false;
  let model: string | null = null;
  if (request.method === "POST") {
    body = await request.text();
    try {
      const parsed = JSON.parse(body) as { model?: unknown; stream?: unknown };
      if (typeof parsed.model === "string") {
        model = parsed.model;
        const route = config.route(parsed.model);
        baseUrl = route.baseUrl;
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
    { target: `${baseUrl}${path}${url.search}`, method: request.method, body, stream: wantsStream, auth: ctx.upstreamAuth, clientSignal: ctx.signal, contentType: request.headers.get("content-type") },
    config,
    tracedFetch(ctx.fetchUpstream, ctx.ops),
  );
  const headers = forwardedHeaders(upstream.headers);
  if (!upstream.ok) throw await upstreamError(upstream, headers, config);
  const type = upstream.headers.get("content-type");
  if (type) headers["content-type"] = type;
  return new Response(upstream.body, { status: upstream.status, headers: wantsStream ? { ...headers, ...STREAM_HEADERS } : headers });
}
