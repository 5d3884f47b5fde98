import type { ClientContext } from "../context.ts";
import { asksForReasoningContent, rememberAskedForReasoning } from "./reasoning-retry.ts";
import { callUpstream, forwardedHeaders, upstreamError } from "../upstream.ts";

import { type PreparedResponse, upstreamIdentity } from "./prepare.ts";
import { requestBody } from "./request-body.ts";

/** Calls the upstream; its HTTP errors become `UpstreamHttpError`s (status and back-off headers kept). */
export async function openUpstream(prepared: PreparedResponse, ctx: ClientContext, stream: boolean): Promise<Response> {
  // The transport decides, not the body's `stream` (a WebSocket always streams).
  const { stream: _stream, stream_options: _options, ...rest } = prepared.translation.request;
  const body = requestBody(stream ? { ...rest, stream: true, stream_options: { include_usage: true } } : rest);
  const upstream = await callUpstream(
    { target: `${prepared.route.baseUrl}/chat/completions`, method: "POST", body, stream, auth: ctx.upstreamAuth, clientSignal: ctx.signal },
    ctx.config,
    ctx.fetchUpstream,
  );
  Object.assign(prepared.headers, forwardedHeaders(upstream.headers));
  if (!upstream.ok) {
    const error = await upstreamError(upstream, prepared.headers, ctx.config);
    // Reasoning whose origin is unknown (or a turn without any) was held back; this upstream says it needs it.
    const retry = prepared.reasoningRetry;
    if (retry && asksForReasoningContent(error.status, error.message)) {
      rememberAskedForReasoning(upstreamIdentity(prepared.route));
      prepared.reasoningRetry = null;
      prepared.translation = retry();
      return openUpstream(prepared, ctx, stream);
    }
    throw error;
  }
  return upstream;
}

