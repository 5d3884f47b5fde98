import { type EventSink, invalidRequest, ResponsesError, type ResponseResource, type ResponsesRequest } from "../../src/index.ts";
import { layerResolvers } from "../../src/server.ts";
import { acceptWebSocket } from "../cloudflare/websocket.ts";
import { ConnectionMemory } from "./connection-memory.ts";
import type { ClientContext } from "../context.ts";
import { errorResponse, unexpectedError } from "../http.ts";
import { openCompaction, prepareCompaction } from "../run/compaction.ts";
import { emptyResponse, streamEvents } from "../run/modes.ts";
import { prepareResponse } from "../run/prepare.ts";
import { prepareTurn } from "../run/context-management.ts";
import { redact, UpstreamHttpError } from "../upstream.ts";
import { logFailure } from "../ops/log.ts";
import { nextTurn, withRequestId } from "../ops/request.ts";
import { openPassThroughSocket } from "./pass-through.ts";
import { relayCreate } from "./relay.ts";
import { maxMessageHeader, tooLarge } from "./message-limit.ts";

/** `response.create` frames waiting behind the running one; more than this is a client bug, answered with an error frame. */
const MAX_WAITING = 16;
/** Responses a connection keeps for `previous_response_id`. */
const REMEMBERED = 16;

/**
 * `GET /v1/responses` with `Upgrade: websocket`: the Responses WebSocket mode.
 * Authenticated by the router from the upgrade request's headers, like HTTP.
 * Each `response.create` frame runs through the same run step as
 * `POST /v1/responses`; its events go out as one JSON text frame each.
 */
export async function openResponsesSocket(request: Request, ctx: ClientContext): Promise<Response> {
  if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
    return errorResponse(
      426,
      { message: "GET /v1/responses is the Responses WebSocket: send `Upgrade: websocket` (or POST to create a response over HTTP).", type: "invalid_request_error", param: null, code: "upgrade_required" },
      { upgrade: "websocket" },
    );
  }
  // An upstream that speaks Responses gets the socket itself when it takes one (else frames are relayed over HTTP).
  // A key with limits is relayed frame by frame instead, so each `response.create` is admitted.
  if (ctx.config.upstreamApi === "responses" && !ctx.ops?.key?.limits) {
    const passed = await openPassThroughSocket(ctx);
    if (passed) return passed;
  }
  // Codex reads the size limit from the upgrade answer and sends a larger `response.create` over HTTP (ws/message-limit.ts).
  return acceptWebSocket((socket) => serveConnection(socket, ctx), { ...maxMessageHeader(ctx.config.wsMaxMessageBytes), ...(ctx.ops ? { "x-request-id": ctx.ops.requestId } : {}) });
}

/** A WebSocket error frame (Open Responses `WebSocketErrorEvent`); Codex reads `status` as the HTTP status and `headers` as response headers. */
interface ErrorFrame {
  type: "error";
  status: number;
  /** `code` is required (a string) in the spec's `WebSocketErrorEvent`. */
  error: { type: string; code: string; message: string; param: string | null };
  headers?: Record<string, string>;
  /** The frame's request id (also in `error`), as the Agents SDK reads it. */
  request_id?: string;
}

function errorFrame(e: unknown, ctx: ClientContext): ErrorFrame {
  let frame: ErrorFrame;
  if (e instanceof ResponsesError) {
    frame = { type: "error", status: e.status, error: { type: e.type, code: e.code ?? e.type, message: redact(e.message, ctx.config), param: e.param } };
    if (e instanceof UpstreamHttpError && Object.keys(e.headers).length) frame.headers = e.headers;
  } else {
    const { type, message, param } = unexpectedError(e, ctx.config);
    frame = { type: "error", status: 500, error: { type, code: "server_error", message, param } };
  }
  if (ctx.ops) frame = { ...frame, error: withRequestId(frame.error, ctx.ops.requestId), request_id: ctx.ops.requestId };
  return frame;
}

/** A text frame → the `response.create` body it carries, `null` for a frame with nothing to do, or a 400 (413 past the size limit). */
function readFrame(data: unknown, maxBytes: number): (ResponsesRequest & { generate?: unknown }) | null {
  // Already measured when it arrived (serveConnection keeps only the error of a message over the limit).
  const large = data instanceof ResponsesError ? data : tooLarge(data, maxBytes);
  if (large) throw large;
  if (typeof data !== "string") throw invalidRequest("Binary frames are not supported: send each event as a JSON text frame.", null, "invalid_frame");
  let frame: unknown;
  try {
    frame = JSON.parse(data);
  } catch (e) {
    throw invalidRequest(`We could not parse the JSON of your message. (${(e as Error).message})`, null, "invalid_json");
  }
  if (typeof frame !== "object" || frame === null || Array.isArray(frame)) throw invalidRequest("Each message must be a JSON object.", null, "invalid_frame");
  const { type, ...body } = frame as Record<string, unknown>;
  // Codex acknowledges each response it has processed; there is nothing to do for it here.
  if (type === "response.processed") return null;
  if (type !== "response.create") throw invalidRequest(`Unsupported message type '${String(type)}': this WebSocket accepts 'response.create'.`, "type", "invalid_value");
  return body as ResponsesRequest & { generate?: unknown };
}

/**
 * One connection: frames run one at a time, in arrival order (a frame that
 * arrives while a response runs waits its turn); the connection remembers
 * its responses for `previous_response_id`; closing it cancels what runs;
 * an idle one is closed.
 */
function serveConnection(socket: WebSocket, base: ClientContext): void {
  const gone = new AbortController();
  const memory = new ConnectionMemory(REMEMBERED);
  const ctx: ClientContext = {
    ...base,
    // `previous_response_id`: this connection's own responses first (store: false ones too), then the durable store.
    resolver: layerResolvers(memory, base.resolver),
    // Every response that ends usably is remembered; a failed or cancelled one cannot be continued.
    onRecord: (record) => {
      if (record.response.status === "completed" || record.response.status === "incomplete") memory.remember(record);
    },
  };
  let queue: Promise<void> = Promise.resolve();
  let waiting = 0;
  let waitingBytes = 0;
  let running = false;

  // Events arrive already serialized (one JSON text per event, as SSE's `data:`); each is one frame.
  const send = (json: string) => {
    if (gone.signal.aborted) return;
    try {
      socket.send(json);
    } catch {
      end();
    }
  };
  const sink: EventSink = { event: (_type, json) => send(json) };
  const idle = idleCloser(base.config.wsIdleTimeoutMs, () => running || waiting > 0, () => {
    try {
      socket.close(1000, `idle for ${Math.round(base.config.wsIdleTimeoutMs / 1000)} s`);
    } catch {
      // Already closing.
    }
    end();
  });
  function end() {
    if (gone.signal.aborted) return;
    idle.stop();
    // Cancels the running upstream request (`ctx.signal`), whatever stage it is at.
    gone.abort(new DOMException("The client closed the WebSocket.", "AbortError"));
  }

  socket.addEventListener("message", (event) => {
    idle.touch();
    const max = base.config.wsMaxMessageBytes;
    // A message over the size limit is not kept while it waits: its 413 is all that is left of it. The
    // others wait holding at most one message's worth of bytes between them, so a client queueing large
    // frames cannot fill the isolate (16 × 32 MiB would be four times its memory).
    const large = tooLarge(event.data, max);
    const data = large ?? event.data;
    const size = large ? 0 : typeof data === "string" ? data.length : data instanceof ArrayBuffer ? data.byteLength : 0;
    // Beyond the limits a frame is answered with an error, in its turn: after the running response's
    // terminal event, never in the middle of its events (clients read an error frame as the turn's failure).
    const rejected = waiting >= MAX_WAITING ? `More than ${MAX_WAITING} messages were waiting` : waitingBytes + size > max ? `Messages of more than ${max} bytes in all were waiting` : null;
    if (!rejected) {
      waiting++;
      waitingBytes += size;
    }
    // What the queued turn holds on to (a rejected message: nothing).
    const kept = rejected ? null : data;
    queue = queue
      .then(async () => {
        if (rejected) {
          send(JSON.stringify(errorFrame(new ResponsesError(429, { message: `${rejected} for the running response on this connection.`, type: "invalid_request_error", code: "too_many_requests" }), ctx)));
          return;
        }
        waiting--;
        waitingBytes -= size;
        if (gone.signal.aborted) return;
        running = true;
        // One signal per response, linked to the connection's and unlinked when it ends: what listens
        // to it (the upstream call) goes with the response instead of piling up on the connection.
        const turn = new AbortController();
        const cancel = () => turn.abort(gone.signal.reason);
        gone.signal.addEventListener("abort", cancel);
        try {
          // Each frame is a request of its own: its own id and log line (worker/ops).
          await runFrame(kept, { ...ctx, signal: turn.signal, ops: ctx.ops && nextTurn(ctx.ops) }, memory, sink);
        } finally {
          gone.signal.removeEventListener("abort", cancel);
          running = false;
          idle.touch();
        }
      })
      // Nothing should reject here (runFrame turns errors into frames); if something does, later frames still run.
      .catch(() => {});
  });
  socket.addEventListener("close", () => {
    end();
    try {
      socket.close();
    } catch {
      // The close handshake is already complete.
    }
  });
  socket.addEventListener("error", () => end());
}

async function runFrame(data: unknown, ctx: ClientContext, memory: ConnectionMemory, sink: EventSink): Promise<void> {
  let previous: unknown;
  try {
    const frame = readFrame(data, ctx.config.wsMaxMessageBytes);
    if (!frame) return;
    previous = frame.previous_response_id;
    const response = await runCreate(frame, ctx, sink);
    if (response.status === "failed" && typeof previous === "string") memory.forget(previous);
  } catch (e) {
    // A failed continuation forgets the response it continued: the client's retry then gets
    // previous_response_not_found and resends the whole history, rather than a chain that failed.
    if (typeof previous === "string") memory.forget(previous);
    if (ctx.ops) logFailure(ctx.ops, e);
    sink.event("error", JSON.stringify(errorFrame(e, ctx)));
  }
}

async function runCreate(frame: ResponsesRequest & { generate?: unknown }, ctx: ClientContext, sink: EventSink): Promise<ResponseResource> {
  // The spec forbids `stream`/`stream_options` here, but Codex sends `stream: true`: a socket always streams, so both are ignored.
  const { generate, stream: _stream, stream_options: _options, ...body } = frame;
  if (body.background === true) {
    throw invalidRequest("`background` cannot be used on the WebSocket: a socket streams each response as it runs (Open Responses forbids the field here).", "background", "unsupported_parameter");
  }
  // An upstream that speaks Responses itself gets the frame as it is (UPSTREAM_API=responses).
  if (ctx.config.route(typeof body.model === "string" ? body.model : "").api === "responses") return relayCreate({ ...body, generate }, ctx, sink);
  const compaction = await prepareCompaction(body, ctx);
  if (compaction) return (await openCompaction(compaction, ctx))(sink);
  // A prewarm (`generate: false`): the request is checked and remembered, nothing is generated, the upstream is not called.
  if (generate === false) return emptyResponse(await prepareResponse(body, ctx), sink);
  return await streamEvents(await prepareTurn(body, ctx), ctx, sink);
}

/**
 * Closes the connection after `ms` with nothing received and nothing running (0: never).
 * One timer per connection, re-armed only when it fires (activity just
 * records the time), so a busy stream costs no timer work per frame.
 */
function idleCloser(ms: number, busy: () => boolean, onIdle: () => void): { touch(): void; stop(): void } {
  if (ms <= 0) return { touch() {}, stop() {} };
  let last = Date.now();
  let timer: ReturnType<typeof setTimeout>;
  const check = () => {
    const quiet = Date.now() - last;
    if (busy()) timer = setTimeout(check, ms);
    else if (quiet >= ms) onIdle();
    else timer = setTimeout(check, ms - quiet);
  };
  timer = setTimeout(check, ms);
  return {
    touch: () => void (last = Date.now()),
    stop: () => clearTimeout(timer),
  };
}
