import { createChatToResponsesConverter, type IdGenerator, type ResponseResource, type ResponsesRequest } from "../../src/index.ts";

/**
 * Background runs (`background: true`), as the routes see them: whatever hosts them (a Durable Object
 * per run, worker/cloudflare/background-run-object.ts) runs the response itself, with no client
 * connected, and keeps its events for readers. One credential's view: another key's ids are unknown.
 */
export interface BackgroundRuns {
  /** Starts the run of `body` (the request as the client sent it) under `id`; resolves the `queued` Response at once. */
  start(id: string, body: string, headers: Array<[string, string]>): Promise<ResponseResource>;
  /** The Response as it stands (queued, in_progress, or how it ended); undefined when no background run has this id. */
  get(id: string): Promise<ResponseResource | undefined>;
  /** The run's SSE frames after `startingAfter`, then the live ones, to its terminal event; undefined when unknown. */
  events(id: string, startingAfter: number): Promise<ReadableStream<Uint8Array> | undefined>;
  /** Stops the run (it ends `cancelled`) or, when it has ended, returns it unchanged; undefined when unknown. */
  cancel(id: string): Promise<ResponseResource | undefined>;
  /** Forgets the run's events and state; true when there was one. */
  delete(id: string): Promise<boolean>;
}

/** The terminal events of a run: after one, nothing more comes. */
export const TERMINAL_EVENTS = new Set(["response.completed", "response.incomplete", "response.failed", "response.cancelled"]);

/** A status a run no longer leaves. */
export function isTerminalStatus(status: unknown): boolean {
  return status === "completed" || status === "incomplete" || status === "failed" || status === "cancelled";
}

/** The ids of the run itself: its response id is the one `create` already answered with; its items' ids share its shard. */
export function backgroundIds(id: string, inner: IdGenerator): IdGenerator {
  return (prefix) => (prefix === "resp" ? id : inner(prefix));
}

/**
 * The Response `create` answers before the run has begun: the request's fields echoed, exactly as the
 * run's own `response.created` will carry them, with `status: "queued"`.
 */
export function queuedResponse(id: string, request: ResponsesRequest, createdAt: number): ResponseResource {
  const envelope = createChatToResponsesConverter({ request, ids: () => id, now: () => createdAt }).response;
  return { ...envelope, status: "queued" };
}

/** The frame of one event, numbered, as the SSE stream carries it. */
export function frameOf(type: string, seq: number, fields: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields, sequence_number: seq })}\n\n`;
}

/** A run that can no longer finish: `failed`, with this error (OpenAI's `{ code, message }` shape). */
export function failedResponse(response: ResponseResource, code: string, message: string): ResponseResource {
  return { ...response, status: "failed", error: { code, message }, completed_at: null } as ResponseResource;
}
