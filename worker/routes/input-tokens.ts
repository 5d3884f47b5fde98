import { parseResponsesRequest } from "../../src/index.ts";
import type { ClientContext } from "../context.ts";
import { json } from "../http.ts";
import { upstreamInputTokens } from "../run/count-tokens.ts";
import { forwardBody } from "./passthrough.ts";

/**
 * `POST /v1/responses/input_tokens`: `{ object: "response.input_tokens", input_tokens }` for a `create` body,
 * counted by the upstream on the request `create` would send it (worker/run/count-tokens.ts). A model whose
 * upstream speaks Responses itself (UPSTREAM_API=responses) is forwarded to that upstream's own endpoint.
 */
export async function postInputTokens(request: Request, ctx: ClientContext): Promise<Response> {
  const text = await request.text();
  const body = parseResponsesRequest(text);
  if (ctx.config.route(typeof body.model === "string" ? body.model : "").api === "responses") return forwardBody(request, ctx, text);
  return json(200, { object: "response.input_tokens", input_tokens: await upstreamInputTokens(body, ctx) });
}
