import type { ClientContext } from "../context.ts";
import { acceptWebSocket, upgradedSocket } from "../cloudflare/websocket.ts";
import { maxMessageHeader } from "./message-limit.ts";
import { redact } from "../upstream.ts";
import { ResponsesError } from "../../src/index.ts";
import { count } from "../ops/observe.ts";
import { idsInBody, isolates, rememberCreated, requireIsolation, requireOwned } from "../ops/ownership.ts";
import { nextTurn } from "../ops/request.ts";

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
  // With proxy keys the ids this socket creates must be remembered: refused at the upgrade when they cannot be.
  requireIsolation(ctx.ops);
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
  // With proxy keys, frames each way wait in order behind the one being checked (an id's owner) or remembered.
  const watched = isolates(ctx.ops);
  const created = new Set<string>();
  let toUpstream = Promise.resolve();
  let toClient = Promise.resolve();
  client.addEventListener("message", (e) => {
    if (!watched) return relayClientFrame(e.data as string | ArrayBuffer, ctx, send, client, upstream);
    toUpstream = toUpstream.then(() => ownedFrame(e.data as string | ArrayBuffer, ctx, created)).then(
      (error) => (error ? send(client, error) : relayClientFrame(e.data as string | ArrayBuffer, ctx, send, client, upstream)),
      () => closeBoth(1011, "ownership check failed"),
    );
  });
  upstream.addEventListener("message", (e) => {
    const data = e.data as string | ArrayBuffer;
    if (!watched) return send(client, data);
    toClient = toClient.then(() => (typeof data === "string" ? observeUpstreamFrame(data, ctx, created) : undefined)).then(
      () => send(client, data),
      () => closeBoth(1011, "could not remember the response's owner"),
    );
  });
  client.addEventListener("close", (e) => closeBoth(e.code, e.reason));
  // The upstream's last frames may still wait for their owner's write: they leave before the close does.
  upstream.addEventListener("close", (e) => void toClient.then(() => closeBoth(e.code, e.reason)));
  client.addEventListener("error", () => closeBoth(1011, "client socket error"));
  upstream.addEventListener("error", () => closeBoth(1011, "upstream socket error"));
}

function relayClientFrame(data: string | ArrayBuffer, ctx: ClientContext, send: (to: WebSocket, data: string | ArrayBuffer) => void, client: WebSocket, upstream: WebSocket): void {
  const frame = typeof data === "string" ? forUpstream(data, ctx) : { data };
  if ("error" in frame) send(client, frame.error);
  else send(upstream, frame.data);
}

/** A `response.create` or `response.steer` frame naming another key's id: the error frame to answer instead (null: send it on). Ids made on this socket pass at once. */
async function ownedFrame(data: string | ArrayBuffer, ctx: ClientContext, created: ReadonlySet<string>): Promise<string | null> {
  if (typeof data !== "string") return null;
  let frame: unknown;
  try {
    frame = JSON.parse(data);
  } catch {
    return null;
  }
  // `response.steer` names the response it steers as `previous_response_id` too (the openai package's ResponsesClientEvent).
  const type = (frame as { type?: unknown } | null)?.type;
  if (type !== "response.create" && type !== "response.steer") return null;
  try {
    await requireOwned(ctx.ops, idsInBody(frame), created);
    return null;
  } catch (e) {
    if (!(e instanceof ResponsesError)) throw e;
    return JSON.stringify({ type: "error", status: e.status, error: { type: e.type, code: e.code ?? e.type, message: e.message, param: e.param } });
  }
}

const WATCHED_EVENT = /^\{\s*"type"\s*:\s*"response\.(created|completed|incomplete|failed)"/;

/**
 * An upstream frame on its way to the client: `response.created` has its id remembered with the key (and
 * this socket) before it leaves; a terminal event's usage counts into the key's. Other frames are not parsed.
 */
async function observeUpstreamFrame(data: string, ctx: ClientContext, created: Set<string>): Promise<void> {
  const kind = WATCHED_EVENT.exec(data.slice(0, 60))?.[1];
  if (!kind) return;
  let response: { id?: unknown; model?: unknown; status?: unknown; usage?: unknown } | undefined;
  try {
    response = (JSON.parse(data) as { response?: typeof response }).response;
  } catch {
    return;
  }
  const id = typeof response?.id === "string" ? response.id : null;
  if (kind === "created") {
    if (id && !created.has(id)) (created.add(id), await rememberCreated(ctx.ops, id));
    return;
  }
  const u = response?.usage;
  if (ctx.ops && u) {
    const status = kind === "completed" || kind === "incomplete" || kind === "failed" ? kind : "completed";
    const ops = nextTurn(ctx.ops);
    ops.trace.model = typeof response?.model === "string" ? response.model : null;
    count(ops, "responses", u, id, status);
  }
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
