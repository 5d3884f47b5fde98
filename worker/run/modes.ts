import { type ChatCompletion, chatToResponsesSse, createChatToResponsesConverter, createResponsesReader, type EventSink, fromChatCompletion, ResponsesError, type ResponseResource } from "../../src/index.ts";
import { sealReasoningItems } from "../../src/server.ts";
import type { ClientContext } from "../context.ts";

import type { PreparedResponse } from "./prepare.ts";
import { openUpstream } from "./open-upstream.ts";

/** Streams the response as Responses SSE bytes. Failures before the first byte throw; after it they are events. */
export async function streamResponse(prepared: PreparedResponse, ctx: ClientContext): Promise<ReadableStream<Uint8Array>> {
  const upstream = await openUpstream(prepared, ctx, true);
  // Read by the shell itself (not `pipeThrough`), so a reset or a stall mid-stream ends in `response.failed`.
  return chatToResponsesSse(upstream, { ...prepared.options, ...ctx.config.stream });
}

/**
 * Streams the response into `sink`, one batch per upstream read, through the
 * same reader core as the SSE path (the WebSocket's way), and returns the
 * final Response. Failures before the upstream answered throw; after that
 * they are events (`response.failed`). When `ctx.signal` aborts (the client
 * left) the upstream is cancelled and the response ends as `cancelled`.
 */
export async function streamEvents(prepared: PreparedResponse, ctx: ClientContext, sink: EventSink): Promise<ResponseResource> {
  const upstream = await openUpstream(prepared, ctx, true);
  const reader = createResponsesReader(upstream, { ...prepared.options, ...ctx.config.stream });
  const cancel = () => void reader.cancel(ctx.signal?.reason);
  if (ctx.signal?.aborted) cancel();
  ctx.signal?.addEventListener("abort", cancel);
  try {
    while (await reader.pull(sink));
  } finally {
    ctx.signal?.removeEventListener("abort", cancel);
  }
  return reader.response;
}

/**
 * A response that generates nothing (a WebSocket prewarm, `generate: false`): created … completed, no
 * upstream call. Remembered by the connection only, never stored: nothing vouched for the request.
 */
export function emptyResponse(prepared: PreparedResponse, sink: EventSink): ResponseResource {
  const converter = createChatToResponsesConverter({ ...prepared.options, onEnd: undefined });
  for (const e of converter.done()) sink.event(e.type, JSON.stringify(e));
  void prepared.record(converter.response, false);
  return converter.response;
}

/** A non-streamed upstream answer as a chat completion; a body that is not JSON is a 502 in the words `describe` gives. */
export async function completionOf(upstream: Response, describe: (text: string) => string, code: string): Promise<ChatCompletion> {
  const text = await upstream.text();
  try {
    return JSON.parse(text) as ChatCompletion;
  } catch {
    throw new ResponsesError(502, { message: describe(text), type: "upstream_error", code });
  }
}

/** Runs the response to the end and returns the finished Response object. */
export async function completeResponse(prepared: PreparedResponse, ctx: ClientContext): Promise<ResponseResource> {
  const completion = await completionOf(await openUpstream(prepared, ctx, false), (text) => `Upstream sent a body that is not JSON: ${text.slice(0, 300)}`, "server_error");
  // Sealed first, then recorded: the stored response is the one the client gets.
  const response = fromChatCompletion(completion, { ...prepared.options, onEnd: undefined });
  if (ctx.sealer) await sealReasoningItems(response.output, ctx.sealer, prepared.reasoningSealer !== null);
  if (!(await prepared.record(response))) response.store = false;
  return response;
}
