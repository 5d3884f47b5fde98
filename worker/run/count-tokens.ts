// Internal: `POST /v1/responses/input_tokens` against a chat upstream, and the exact count server-side compaction checks against.
import { type ChatCompletion, ResponsesError, type ResponsesRequest } from "../../src/index.ts";
import type { ClientContext } from "../context.ts";
import { logTokenCount } from "../ops/log.ts";
import { openUpstream } from "./open-upstream.ts";
import { prepareResponse } from "./prepare.ts";

/**
 * The input tokens the upstream model bills for `request` (a `create` body):
 * prepared exactly as `create` prepares it (`previous_response_id`,
 * `item_reference`, sealed reasoning and compaction items expanded; the same
 * translation, tools and template shape), then sent once with `stream: false`
 * and one output token (`max_output_tokens: 1`, so MAX_TOKENS_FIELD's field),
 * and read from the answer's `usage.prompt_tokens`. It costs the upstream one
 * prefill of the prompt and one output token (counted into the key's usage);
 * a chat upstream has no cheaper exact count (vLLM's and llama.cpp's
 * `/tokenize` ignore tools and are not on hosted providers).
 */
export async function upstreamInputTokens(request: ResponsesRequest, ctx: ClientContext): Promise<number> {
  const prepared = await prepareResponse({ ...request, stream: false, store: false, max_output_tokens: 1 }, ctx);
  const upstream = await openUpstream(prepared, ctx, false);
  const text = await upstream.text();
  let completion: Partial<ChatCompletion> | null = null;
  try {
    completion = JSON.parse(text) as Partial<ChatCompletion>;
  } catch {
    // Reported below.
  }
  const usage = completion?.usage;
  if (typeof usage?.prompt_tokens !== "number") {
    throw new ResponsesError(502, { message: `The upstream did not report usage.prompt_tokens, so the input cannot be counted: ${text.slice(0, 200)}`, type: "upstream_error", code: "token_count_unavailable" });
  }
  if (ctx.ops) logTokenCount(ctx.ops, usage.prompt_tokens, usage.completion_tokens ?? 0);
  return usage.prompt_tokens;
}
