import { createParser } from "eventsource-parser";
import { createChatToResponsesConverter, type EventSink, type ResponseResource, type ResponsesRequest } from "../../src/index.ts";
import type { ClientContext } from "../context.ts";
import { callUpstream, forwardedHeaders, redact, upstreamError } from "../upstream.ts";

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

/**
 * A `response.create` frame for a model whose upstream speaks Responses
 * (UPSTREAM_API=responses): sent on as one streaming `POST <base_url>/responses`
 * (the frame's body unchanged but for MODEL_MAP's model), each SSE event of the
 * answer relayed as one frame, its JSON untouched. Upstream HTTP errors throw
 * (the session sends them as error frames with status and back-off headers);
 * a stream cut before its terminal event ends with an error frame.
 *
 * Over HTTP the upstream keeps no per-connection state: `previous_response_id`
 * resolves only to responses it stored (`store: true`), not to a `store: false`
 * response of this socket, as a WebSocket to OpenAI itself would.
 */
export async function relayCreate(body: ResponsesRequest & { generate?: unknown }, ctx: ClientContext, sink: EventSink): Promise<ResponseResource> {
  const { generate, ...request } = body;
  // A prewarm: nothing to generate, so nothing is sent upstream; the client still gets its created … completed.
  if (generate === false) {
    const converter = createChatToResponsesConverter({ request: { ...request, store: false } });
    for (const e of converter.done()) sink.event(e.type, JSON.stringify(e));
    return converter.response;
  }
  const route = ctx.config.route(typeof request.model === "string" ? request.model : "");
  const upstream = await callUpstream(
    { target: `${route.baseUrl}/responses`, method: "POST", body: JSON.stringify({ ...request, model: route.model, stream: true }), stream: true, auth: ctx.upstreamAuth, clientSignal: ctx.signal },
    ctx.config,
    ctx.fetchUpstream,
  );
  // Retry-After and the rate-limit headers reach the client in the error frame's `headers`, as Codex reads them.
  if (!upstream.ok) throw await upstreamError(upstream, forwardedHeaders(upstream.headers), ctx.config);
  let final: ResponseResource | null = null;
  const parser = createParser({
    onEvent: (msg) => {
      if (final || msg.data === "[DONE]") return;
      sink.event(msg.event ?? "message", msg.data);
      if (!msg.event || !TERMINAL.has(msg.event)) return;
      try {
        final = (JSON.parse(msg.data) as { response: ResponseResource }).response;
      } catch {
        // Relayed as it came; the status is then unknown.
      }
    },
  });
  const decoder = new TextDecoder();
  let cut: string | null = null;
  try {
    for await (const bytes of upstream.body ?? []) {
      parser.feed(decoder.decode(bytes as Uint8Array, { stream: true }));
      if (final) break;
    }
  } catch (e) {
    cut = String((e as Error)?.message ?? e);
  }
  if (final) return final;
  const message = `Upstream stream ended before the response did${cut ? ` (${cut})` : ""}; the answer is incomplete.`;
  sink.event("error", JSON.stringify({ type: "error", status: 502, error: { type: "server_error", code: "upstream_disconnected", message: redact(message, ctx.config), param: null } }));
  return { status: "failed" } as ResponseResource;
}
