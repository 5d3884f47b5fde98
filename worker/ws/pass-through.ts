import type { ClientContext } from "../context.ts";
import { acceptWebSocket, upgradedSocket } from "../cloudflare/websocket.ts";
import { maxMessageHeader } from "./message-limit.ts";
import { redact } from "../upstream.ts";

/** Client headers an upstream Responses WebSocket may need (OpenAI's beta flag; who the client is). */
const FORWARDED = ["openai-beta", "originator", "user-agent"];

/**
 * With UPSTREAM_API=responses, a client's Responses WebSocket becomes a
 * WebSocket to the upstream's `/responses`, frames relayed both ways as they
 * are (a `response.create` frame's model renamed by MODEL_MAP). The upstream
 * keeps its per-connection state (`store: false` responses continued by
 * `previous_response_id`), as it would for a direct client. Null when the
 * upstream does not upgrade: the caller then relays frame by frame over HTTP.
 */
export async function openPassThroughSocket(ctx: ClientContext): Promise<Response | null> {
  const headers: Record<string, string> = { upgrade: "websocket" };
  if (ctx.upstreamAuth) headers["authorization"] = ctx.upstreamAuth;
  for (const h of FORWARDED) {
    const v = ctx.clientHeaders.get(h);
    if (v) headers[h] = v;
  }
  let response: Response;
  try {
    response = await ctx.fetchUpstream(`${ctx.config.upstreamBaseUrl}/responses`, { headers });
  } catch {
    return null;
  }
  const upstream = upgradedSocket(response);
  if (!upstream) {
    await response.body?.cancel().catch(() => {});
    return null;
  }
  return acceptWebSocket((client) => relaySockets(client, upstream, ctx), maxMessageHeader(ctx.config.wsMaxMessageBytes, response.headers));
}

/** A close code a socket may send (1005, 1006 and 1015 are only ever received). */
function sendable(code: number): number {
  return code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000;
}

function relaySockets(client: WebSocket, upstream: WebSocket, ctx: ClientContext): void {
  let closed = false;
  const closeBoth = (code: number, reason: string) => {
    if (closed) return;
    closed = true;
    for (const s of [client, upstream]) {
      try {
        s.close(sendable(code), reason.slice(0, 120));
      } catch {
        // Already closing.
      }
    }
  };
  const send = (to: WebSocket, data: string | ArrayBuffer) => {
    try {
      to.send(data);
    } catch {
      closeBoth(1011, "relay failed");
    }
  };
  client.addEventListener("message", (e) => {
    const frame = typeof e.data === "string" ? forUpstream(e.data, ctx) : { data: e.data as ArrayBuffer };
    if ("error" in frame) send(client, frame.error);
    else send(upstream, frame.data);
  });
  upstream.addEventListener("message", (e) => send(client, e.data as string | ArrayBuffer));
  client.addEventListener("close", (e) => closeBoth(e.code, e.reason));
  upstream.addEventListener("close", (e) => closeBoth(e.code, e.reason));
  client.addEventListener("error", () => closeBoth(1011, "client socket error"));
  upstream.addEventListener("error", () => closeBoth(1011, "upstream socket error"));
}

/**
 * A client frame as the upstream gets it: unchanged, but a `response.create` model renamed by
 * MODEL_MAP. A model MODEL_MAP sends elsewhere (another base URL, a chat upstream) cannot ride
 * this socket: the client gets an error frame instead.
 */
function forUpstream(data: string, ctx: ClientContext): { data: string } | { error: string } {
  let frame: unknown;
  try {
    frame = JSON.parse(data);
  } catch {
    return { data }; // The upstream answers a malformed frame in its own words.
  }
  const f = frame as { type?: unknown; model?: unknown };
  if (typeof frame !== "object" || frame === null || f.type !== "response.create" || typeof f.model !== "string") return { data };
  const { config } = ctx;
  const route = config.route(f.model);
  if (route.api !== "responses" || route.baseUrl !== config.upstreamBaseUrl) {
    const message = redact(`Model '${f.model}' is served by another upstream than this WebSocket's; use POST /v1/responses for it.`, config);
    return { error: JSON.stringify({ type: "error", status: 400, error: { type: "invalid_request_error", code: "unsupported_model", message, param: "model" } }) };
  }
  return { data: route.model === f.model ? data : JSON.stringify({ ...(frame as object), model: route.model }) };
}
