import { type EventSink, ResponsesError } from "../src/index.ts";
import { type ConversationStore, createSealer, layerResolvers, type ResponseStore, type Sealer, storeResolver } from "../src/server.ts";
import { presentedKey } from "./auth.ts";
import type { BridgeConfig } from "./config.ts";
import type { ClientContext } from "./context.ts";
import { corsHeaders } from "./cors.ts";
import { errorResponse, unexpectedError } from "./http.ts";
import { identify, type KeyIdentity } from "./ops/keys.ts";
import { logFailure } from "./ops/log.ts";
import { newTrace, type RequestOps, requestIdOf, withRequestId } from "./ops/request.ts";
import type { KeyLedger, ResponseLine } from "./ops/types.ts";
import { getUsage } from "./routes/usage.ts";
import { postCompact } from "./routes/compact.ts";
import { postChatCompletions } from "./routes/chat-completions.ts";
import { getModels, upstreamWhenResponses } from "./routes/passthrough.ts";
import { postResponses } from "./routes/responses-http.ts";
import { postInputTokens } from "./routes/input-tokens.ts";
import { openResponsesSocket } from "./ws/session.ts";
import { deleteResponse, getResponse, listInputItems } from "./routes/stored.ts";
import * as conv from "./routes/conversations.ts";
import { type Fetch, redact, UpstreamHttpError } from "./upstream.ts";
import type { BackgroundRuns } from "./run/background.ts";
import { cancelResponse, deleteBackground, getOrStream } from "./routes/background.ts";

export type { Fetch } from "./upstream.ts";

type RouteHandler = (request: Request, ctx: ClientContext, params: Record<string, string>) => Promise<Response>;

interface Route {
  /** Matched against the path; named groups become `params`. */
  path: RegExp;
  methods: Partial<Record<string, RouteHandler>>;
}

/** `POST /v1/responses/compact`: its own handler, or the upstream's when it speaks Responses (named: the log line tells compactions apart by it). */
const compactRoute = upstreamWhenResponses(postCompact);

/** Every path the bridge serves, each with one module per route family. */
const ROUTES: Route[] = [
  { path: /^(?:\/v1)?\/responses$/, methods: { POST: postResponses, GET: openResponsesSocket } },
  // With UPSTREAM_API=responses the stored-response paths are the upstream's (`upstreamWhenResponses`).
  { path: /^(?:\/v1)?\/responses\/compact$/, methods: { POST: compactRoute } },
  { path: /^(?:\/v1)?\/responses\/input_tokens$/, methods: { POST: postInputTokens } },
  // Any id but `compact` and `input_tokens` (endpoints of their own above; excluded so GET on them is not read as an id).
  { path: /^(?:\/v1)?\/responses\/(?<id>(?!(?:compact|input_tokens)$)[^/]+)$/, methods: { GET: upstreamWhenResponses(getOrStream(getResponse)), DELETE: upstreamWhenResponses(deleteBackground(deleteResponse)) } },
  { path: /^(?:\/v1)?\/responses\/(?<id>[^/]+)\/cancel$/, methods: { POST: upstreamWhenResponses(cancelResponse) } },
  { path: /^(?:\/v1)?\/responses\/(?<id>[^/]+)\/input_items$/, methods: { GET: upstreamWhenResponses(listInputItems) } },
  // The Conversations API (routes/conversations.ts); the upstream's own with UPSTREAM_API=responses.
  { path: /^(?:\/v1)?\/conversations$/, methods: { POST: upstreamWhenResponses(conv.createConversation) } },
  { path: /^(?:\/v1)?\/conversations\/(?<id>[^/]+)$/, methods: { GET: upstreamWhenResponses(conv.getConversation), POST: upstreamWhenResponses(conv.updateConversation), DELETE: upstreamWhenResponses(conv.deleteConversation) } },
  { path: /^(?:\/v1)?\/conversations\/(?<id>[^/]+)\/items$/, methods: { GET: upstreamWhenResponses(conv.listConversationItems), POST: upstreamWhenResponses(conv.addConversationItems) } },
  { path: /^(?:\/v1)?\/conversations\/(?<id>[^/]+)\/items\/(?<item>[^/]+)$/, methods: { GET: upstreamWhenResponses(conv.getConversationItem), DELETE: upstreamWhenResponses(conv.deleteConversationItem) } },
  { path: /^(?:\/v1)?\/chat\/completions$/, methods: { POST: postChatCompletions } },
  { path: /^(?:\/v1)?\/models$/, methods: { GET: getModels } },
  { path: /^(?:\/v1)?\/usage$/, methods: { GET: getUsage } },
];

/**
 * One sealer per key material: deriving the key costs a few Web Crypto calls,
 * so it is done once per isolate, not per request. Bounded, since without a
 * Worker secret every client credential is its own key.
 */
const sealers = new Map<string, Sealer>();
function sealerFor(secret: string): Sealer {
  let sealer = sealers.get(secret);
  if (!sealer) {
    if (sealers.size >= 64) sealers.clear();
    sealer = createSealer(secret);
    sealers.set(secret, sealer);
  }
  return sealer;
}

/** Host facilities a route may use; all optional so tests and other hosts can run `handle` as is. */
export interface Platform {
  waitUntil?(promise: Promise<unknown>): void;
  /** The stored responses of whoever presents `credential` (null: none presented); absent: nothing is stored. */
  storeFor?(credential: string | null): ResponseStore;
  /** The conversations of whoever presents `credential`; absent: none are kept (`/v1/conversations` is refused, `conversation` on create is a 404). */
  conversationsFor?(credential: string | null): ConversationStore;
  /** The counters (limits, usage) of a named key; absent: keys with limits are refused, no usage is kept. */
  ledgerFor?(keyName: string): KeyLedger;
  /** Each response's log line, besides the log (Analytics Engine). */
  analytics?(line: ResponseLine): void;
  /** The background runs of whoever presents `credential`; absent: `background: true` is refused. */
  backgroundFor?(credential: string | null): BackgroundRuns;
  /**
   * This request is a background run, inside the object that runs it (never set from a client request). `admitted`:
   * its `create` already admitted it against the key's limits (worker/routes/background.ts): not counted again.
   */
  backgroundRun?: { id: string; sink?: EventSink; createdAt?: number; admitted?: boolean };
}

/**
 * The Worker's whole behaviour, with the upstream `fetch` injected so tests
 * (and other hosts: Deno, Bun, a Durable Object) can run it as is.
 */
export async function handle(request: Request, config: BridgeConfig, fetchUpstream: Fetch, platform: Platform = {}): Promise<Response> {
  const url = new URL(request.url);
  const cors = corsHeaders(config, request.headers.get("origin"));
  const requestId = requestIdOf(request.headers);
  const withCors = (r: Response): Response => {
    // A WebSocket upgrade's response has immutable headers, and CORS does not apply to it.
    if (r.status === 101) return r;
    for (const [k, v] of Object.entries(cors)) r.headers.set(k, v);
    r.headers.set("x-request-id", requestId);
    return r;
  };
  const fail = (status: number, error: Parameters<typeof errorResponse>[1], headers?: Record<string, string>) => withCors(errorResponse(status, withRequestId(error, requestId), headers));

  if (request.method === "OPTIONS") return withCors(new Response(null, { status: 204 }));
  let route: Route | undefined;
  let params: Record<string, string> = {};
  for (const r of ROUTES) {
    const m = r.path.exec(url.pathname);
    if (m) {
      route = r;
      params = m.groups ?? {};
      break;
    }
  }
  if (!route) {
    return fail(404, { message: `Unknown path ${request.method} ${url.pathname}. This bridge serves POST /v1/responses (and a WebSocket on GET), POST /v1/responses/compact, POST /v1/responses/input_tokens, GET/DELETE /v1/responses/{id} (GET with ?stream=true&starting_after=N for a background response), POST /v1/responses/{id}/cancel, GET /v1/responses/{id}/input_items, POST /v1/conversations, GET/POST/DELETE /v1/conversations/{id}, GET/POST /v1/conversations/{id}/items, GET/DELETE /v1/conversations/{id}/items/{item_id}, POST /v1/chat/completions, GET /v1/models and GET /v1/usage.`, type: "invalid_request_error", param: null, code: "unknown_url" });
  }
  const handler = route.methods[request.method];
  if (!handler) {
    const allowed = Object.keys(route.methods).join(", ");
    return fail(405, { message: `${request.method} is not allowed on ${url.pathname}; use ${allowed}.`, type: "invalid_request_error", param: null, code: "method_not_allowed" }, { allow: `${allowed}, OPTIONS` });
  }

  let key: KeyIdentity | null = null;
  if (config.keys.length) {
    const presented = presentedKey(request.headers);
    key = presented ? await identify(presented, config.keys) : null;
    if (!key) return fail(401, { message: "Incorrect API key provided. This bridge requires one of its configured keys as a Bearer token.", type: "invalid_request_error", param: null, code: "invalid_api_key" });
  }
  const credential = presentedKey(request.headers);
  const sealSecret = config.sealSecret ?? (credential ? `client-key:${credential}` : null);
  const store = platform.storeFor?.(credential) ?? null;
  const waitUntil = platform.waitUntil ?? ((p: Promise<unknown>) => void p.catch(() => {}));
  // A response's line is written where it ends (run/prepare.ts), or here when it fails before it began.
  const responseEndpoint = handler === postResponses ? "responses" : handler === compactRoute ? "compact" : handler === postInputTokens ? "input_tokens" : null;
  const ops: RequestOps = {
    requestId,
    key,
    ledger: key && platform.ledgerFor ? platform.ledgerFor(key.name) : null,
    trace: newTrace(responseEndpoint ?? "responses", handler === compactRoute || handler === postInputTokens ? "json" : null),
    sink: platform.analytics,
    waitUntil,
  };
  if (platform.backgroundRun?.admitted) ops.trace.admitted = true;
  const ctx: ClientContext = {
    config,
    fetchUpstream,
    // Without a key of its own, the bridge lends the client's key to the upstream; never a proxy key.
    upstreamAuth: config.upstreamApiKey ? `Bearer ${config.upstreamApiKey}` : config.keys.length ? null : request.headers.get("authorization"),
    clientHeaders: request.headers,
    signal: request.signal,
    sealer: sealSecret ? sealerFor(sealSecret) : null,
    waitUntil,
    store,
    conversations: platform.conversationsFor?.(credential) ?? null,
    background: platform.backgroundFor?.(credential) ?? null,
    backgroundRun: platform.backgroundRun,
    resolver: layerResolvers(store && storeResolver(store)),
    ops,
  };

  try {
    return withCors(await handler(request, ctx, params));
  } catch (e) {
    if (responseEndpoint) logFailure(ops, e);
    // Every ResponsesError leaves through here, so this one redaction covers them all.
    if (e instanceof ResponsesError) {
      const headers = e instanceof UpstreamHttpError ? e.headers : {};
      return fail(e.status, { ...e.payload, message: redact(e.message, config) }, headers);
    }
    return fail(500, unexpectedError(e, config));
  }
}
