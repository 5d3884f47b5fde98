import { compactedResource, requireSealer, summaryRequest, ownItems } from "../../src/server.ts";
import { createIdGenerator, invalidRequest, parseResponsesRequest, type ResponsesInputItem } from "../../src/index.ts";
import type { ClientContext } from "../context.ts";
import { json } from "../http.ts";
import { completeResponse } from "../run/modes.ts";
import { prepareResponse } from "../run/prepare.ts";

/**
 * `POST /v1/responses/compact`: the upstream model writes a faithful summary
 * of the conversation (one non-streaming run of the same response path), and
 * the client gets it back sealed in a `compaction` item, after its own
 * messages. A later request carrying that item gets the summary back in
 * context (`compactionExpander`, in the run step).
 */
export async function postCompact(request: Request, ctx: ClientContext): Promise<Response> {
  const body = parseResponsesRequest(await request.text());
  if (typeof body.model !== "string" || body.model === "") throw invalidRequest("Missing required parameter: 'model'.", "model", "missing_required_parameter");
  // Before any upstream call: without a key to seal with, the summary would be wasted.
  const sealer = requireSealer(ctx.sealer);
  const history = ownItems(body.input);
  if (!history) throw invalidRequest("Invalid type for 'input': expected a string or an array of input items.", "input", "invalid_type");
  // The conversation, as the run step expands it (a previous chain, earlier compaction items), is what gets summarised.
  const summarise = summaryRequest(body, history);
  const prepared = await prepareResponse({ ...summarise, previous_response_id: body.previous_response_id ?? null }, ctx);
  const summary = await completeResponse(prepared, ctx);
  // The conversation as expanded (the chain `previous_response_id` named, then the input), without the closing ask.
  const conversation = prepared.input.slice(0, -1) as ResponsesInputItem[];
  return json(200, await compactedResource(conversation, summary, sealer, createIdGenerator()), prepared.headers);
}
