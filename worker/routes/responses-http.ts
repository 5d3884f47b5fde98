import { parseResponsesRequest } from "../../src/index.ts";
import type { ClientContext } from "../context.ts";
import { EVENT_STREAM_HEADERS, json } from "../http.ts";
import { completeResponse, streamResponse } from "../run/modes.ts";
import { prepareResponse } from "../run/prepare.ts";
import { forwardBody } from "./passthrough.ts";

/**
 * `POST /v1/responses`: SSE when `stream: true`, else one JSON Response object.
 * For a model whose upstream speaks Responses itself (UPSTREAM_API=responses) it is forwarded unchanged.
 */
export async function postResponses(request: Request, ctx: ClientContext): Promise<Response> {
  const text = await request.text();
  const body = parseResponsesRequest(text);
  if (ctx.config.route(typeof body.model === "string" ? body.model : "").api === "responses") return forwardBody(request, ctx, text);
  const prepared = await prepareResponse(body, ctx);
  if (body.stream === true) {
    const stream = await streamResponse(prepared, ctx);
    return new Response(stream, { status: 200, headers: { ...prepared.headers, ...EVENT_STREAM_HEADERS } });
  }
  const response = await completeResponse(prepared, ctx);
  return json(200, response, prepared.headers);
}
