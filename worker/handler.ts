import {
  ChatToResponsesStream,
  type ErrorPayload,
  fromChatCompletion,
  normalizeUpstreamError,
  parseResponsesRequest,
  ResponsesError,
  toChatRequest,
  type ChatCompletion,
} from "../src/index.ts";
import { matchesAnyKey, presentedKey } from "./auth.ts";
import type { BridgeConfig } from "./config.ts";
import { corsHeaders } from "./cors.ts";

export type Fetch = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** Upstream headers worth passing on: rate limits and retry hints, so clients back off correctly. */
const FORWARDED_RESPONSE_HEADERS = /^(retry-after|retry-after-ms|x-ratelimit-[a-z-]+|x-request-id|openai-processing-ms)$/i;

/** Headers that keep an event stream flowing: no caching, no compression holding events back, no proxy buffering. */
const STREAM_HEADERS = { "cache-control": "no-cache", "content-encoding": "identity", "x-accel-buffering": "no" };

const ROUTES: Record<string, string> = {
  "/v1/responses": "POST",
  "/responses": "POST",
  "/v1/chat/completions": "POST",
  "/chat/completions": "POST",
  "/v1/models": "GET",
  "/models": "GET",
};

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

function errorResponse(status: number, error: ErrorPayload, headers: Record<string, string> = {}): Response {
  return json(status, { error }, headers);
}

/** Never let the upstream key out, even when an upstream echoes it in an error message. */
export function redact(text: string, config: BridgeConfig): string {
  const key = config.upstreamApiKey;
  return key && key.length >= 4 ? text.split(key).join("[redacted]") : text;
}

/** Codex says who it is in `originator` (`codex_exec`, `codex_cli_rs`, …) and its user agent. */
function isCodex(headers: Headers): boolean {
  return /^codex/i.test(headers.get("originator") ?? "") || /^codex/i.test(headers.get("user-agent") ?? "");
}

function forwardedHeaders(from: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  from.forEach((v, k) => {
    if (FORWARDED_RESPONSE_HEADERS.test(k)) out[k] = v;
  });
  return out;
}

/**
 * The Worker's whole behaviour, with the upstream `fetch` injected so tests
 * (and other hosts: Deno, Bun, a Durable Object) can run it as is.
 */
export async function handle(request: Request, config: BridgeConfig, fetchUpstream: Fetch): Promise<Response> {
  const url = new URL(request.url);
  const cors = corsHeaders(config, request.headers.get("origin"));
  const withCors = (r: Response): Response => {
    for (const [k, v] of Object.entries(cors)) r.headers.set(k, v);
    return r;
  };

  if (request.method === "OPTIONS") return withCors(new Response(null, { status: 204 }));
  const method = ROUTES[url.pathname];
  if (!method) {
    return withCors(errorResponse(404, { message: `Unknown path ${request.method} ${url.pathname}. This bridge serves POST /v1/responses, POST /v1/chat/completions and GET /v1/models.`, type: "invalid_request_error", param: null, code: "unknown_url" }));
  }
  if (request.method !== method) {
    return withCors(errorResponse(405, { message: `${request.method} is not allowed on ${url.pathname}; use ${method}.`, type: "invalid_request_error", param: null, code: "method_not_allowed" }, { allow: `${method}, OPTIONS` }));
  }

  if (config.proxyApiKeys.length) {
    const key = presentedKey(request.headers);
    if (!key || !(await matchesAnyKey(key, config.proxyApiKeys))) {
      return withCors(errorResponse(401, { message: "Incorrect API key provided. This bridge requires one of its configured keys as a Bearer token.", type: "invalid_request_error", param: null, code: "invalid_api_key" }));
    }
  }
  // Without a key of its own, the bridge lends the client's key to the upstream; never a proxy key.
  const upstreamAuth = config.upstreamApiKey ? `Bearer ${config.upstreamApiKey}` : config.proxyApiKeys.length ? null : request.headers.get("authorization");

  try {
    const response = url.pathname.endsWith("/responses")
      ? await responses(request, config, fetchUpstream, upstreamAuth)
      : await passThrough(request, url, config, fetchUpstream, upstreamAuth);
    return withCors(response);
  } catch (e) {
    // Every ResponsesError leaves through here, so this one redaction covers them all.
    if (e instanceof ResponsesError) return withCors(errorResponse(e.status, { ...e.payload, message: redact(e.message, config) }));
    throw e;
  }
}

async function responses(request: Request, config: BridgeConfig, fetchUpstream: Fetch, auth: string | null): Promise<Response> {
  const body = parseResponsesRequest(await request.text());
  const route = config.route(typeof body.model === "string" ? body.model : "");
  const translation = toChatRequest(body, { ...config.translate, model: () => route.model });
  const stream = body.stream === true;
  const upstream = await callUpstream(`${route.baseUrl}/chat/completions`, "POST", JSON.stringify(translation.request), stream, auth, config, fetchUpstream, request.signal);
  const headers = forwardedHeaders(upstream.headers);
  if (translation.dropped.length) headers["x-responses-bridge-dropped-tools"] = translation.dropped.join(", ");

  if (!upstream.ok) return await upstreamError(upstream, headers, config);
  const options = {
    ...config.convert,
    refusalAsText: config.refusalAsText === "auto" ? isCodex(request.headers) : config.refusalAsText,
    request: body,
    tools: translation.tools,
    redact: (text: string) => redact(text, config),
  };
  if (stream) {
    if (!upstream.body) throw new ResponsesError(502, { message: "Upstream answered without a body.", type: "upstream_error", code: "server_error" });
    return new Response(upstream.body.pipeThrough(new ChatToResponsesStream(options)), {
      status: 200,
      headers: { ...headers, ...STREAM_HEADERS, "content-type": "text/event-stream; charset=utf-8" },
    });
  }
  const text = await upstream.text();
  let completion: ChatCompletion;
  try {
    completion = JSON.parse(text) as ChatCompletion;
  } catch {
    throw new ResponsesError(502, { message: `Upstream sent a body that is not JSON: ${text.slice(0, 300)}`, type: "upstream_error", code: "server_error" });
  }
  return json(200, fromChatCompletion(completion, options), headers);
}

async function passThrough(request: Request, url: URL, config: BridgeConfig, fetchUpstream: Fetch, auth: string | null): Promise<Response> {
  const path = url.pathname.replace(/^\/v1/, "");
  let body: string | null = null;
  let baseUrl = config.upstreamBaseUrl;
  let wantsStream = false;
  if (request.method === "POST") {
    body = await request.text();
    try {
      const parsed = JSON.parse(body) as { model?: unknown; stream?: unknown };
      if (typeof parsed.model === "string") {
        const route = config.route(parsed.model);
        baseUrl = route.baseUrl;
        if (route.model !== parsed.model) body = JSON.stringify({ ...parsed, model: route.model });
      }
      wantsStream = parsed.stream === true;
    } catch {
      // Not JSON: the upstream will say so in its own words.
    }
  }
  const upstream = await callUpstream(`${baseUrl}${path}${url.search}`, request.method, body, wantsStream, auth, config, fetchUpstream, request.signal, request.headers.get("content-type"));
  const headers = forwardedHeaders(upstream.headers);
  if (!upstream.ok) return await upstreamError(upstream, headers, config);
  const type = upstream.headers.get("content-type");
  if (type) headers["content-type"] = type;
  return new Response(upstream.body, { status: upstream.status, headers: wantsStream ? { ...headers, ...STREAM_HEADERS } : headers });
}

async function callUpstream(
  target: string,
  method: string,
  body: string | null,
  stream: boolean,
  auth: string | null,
  config: BridgeConfig,
  fetchUpstream: Fetch,
  clientSignal: AbortSignal | undefined,
  contentType: string | null = "application/json",
): Promise<Response> {
  const headers: Record<string, string> = {
    accept: stream ? "text/event-stream" : "application/json",
    // An uncompressed body can be converted and forwarded chunk by chunk.
    "accept-encoding": "identity",
  };
  if (body !== null) headers["content-type"] = contentType ?? "application/json";
  if (auth) headers.authorization = auth;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("timeout", "TimeoutError")), config.timeoutMs);
  const onClientAbort = () => controller.abort(clientSignal?.reason);
  clientSignal?.addEventListener("abort", onClientAbort);
  try {
    return await fetchUpstream(target, { method, headers, body, signal: controller.signal });
  } catch (e) {
    if (controller.signal.aborted && !clientSignal?.aborted) {
      throw new ResponsesError(504, { message: `Upstream did not answer within ${config.timeoutMs} ms.`, type: "upstream_error", code: "upstream_timeout" });
    }
    throw new ResponsesError(502, { message: `Upstream ${new URL(target).origin} could not be reached: ${String((e as Error)?.message ?? e)}`, type: "upstream_error", code: "upstream_unreachable" });
  } finally {
    // The timeout covers waiting for headers; a long generation streams past it.
    clearTimeout(timer);
  }
}

async function upstreamError(upstream: Response, headers: Record<string, string>, config: BridgeConfig): Promise<Response> {
  const text = await upstream.text().catch(() => "");
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain text or an HTML page: normalizeUpstreamError keeps it as the message.
  }
  const error = normalizeUpstreamError(parsed, upstream.status);
  return errorResponse(upstream.status, { ...error, message: redact(error.message, config) }, headers);
}
