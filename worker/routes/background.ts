import { createIdGenerator, invalidRequest, ResponsesError, type ResponsesRequest } from "../../src/index.ts";
import { conversationOf, responseNotFound } from "../../src/server.ts";
import type { ClientContext } from "../context.ts";
import { EVENT_STREAM_HEADERS, json } from "../http.ts";
import type { BackgroundRuns } from "../run/background.ts";
import { checkTurn } from "../run/context-management.ts";
import { prepareCompaction } from "../run/compaction.ts";
import { admit } from "../ops/limits.ts";

type Handler = (request: Request, ctx: ClientContext, params: Record<string, string>) => Promise<Response>;

/** Headers a run needs again inside its object: the credential, who the client is, this request's id (its log line carries it). Never stored. */
function runHeaders(headers: Headers, requestId: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  headers.forEach((v, k) => {
    if (k !== "content-length" && k !== "host" && k !== "connection" && k !== "x-request-id") out.push([k, v]);
  });
  if (requestId) out.push(["x-request-id", requestId]);
  return out;
}

/**
 * What the foreground `create` refuses before its upstream call, refused by a background `create` too, with
 * the same answer, before any run begins: the request prepared as the foreground prepares it (a compaction
 * trigger's summary run, or the turn: `previous_response_id` and `conversation` found, the history expanded,
 * tool calls paired, the body translated), then admitted against the key's limits (its models, requests per
 * minute, tokens per day). Admitted here once: the run does not count it again (its `backgroundRun.admitted`).
 * The run prepares it again in its object (the history read a second time; see docs/background-and-conversations.md).
 * Resolves the headers the foreground answer would carry (dropped hosted tools).
 */
async function refuseAsForeground(body: ResponsesRequest, ctx: ClientContext): Promise<Record<string, string>> {
  const compaction = await prepareCompaction(body, ctx);
  const prepared = compaction ? compaction.summary : (await checkTurn(body, ctx)).prepared;
  await admit(ctx.ops, typeof body.model === "string" ? body.model : "");
  return prepared.headers;
}

/**
 * `POST /v1/responses` with `background: true`: the run is handed to its own object, which runs it with
 * no client connected; the answer is the `queued` Response at once, or with `stream: true` the run's
 * events as they come (the client is its first reader: leaving stops nothing). A request the foreground
 * would refuse is refused here, with the same error, and starts no run.
 */
export async function startBackground(body: ResponsesRequest, text: string, request: Request, ctx: ClientContext): Promise<Response> {
  // OpenAI's words (its 400 when a background response could not be kept to be polled).
  if (body.store === false) throw invalidRequest("background can only be used when `store` is true", "background", "invalid_value");
  const runs = ctx.background;
  if (!runs || !ctx.store) {
    throw invalidRequest("`background` needs this Worker's BACKGROUND_RUNS and RESPONSES_STORE Durable Object bindings (wrangler.toml), which it does not have.", "background", "unsupported_parameter");
  }
  // OpenAI's 400s for a malformed `conversation`, or one beside `previous_response_id`, come from create itself, not the run.
  const conversation = conversationOf(body);
  const headers = await refuseAsForeground(body, ctx);
  // Its id takes the shard of the chain or conversation it continues, as a foreground response's does (run/prepare.ts).
  const anchor = typeof body.previous_response_id === "string" ? body.previous_response_id : conversation;
  const id = (ctx.store.ids?.(anchor) ?? createIdGenerator())("resp");
  const queued = await runs.start(id, text, runHeaders(request.headers, ctx.ops?.requestId));
  if (body.stream !== true) return json(200, queued, headers);
  const events = await runs.events(id, -1);
  if (!events) throw responseNotFound(id);
  return new Response(events, { status: 200, headers: { ...headers, ...EVENT_STREAM_HEADERS } });
}

/** `starting_after`: an event's `sequence_number` (events after it are sent); absent: the whole stream. */
function startingAfter(query: URLSearchParams): number {
  const raw = query.get("starting_after");
  if (raw === null || raw === "") return -1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < -1) throw invalidRequest(`Invalid 'starting_after': an integer sequence_number expected, got '${raw}'.`, "starting_after", "invalid_value");
  return n;
}

/**
 * `GET /v1/responses/{id}`: a finished response from the store; a background run (still going, or one
 * that ended without reaching the store) from its object. With `?stream=true`: the run's events after
 * `starting_after`, then the live ones to its terminal event.
 */
export function getOrStream(stored: Handler): Handler {
  return async (request, ctx, params) => {
    const id = params.id!;
    const query = new URL(request.url).searchParams;
    if (query.get("stream") === "true") {
      const after = startingAfter(query);
      const events = await ctx.background?.events(id, after);
      if (events) return new Response(events, { status: 200, headers: EVENT_STREAM_HEADERS });
      if (ctx.store && (await ctx.store.get(id))) throw invalidRequest(`Response '${id}' was not created with background=true: only background responses can be streamed again.`, "stream", "invalid_value");
      throw responseNotFound(id);
    }
    try {
      return await stored(request, ctx, params);
    } catch (e) {
      const run = e instanceof ResponsesError && e.status === 404 ? await ctx.background?.get(id) : undefined;
      if (run) return json(200, run);
      throw e;
    }
  };
}

/** `DELETE /v1/responses/{id}`: the stored response and, for a background one, its run's events. */
export function deleteBackground(stored: Handler): Handler {
  return async (request, ctx, params) => {
    const runs: BackgroundRuns | null | undefined = ctx.background;
    const hadRun = (await runs?.delete(params.id!)) ?? false;
    try {
      return await stored(request, ctx, params);
    } catch (e) {
      if (hadRun && e instanceof ResponsesError && e.status === 404) return json(200, { id: params.id!, object: "response", deleted: true });
      throw e;
    }
  };
}

/**
 * `POST /v1/responses/{id}/cancel`: stops a background run (it ends `cancelled`); a run that has ended
 * is returned unchanged; a response not created in the background is OpenAI's 400; unknown ids a 404.
 */
export async function cancelResponse(_request: Request, ctx: ClientContext, params: Record<string, string>): Promise<Response> {
  const id = params.id!;
  const run = await ctx.background?.cancel(id);
  if (run) return json(200, run);
  if (ctx.store && (await ctx.store.get(id))) throw new ResponsesError(400, { message: "Cannot cancel a synchronous response.", type: "invalid_request_error", param: null, code: null });
  throw responseNotFound(id);
}
