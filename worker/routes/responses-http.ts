import { parseResponsesRequest } from "../../src/index.ts";
import type { ClientContext } from "../context.ts";
import { EVENT_STREAM_HEADERS, json } from "../http.ts";
import { compactionSse, completeCompaction, openCompaction, prepareCompaction } from "../run/compaction.ts";
import { completeResponse, streamEvents, streamResponse } from "../run/modes.ts";
import { prepareTurn } from "../run/context-management.ts";
import { forwardBody } from "./passthrough.ts";
import { startBackground } from "./background.ts";

/**
 * `POST /v1/responses`: SSE when `stream: true`, else one JSON Response object.
 * For a model whose upstream speaks Responses itself (UPSTREAM_API=responses) it is forwarded unchanged.
 */
export async function postResponses(request: Request, ctx: ClientContext): Promise<Response> {
  const text = await request.text();
  const body = parseResponsesRequest(text);
  // An upstream that speaks Responses itself gets the request as it is (UPSTREAM_API=responses).
  if (ctx.config.route(typeof body.model === "string" ? body.model : "").api === "responses") return forwardBody(request, ctx, text);
  // `background: true`: run by its own object, which sends the request here again as the run itself (`backgroundRun`).
  if (body.background === true && !ctx.backgroundRun) return startBackground(body, text, request, ctx);
  // Input ending with `compaction_trigger`: a compaction item instead of a turn (Codex's remote compaction).
  const compaction = await prepareCompaction(body, ctx);
  // A background run, inside its object: the events go straight to its log (no SSE to encode and parse again).
  const sink = ctx.backgroundRun?.sink;
  if (compaction) {
    const run = await openCompaction(compaction, ctx);
    const headers = compaction.summary.headers;
    if (sink) return json(200, await run(sink), headers);
    return body.stream === true ? new Response(compactionSse(run), { status: 200, headers: { ...headers, ...EVENT_STREAM_HEADERS } }) : json(200, await completeCompaction(run), headers);
  }
  const prepared = await prepareTurn(body, ctx);
  if (sink) return json(200, await streamEvents(prepared, ctx, sink), prepared.headers);
  if (body.stream === true) {
    const stream = await streamResponse(prepared, ctx);
    return new Response(stream, { status: 200, headers: { ...prepared.headers, ...EVENT_STREAM_HEADERS } });
  }
  const response = await completeResponse(prepared, ctx);
  return json(200, response, prepared.headers);
}
