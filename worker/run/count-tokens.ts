// Internal: `POST /v1/responses/input_tokens` against a chat upstream, and the exact count server-side compaction checks against.
import { type ChatCompletion, type ChatUsage, ResponsesError, type ResponsesRequest } from "../../src/index.ts";
import type { ClientContext } from "../context.ts";
import { logTokenCount } from "../ops/log.ts";
import { openUpstream } from "./open-upstream.ts";
import { type PreparedResponse, prepareResponse } from "./prepare.ts";

/**
 * The input tokens the upstream model bills for `request` (a `create` body):
 * prepared exactly as `create` prepares it (`previous_response_id`,
 * `item_reference`, sealed reasoning and compaction items expanded; the same
 * translation, tools and template shape), then sent once with `stream: false`
 * and one output token (MAX_TOKENS_FIELD's field set to 1), and read from the
 * answer's `usage.prompt_tokens`. It costs the upstream one prefill of the
 * prompt and one output token (counted into the key's usage); a chat upstream
 * has no cheaper exact count (vLLM's and llama.cpp's `/tokenize` are not on
 * hosted providers, and do not render tools the way the chat call does).
 */
export async function upstreamInputTokens(request: ResponsesRequest, ctx: ClientContext): Promise<number> {
  const usage = await countPrepared(await prepareResponse({ ...request, stream: false, store: false }, ctx), ctx);
  if (ctx.ops) logTokenCount(ctx.ops, usage.prompt_tokens, usage.completion_tokens);
  return usage.prompt_tokens;
}

/** The upstream's usage for `prepared`'s translation asked for one output token, not streamed. Logs nothing. */
export async function countPrepared(prepared: PreparedResponse, ctx: ClientContext): Promise<ChatUsage & { prompt_tokens: number; completion_tokens: number }> {
  const field = ctx.config.translate.maxTokensField ?? "max_tokens";
  const oneToken = (t: PreparedResponse["translation"]) => {
    const { max_tokens: _a, max_completion_tokens: _b, ...rest } = t.request;
    return { ...t, request: { ...rest, [field]: 1 } };
  };
  // A reasoning retry (DeepSeek asking for reasoning_content back) asks for one token too, and so does a
  // MODEL_MAP fallback, which translates the request anew for its route (`adjust` is applied again then).
  const inner = prepared.adjust;
  const probe: PreparedResponse = { ...prepared, headers: {} };
  probe.adjust = (p) => {
    inner?.(p);
    const retry = p.reasoningRetry;
    p.translation = oneToken(p.translation);
    p.reasoningRetry = retry && (() => oneToken(retry()));
  };
  probe.adjust(probe);
  const upstream = await openUpstream(probe, ctx, false);
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
  return { ...usage, prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens ?? 0 };
}
