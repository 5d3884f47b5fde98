import type { ClientContext } from "../context.ts";
import { asksForReasoningContent, rememberAskedForReasoning } from "./reasoning-retry.ts";
import { forwardedHeaders, upstreamError } from "../upstream.ts";
import { callWithFallback } from "../ops/fallback.ts";
import { shapeMessages } from "../../src/index.ts";
import { retryTemplate } from "./template-retry.ts";
import { retryWithoutRefused, asUpstreamTakesIt } from "./refused-fields.ts";
import { asksForThinkingBlocks, disableThinking, isOpenRouter, thinkingDisabled, withoutThinking } from "./thinking-retry.ts";
import { asksForThoughtSignature, rememberAskedForSignatures, wantsStandInSignatures, withStandInSignatures } from "./signature-retry.ts";

import { type PreparedResponse, upstreamIdentity } from "./prepare.ts";
import { requestBody } from "./request-body.ts";

/** Calls the upstream; its HTTP errors become `UpstreamHttpError`s (status and back-off headers kept). */
export async function openUpstream(prepared: PreparedResponse, ctx: ClientContext, stream: boolean): Promise<Response> {
  // The transport decides, not the body's `stream` (a WebSocket always streams). Built per attempt: a fallback translates
  // again; whichever translation goes (a reasoning retry makes another), in the shape this upstream's template takes.
  // Without the fields this upstream refuses (worker/run/refused-fields.ts); `sent` is the last body built, to check a refusal against.
  let sent: Record<string, unknown> = {};
  const body = () => {
    const { stream: _stream, stream_options: _options, ...rest } = prepared.translation.request;
    rest.messages = shapeMessages(rest.messages, prepared.template.shape);
    if (wantsStandInSignatures(upstreamIdentity(prepared.route), prepared.route.baseUrl)) rest.messages = withStandInSignatures(rest.messages);
    const out = thinkingDisabled(prepared) ? withoutThinking(rest, prepared) : rest;
    return requestBody((sent = asUpstreamTakesIt(stream ? { ...out, stream: true, stream_options: { include_usage: true } } : out, prepared.refused)));
  };
  // The key's limits, then the route and its MODEL_MAP fallbacks (worker/ops/fallback.ts).
  const upstream = await callWithFallback(prepared, ctx, stream, body);
  Object.assign(prepared.headers, forwardedHeaders(upstream.headers));
  if (ctx.ops) ctx.ops.trace.dropped = prepared.refused.dropped;
  if (!upstream.ok) {
    // Read once and bounded (worker/upstream.ts), in whatever shape it came: Google's array, OpenRouter's `metadata.raw`.
    const error = await upstreamError(upstream, prepared.headers, ctx.config);
    const identity = upstreamIdentity(prepared.route);
    const signatures = asksForThoughtSignature(error.status, error.message) && !wantsStandInSignatures(identity, prepared.route.baseUrl);
    const thinking = !signatures && asksForThinkingBlocks(error.status, error.message) && !thinkingDisabled(prepared);
    if (signatures || thinking) {
      // A history without the provider state a provider needs: what that provider documents for the case (see each file).
      if (signatures) rememberAskedForSignatures(identity);
      else {
        disableThinking(prepared, isOpenRouter(prepared.route.baseUrl, error.provider));
        // The client asked for reasoning and this request goes without: said so, not done silently.
        prepared.headers["x-responses-bridge-thinking"] = "off: the tool call in progress came back without its thinking blocks";
      }
      return openUpstream(prepared, ctx, stream);
    }
    // Reasoning whose origin is unknown (or a turn without any) was held back; this upstream says it needs it.
    const retry = prepared.reasoningRetry;
    if (retry && asksForReasoningContent(error.status, error.message)) {
      rememberAskedForReasoning(upstreamIdentity(prepared.route));
      prepared.reasoningRetry = null;
      prepared.translation = retry();
      return openUpstream(prepared, ctx, stream);
    }
    // A strict chat template refused the conversation's shape: once more in the shape it asked for.
    if (retryTemplate(prepared.template, upstreamIdentity(prepared.route), error.status, error.message)) return openUpstream(prepared, ctx, stream);
    // The upstream named a field it does not take, one the bridge may leave out: once more without it, and never again.
    if (retryWithoutRefused(prepared.refused, upstreamIdentity(prepared.route), error.status, error.payload, sent)) return openUpstream(prepared, ctx, stream);
    throw error;
  }
  return upstream;
}

