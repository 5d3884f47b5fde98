import { createParser } from "eventsource-parser";
import { createChatToResponsesConverter, type EventSink, type ResponseResource, type ResponsesRequest } from "../../src/index.ts";
import { type ClientContext, upstreamAuthFor } from "../context.ts";
import { admit } from "../ops/limits.ts";
import { logResponse } from "../ops/log.ts";
import { idsInBody, isolates, rememberCreated, requireIsolation, requireOwned } from "../ops/ownership.ts";
import { tracedFetch } from "../ops/request.ts";
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
  const model = typeof request.model === "string" ? request.model : "";
  const route = ctx.config.route(model);
  // Another key's response or conversation is not found (worker/ops/ownership.ts); a key's limits hold here too.
  requireIsolation(ctx.ops);
  await requireOwned(ctx.ops, idsInBody(request));
  await admit(ctx.ops, model);
  const upstream = await callUpstream(
    { target: `${route.baseUrl}/responses`, method: "POST", body: JSON.stringify({ ...request, model: route.model, stream: true }), stream: true, auth: upstreamAuthFor(route, ctx), clientSignal: ctx.signal },
    ctx.config,
    tracedFetch(ctx.fetchUpstream, ctx.ops),
  );
  // Retry-After and the rate-limit headers reach the client in the error frame's `headers`, as Codex reads them.
  if (!upstream.ok) throw await upstreamError(upstream, forwardedHeaders(upstream.headers), ctx.config);
  let final: ResponseResource | null = null;
  // With proxy keys, the id the upstream created is remembered with the key before its `response.created` frame leaves.
  let remembered: Promise<void> | null = null;
  const queued: Array<[string, string]> = [];
  const parser = createParser({
    onEvent: (msg) => {
      if (final || msg.data === "[DONE]") return;
      if (!remembered && isolates(ctx.ops)) remembered = rememberId(ctx, msg.event, msg.data);
      queued.push([msg.event ?? "message", msg.data]);
      final = terminalOf(msg.event, msg.data);
    },
  });
  const feed = async (text: string) => {
    parser.feed(text);
    if (remembered) await remembered;
    for (const [type, data] of queued.splice(0)) sink.event(type, data);
  };
  const cut = await readAll(upstream.body, feed, () => final !== null, ctx.config.stream.idleTimeoutMs);
  if (final) {
    // The upstream's final Response is this frame's log line and usage (tokens_per_day counts it).
    if (ctx.ops) logResponse(ctx.ops, final, true);
    return final;
  }
  const message = `Upstream stream ended before the response did${cut ? ` (${cut})` : ""}; the answer is incomplete.`;
  sink.event("error", JSON.stringify({ type: "error", status: 502, error: { type: "server_error", code: "upstream_disconnected", message: redact(message, ctx.config), param: null } }));
  return { status: "failed" } as ResponseResource;
}

/** For `response.created`: its id remembered with the key; null for any other event. */
function rememberId(ctx: ClientContext, name: string | undefined, data: string): Promise<void> | null {
  if (name !== undefined && name !== "response.created") return null;
  let event: { type?: unknown; response?: { id?: unknown } };
  try {
    event = JSON.parse(data) as typeof event;
  } catch {
    return null;
  }
  return event.type === "response.created" && typeof event.response?.id === "string" ? rememberCreated(ctx.ops, event.response.id) : null;
}

/** The final response when this event ends the turn (by its `event:` name, or the `type` in its data), else null. */
function terminalOf(name: string | undefined, data: string): ResponseResource | null {
  if (name !== undefined && !TERMINAL.has(name) && name !== "error") return null;
  let event: { type?: unknown; response?: ResponseResource };
  try {
    event = JSON.parse(data) as typeof event;
  } catch {
    return null;
  }
  if (event.type === "error") return { status: "failed" } as ResponseResource;
  return typeof event.type === "string" && TERMINAL.has(event.type) ? (event.response ?? ({ status: "failed" } as ResponseResource)) : null;
}

/**
 * Feeds the body's text to `feed` until it ends or `done()`; returns why it stopped early (a
 * read error, or `idleMs` without a byte: the body is then cancelled), or null.
 */
async function readAll(body: ReadableStream<Uint8Array> | null, feed: (text: string) => Promise<void>, done: () => boolean, idleMs: number): Promise<string | null> {
  if (!body) return "no body";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let last = Date.now();
  let idle = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const check = () => {
    const quiet = Date.now() - last;
    if (quiet < idleMs) return void (timer = setTimeout(check, idleMs - quiet));
    idle = true;
    reader.cancel().catch(() => {});
  };
  if (idleMs > 0) timer = setTimeout(check, idleMs);
  try {
    for (;;) {
      const r = await reader.read();
      if (idle) return `idle for ${idleMs / 1000} s`;
      if (r.done) return null;
      last = Date.now();
      await feed(decoder.decode(r.value, { stream: true }));
      if (done()) {
        reader.cancel().catch(() => {});
        return null;
      }
    }
  } catch (e) {
    return idle ? `idle for ${idleMs / 1000} s` : String((e as Error)?.message ?? e);
  } finally {
    clearTimeout(timer);
  }
}
