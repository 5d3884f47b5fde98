// Internal: with a Responses upstream, which proxy key created each id the upstream made (responses, conversations), so no other key reaches it.
import { ResponsesError } from "../../src/index.ts";
import { conversationNotFound, previousResponseNotFound, responseNotFound } from "../../src/server.ts";
import type { RequestOps } from "./request.ts";
import type { KeyLedger } from "./types.ts";

/**
 * An upstream that speaks Responses keeps its own stored responses and conversations, all reached with
 * the Worker's one upstream key. Each id it creates for a request is remembered with the proxy key that
 * made the request (a row in that key's own KeyLimitsObject), and every request naming an id (in its path,
 * or as `previous_response_id` / `conversation` in its body, over HTTP or a WebSocket frame) is checked
 * against the presenting key's rows before it goes upstream: another key's id is OpenAI's not-found for
 * that kind of id, exactly as an id nobody created. Generic by path shape, so any route under
 * `/responses/{id}…` or `/conversations/{id}…` gets it. Without PROXY_API_KEYS there is one tenant and
 * nothing to check.
 */
export interface NamedId {
  id: string;
  /** Where it was named: decides OpenAI's answer when it is not this key's. */
  at: "response" | "conversation" | "previous_response_id" | "conversation_param";
}

/** Path segments after `/responses/` that are endpoints, not ids. */
const ENDPOINTS = new Set(["compact", "input_tokens"]);

/** The id a path names: `/responses/{id}[/…]` or `/conversations/{id}[/…]` (with or without `/v1`). */
export function idsInPath(pathname: string): NamedId[] {
  const m = /^(?:\/v1)?\/(responses|conversations)\/([^/]+)/.exec(pathname);
  if (!m || (m[1] === "responses" && ENDPOINTS.has(m[2]!))) return [];
  let id = m[2]!;
  try {
    id = decodeURIComponent(id);
  } catch {
    // Not valid percent-encoding: checked as written (no key created such an id, so it is not found).
  }
  return [{ id, at: m[1] === "responses" ? "response" : "conversation" }];
}

/** The ids a create body (or WebSocket `response.create` frame) continues from. */
export function idsInBody(body: unknown): NamedId[] {
  if (typeof body !== "object" || body === null) return [];
  const b = body as { previous_response_id?: unknown; conversation?: unknown };
  const out: NamedId[] = [];
  if (typeof b.previous_response_id === "string") out.push({ id: b.previous_response_id, at: "previous_response_id" });
  const conv = typeof b.conversation === "string" ? b.conversation : typeof b.conversation === "object" && b.conversation !== null ? (b.conversation as { id?: unknown }).id : undefined;
  if (typeof conv === "string") out.push({ id: conv, at: "conversation_param" });
  return out;
}

/** OpenAI's answer for an id this key cannot see. */
function notFound(n: NamedId): ResponsesError {
  if (n.at === "previous_response_id") return previousResponseNotFound(n.id);
  if (n.at === "response") return responseNotFound(n.id);
  return conversationNotFound(n.id, n.at === "conversation_param" ? "conversation" : null);
}

/** The key's ledger when ids must be isolated; null when there are no proxy keys. Keys without the KEY_LIMITS binding fail closed. */
function ledgerOf(ops: RequestOps | undefined): KeyLedger | null {
  if (!ops?.key) return null;
  if (ops.ledger) return ops.ledger;
  throw new ResponsesError(500, { message: "With UPSTREAM_API=responses and PROXY_API_KEYS, the ids the upstream creates are kept per key in the KEY_LIMITS Durable Object, which this Worker has no binding for (see wrangler.toml).", type: "server_error", param: null, code: "bridge_misconfigured" });
}

/**
 * Throws OpenAI's not-found for the first of `ids` the presenting key did not create. `local`: ids this
 * very connection saw created (a WebSocket's), accepted without a round trip. One object call when
 * anything is left to check; none without proxy keys or ids.
 */
export async function requireOwned(ops: RequestOps | undefined, ids: NamedId[], local?: ReadonlySet<string>): Promise<void> {
  const left = local ? ids.filter((n) => !local.has(n.id)) : ids;
  if (!left.length) return;
  const ledger = ledgerOf(ops);
  if (!ledger) return;
  const owned = new Set(await ledger.owned(left.map((n) => n.id)));
  const missing = left.find((n) => !owned.has(n.id));
  if (missing) throw notFound(missing);
}

/** Remembers an id the upstream created for this request's key (awaited: the client may name it as soon as it sees it). */
export async function rememberCreated(ops: RequestOps | undefined, id: string): Promise<void> {
  const ledger = ledgerOf(ops);
  if (ledger) await ledger.remember([id]);
}

/** Throws `bridge_misconfigured` when a named key's ids could not be remembered: before the upstream creates anything. */
export function requireIsolation(ops: RequestOps | undefined): void {
  ledgerOf(ops);
}

/** Whether ids are isolated for this request (a named key): the creating paths then observe what they forward. */
export function isolates(ops: RequestOps | undefined): boolean {
  return !!ops?.key;
}

