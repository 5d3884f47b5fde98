import { ResponsesError } from "../../src/index.ts";
import { type ClientContext, upstreamAuthFor } from "../context.ts";
import { STREAM_HEADERS } from "../http.ts";
import { callUpstream, forwardedHeaders, upstreamError } from "../upstream.ts";
import { admit } from "../ops/limits.ts";
import { observeJson, observeStream, type Watch } from "../ops/observe.ts";
import { idsInBody, idsInPath, isolates, requireIsolation, requireOwned } from "../ops/ownership.ts";
import { tracedFetch } from "../ops/request.ts";

/**
 * `GET /v1/models` and `POST /v1/chat/completions`, passed to the upstream as
 * they are (with `MODEL_MAP` applied), so one base URL serves both APIs.
 */
async function passThrough(request: Request, ctx: ClientContext): Promise<Response> {
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
  const { body, parsed, model, baseUrl, auth, wantsStream, hideUsageChunk } = outgoing(text, path, ctx);
  // Another key's response or conversation is not found, whichever path names it (worker/ops/ownership.ts).
  const watch = request.method === "POST" ? watchOf(path, ctx, hideUsageChunk) : null;
  if (watch?.creates) requireIsolation(ctx.ops);
  await requireOwned(ctx.ops, [...idsInPath(url.pathname), ...idsInBody(parsed)]);
  // A key's limits hold here too; its tokens are counted from the answer as it goes by.
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
  const status = upstream.status;
  if (!watch || !ctx.ops || !upstream.body) return new Response(upstream.body, { status, headers: wantsStream ? { ...headers, ...STREAM_HEADERS } : headers });
  if (type?.startsWith("text/event-stream")) return new Response(observeStream(upstream.body, ctx.ops, watch), { status, headers: { ...headers, ...STREAM_HEADERS } });
  // A JSON answer (a Response, a conversation, a completion) is read whole to note its id and usage, then sent as it came.
  const answer = await upstream.text();
  await observeJson(answer, ctx.ops, watch);
  return new Response(answer, { status, headers });
}

/**
 * What a forwarded POST's answer tells a named key's ledger: a new response or conversation (remembered
 * with the key, worker/ops/ownership.ts) and the tokens of a create or a chat completion. Null without a
 * named key, or for a path that creates and bills nothing: the answer then passes untouched.
 */
function watchOf(path: string, ctx: ClientContext, hideUsageChunk: boolean): Watch | null {
  if (!isolates(ctx.ops)) return null;
  if (path === "/responses") return { creates: true, usage: "responses" };
  // A compaction is billed as a response is (its `usage` is a Responses usage); it creates no id anyone names.
  if (path === "/responses/compact") return { creates: false, usage: "responses" };
  if (path === "/conversations") return { creates: true, usage: null };
  if (path === "/chat/completions") return { creates: false, usage: "chat", hideUsageChunk };
  return null;
}

type Parsed = { model?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } | null };

/** The body as it goes upstream (MODEL_MAP's model; `include_usage` asked for a keyed chat stream), and where it goes. */
function outgoing(text: string | null, path: string, ctx: ClientContext) {
  const { config } = ctx;
  const out = { body: text, parsed: null as Parsed | null, model: null as string | null, baseUrl: config.upstreamBaseUrl, auth: ctx.upstreamAuth, wantsStream: false, hideUsageChunk: false };
  if (text === null) return out;
  let parsed: Parsed;
  try {
    parsed = JSON.parse(text) as Parsed;
    if (typeof parsed !== "object" || parsed === null) return out;
  } catch {
    return out; // Not JSON: the upstream will say so in its own words.
  }
  out.parsed = parsed;
  out.wantsStream = parsed.stream === true;
  // A chat stream whose client asked no usage: asked for here (so a key's tokens count), its usage chunk kept from the client.
  out.hideUsageChunk = out.wantsStream && path === "/chat/completions" && !!ctx.ops?.key && parsed.stream_options?.include_usage !== true;
  const route = typeof parsed.model === "string" ? config.route(parsed.model) : null;
  if (route) {
    out.model = parsed.model as string;
    out.baseUrl = route.baseUrl;
    out.auth = upstreamAuthFor(route, ctx);
  }
  if ((route && route.model !== parsed.model) || out.hideUsageChunk) {
    out.body = JSON.stringify({ ...parsed, ...(route ? { model: route.model } : {}), ...(out.hideUsageChunk ? { stream_options: { ...parsed.stream_options, include_usage: true } } : {}) });
  }
  return out;
}

type Handler = (request: Request, ctx: ClientContext, params: Record<string, string>) => Promise<Response>;

/**
 * `GET /v1/models`: the upstream's list, passed through; for a key with `models` globs, only the models
 * they allow (as OpenAI lists only the models a key may use). The list is small: read whole to filter it.
 */
export async function getModels(request: Request, ctx: ClientContext): Promise<Response> {
  const upstream = await passThrough(request, ctx);
  const allowed = ctx.ops?.key?.limits?.models;
  if (!allowed) return upstream;
  const text = await upstream.text();
  let list: { data?: unknown };
  try {
    list = JSON.parse(text) as { data?: unknown };
  } catch {
    throw new ResponsesError(502, { message: `The upstream's model list is not JSON: ${text.slice(0, 200)}`, type: "upstream_error", code: "server_error" });
  }
  const data = Array.isArray(list.data) ? list.data.filter((m: { id?: unknown } | null) => typeof m?.id === "string" && allowed.match.test(m.id)) : [];
  const headers = new Headers(upstream.headers);
  headers.delete("content-length");
  return new Response(JSON.stringify({ ...list, data }), { status: upstream.status, headers });
}

/** With UPSTREAM_API=responses the stored-response paths belong to the upstream: forwarded, not served here. */
export function upstreamWhenResponses(handler: Handler): Handler {
  return (request, ctx, params) => (ctx.config.upstreamApi === "responses" ? passThrough(request, ctx) : handler(request, ctx, params));
}
