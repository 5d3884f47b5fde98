import type { EventSink } from "../src/index.ts";
import type { ConversationStore, HistoryResolver, ResponseStore, Sealer, StoredResponse } from "../src/server.ts";
import type { BridgeConfig } from "./config.ts";
import type { RequestOps } from "./ops/request.ts";
import type { BackgroundRuns } from "./run/background.ts";
import type { Fetch } from "./upstream.ts";

/**
 * Everything a route needs besides the request itself: settings, the way out
 * to the upstream, and who the client is. Built once per incoming request (or
 * once per WebSocket connection) by the router; transports share it.
 */
export interface ClientContext {
  config: BridgeConfig;
  fetchUpstream: Fetch;
  /** `Authorization` to send upstream: the Worker's key, the client's own, or none. */
  upstreamAuth: string | null;
  /** The client's request headers (for the upgrade request, on a WebSocket). */
  clientHeaders: Headers;
  /** Aborts when the client goes away. */
  signal?: AbortSignal | undefined;
  /**
   * Seals and opens compaction and reasoning tokens. Keyed by the Worker's
   * secret, or, when it has none, by the client's own credential (so a token
   * opens only for the client it was made for); null for an anonymous client
   * of a Worker without any secret.
   */
  sealer: Sealer | null;
  /** Work that may outlive the answer (a Worker's `ctx.waitUntil`); runs inline where there is none. */
  waitUntil(promise: Promise<unknown>): void;
  /** Stored responses of this client's credential (already partitioned by it); null where the host keeps none. */
  store: ResponseStore | null;
  /** Conversations of this client's credential (the Conversations API, `conversation` on create); null where the host keeps none. */
  conversations: ConversationStore | null;
  /**
   * Where `previous_response_id` / `item_reference` resolve: the store (with none, nothing is found, so
   * the answer is OpenAI's `previous_response_not_found`). A WebSocket layers its own memory over it.
   */
  resolver: HistoryResolver;
  /** Background runs of this client's credential (`background: true`); null where the host has none. */
  background?: BackgroundRuns | null;
  /** Set when this request is a background run itself, inside the object running it: run it here, under this id, its events into `sink`. */
  backgroundRun?: { id: string; sink?: EventSink; createdAt?: number; admitted?: boolean } | undefined;
  /** Told of every response as it ends, stored or not (a WebSocket keeps `store: false` ones for the connection). */
  onRecord?: ((record: StoredResponse) => void) | undefined;
  /** The operator side: request id, the presented key and its limits, the response's log line (worker/ops). Absent: none of it. */
  ops?: RequestOps | undefined;
}

/** The credential sent to a route's upstream: the route's own `api_key` (MODEL_MAP), else the Worker's (or the lent client's). */
export function upstreamAuthFor(route: { apiKey?: string }, ctx: Pick<ClientContext, "upstreamAuth">): string | null {
  return route.apiKey ? `Bearer ${route.apiKey}` : ctx.upstreamAuth;
}
