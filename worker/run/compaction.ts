// Internal: remote compaction, a `/v1/responses` request (HTTP or WebSocket) whose input ends with `{"type":"compaction_trigger"}`.
import { createResponsesReader, DEFAULT_KEEP_ALIVE_MS, DONE_FRAME, type EventSink, invalidRequest, ResponsesError, type ResponseResource, type ResponsesRequest } from "../../src/index.ts";
import { compactionItem, compactionResponse, compactionTriggered, type ConversationItem, keptUserMessages, requireSealer, type Sealer, summaryRequest } from "../../src/server.ts";
import type { ClientContext } from "../context.ts";

import { openUpstream } from "./open-upstream.ts";
import { type PreparedResponse, prepareResponse } from "./prepare.ts";
import { recordEnd } from "./record.ts";
import { logResponse } from "../ops/log.ts";

/**
 * How a compaction trigger is answered (what Codex expects of a provider it
 * takes for OpenAI's, `remote_compaction_v2`): the upstream model writes a
 * summary of the conversation (the same tool-free summary request as
 * `POST /v1/responses/compact`), and the response carries it sealed as its
 * one output item, a `compaction` item, with the summary call's usage. Its
 * events are those of any response: created, in_progress, the item's
 * added/done, completed. Nothing of the summary's own text streams: the
 * client may not read it.
 *
 * Stored (and remembered by a WebSocket) as what it stands for: input = the
 * user's messages of the conversation, output = the compaction item. So a
 * continuation by `previous_response_id` sees the compacted conversation
 * (those messages, then the summary), not the whole one again, just as a
 * client that carries the item back in `input` does.
 */
export interface PreparedCompaction {
  /** The client's request (echoed in the envelope, and what decides `store`). */
  request: ResponsesRequest;
  /** The summary run: the conversation expanded and checked, the summary request translated. */
  summary: PreparedResponse;
  sealer: Sealer;
  /** The conversation as expanded, without the closing ask. */
  conversation: ConversationItem[];
}

/**
 * The compaction a request asks for, or null for an ordinary request. Every
 * 400 (no key to seal with, an unknown `previous_response_id`, unpaired tool
 * calls, a foreign token) is thrown here, before any upstream call.
 */
export async function prepareCompaction(request: ResponsesRequest, ctx: ClientContext): Promise<PreparedCompaction | null> {
  const history = compactionTriggered(request.input);
  if (!history) return null;
  // The summary covers the input and its `previous_response_id` chain, and a conversation keeps every item it holds:
  // compacting one would summarise part of it and add nothing to it while the response said `conversation: { id }`.
  if (request.conversation != null) {
    throw invalidRequest(
      "A compaction_trigger cannot be used with 'conversation': the bridge compacts the items a request carries (its input and previous_response_id chain), not a stored conversation. Send the items to compact in 'input' instead.",
      "conversation",
      "unsupported_parameter",
    );
  }
  const sealer = requireSealer(ctx.sealer);
  const summary = await prepareResponse({ ...summaryRequest(request, history), previous_response_id: request.previous_response_id ?? null }, ctx);
  // The envelope echoes the client's request; the summary run itself is neither stored nor remembered.
  summary.adjust = (p) => {
    p.options = { ...p.options, request: ctx.store ? request : { ...request, store: false }, onEnd: undefined, beforeFlush: undefined };
  };
  summary.adjust(summary);
  return { request, summary, sealer, conversation: summary.input.slice(0, -1) };
}

export type CompactionRun = (sink: EventSink, signal?: AbortSignal) => Promise<ResponseResource>;

/**
 * Calls the upstream (its HTTP errors throw, before anything was sent) and
 * returns the run that writes the response's events into a sink and resolves
 * to the final Response (`failed`, with `error` and `response.failed` sent,
 * when the summary could not be had; `cancelled` once `signal`, or the
 * context's, aborts: the client left).
 */
export async function openCompaction(c: PreparedCompaction, ctx: ClientContext): Promise<CompactionRun> {
  const upstream = await openUpstream(c.summary, ctx, true);
  return async (sink, signal = ctx.signal) => {
    const response = await runCompaction(c, ctx, upstream, sink, signal);
    // The one log line (and usage) of this response: the summary run's own onEnd was taken off above.
    if (ctx.ops) logResponse(ctx.ops, response, c.request.stream === true);
    return response;
  };
}

async function runCompaction(c: PreparedCompaction, ctx: ClientContext, upstream: Response, sink: EventSink, signal: AbortSignal | undefined): Promise<ResponseResource> {
  const reader = createResponsesReader(upstream, { ...c.summary.options, ...ctx.config.stream });
  const cancel = () => void reader.cancel(signal?.reason);
  if (signal?.aborted) cancel();
  signal?.addEventListener("abort", cancel);
  let sequence = 0;
  const emit: Emit = (event) => sink.event(event.type, JSON.stringify({ ...event, sequence_number: sequence++ }));
  // The summary's own events stay here; only its failure is passed on.
  let failure: Record<string, unknown> | null = null;
  const quiet: EventSink = { event: (type, json) => void (type === "error" && (failure = JSON.parse(json) as Record<string, unknown>)) };
  let written = Date.now();
  const started = () => {
    const envelope = { ...reader.response, status: "in_progress", output: [], usage: null, completed_at: null };
    if (c.request.background === true) {
      // A background compaction begins queued, as the converter begins any background response.
      emit({ type: "response.created", response: { ...envelope, status: "queued" } });
      emit({ type: "response.queued", response: { ...envelope, status: "queued" } });
    } else emit({ type: "response.created", response: envelope });
    emit({ type: "response.in_progress", response: envelope });
  };
  try {
    while (await reader.pull(quiet)) {
      if (sequence === 0) started();
      // A long summary sends nothing for a while: SSE keeps the connection open with comments, as for upstream silence.
      else if (sink.keepAlive && Date.now() - written >= DEFAULT_KEEP_ALIVE_MS) (sink.keepAlive(), (written = Date.now()));
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
  }
  const summary = reader.response;
  if (summary.status === "cancelled") return summary;
  if (sequence === 0) started();
  return finish(c, ctx, summary, emit, failure);
}

type Emit = (event: Record<string, unknown> & { type: string }) => void;

/** The compaction item and `response.completed`, or, when there is no summary to seal, `error` and `response.failed`. */
async function finish(c: PreparedCompaction, ctx: ClientContext, summary: ResponseResource, emit: Emit, failure: Record<string, unknown> | null): Promise<ResponseResource> {
  const ids = c.summary.options.ids!;
  const item = await compactionItem(summary, c.sealer, ids).catch((e: unknown) => {
    if (e instanceof ResponsesError) return e;
    throw e;
  });
  if (item instanceof ResponsesError) return failed(summary, item, failure, emit);
  const response = compactionResponse(summary, item, Math.floor(Date.now() / 1000));
  emit({ type: "response.output_item.added", output_index: 0, item });
  emit({ type: "response.output_item.done", output_index: 0, item });
  // Stored before the terminal event leaves, so a continuation sent on seeing it finds the response: a turn of its own
  // (no link to the chain it compacted), holding the user's messages it keeps; a write that fails twice says store: false.
  const kept = keptUserMessages(c.conversation, ids);
  if (!(await recordEnd(c.request, { request: c.request, input: kept, resolved: kept, fresh: kept, previous: null, conversation: null }, response, ids, ctx, true))) response.store = false;
  emit({ type: "response.completed", response });
  return response;
}

/** The upstream's own error event when the summary stream failed, else `compaction_failed` (no text to seal); no output item. */
function failed(summary: ResponseResource, e: ResponsesError, failure: Record<string, unknown> | null, emit: Emit): ResponseResource {
  const error = failure ?? { code: e.code, message: e.message, param: null, error: { type: e.type, code: e.code, message: e.message, param: null } };
  const response: ResponseResource = { ...summary, status: "failed", output: [], error: summary.error ?? { code: e.code ?? "compaction_failed", message: e.message } };
  emit({ ...error, type: "error" });
  emit({ type: "response.failed", response });
  return response;
}

/** The run as a Responses SSE body (`[DONE]` after the terminal event, as OpenAI sends it); cancelling it cancels the upstream. */
export function compactionSse(run: CompactionRun): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const gone = new AbortController();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const write = (text: string) => !gone.signal.aborted && controller.enqueue(encoder.encode(text));
      const sink: EventSink = { event: (type, json) => write(`event: ${type}\ndata: ${json}\n\n`), keepAlive: () => write(": keep-alive\n\n") };
      void run(sink, gone.signal).then(
        () => {
          write(DONE_FRAME);
          if (!gone.signal.aborted) controller.close();
        },
        (e: unknown) => controller.error(e),
      );
    },
    cancel(reason) {
      gone.abort(reason);
    },
  });
}

/** The run to its end, for a JSON answer: the Response, or its failure as an error (502 unless the summary failed with a status). */
export async function completeCompaction(run: CompactionRun): Promise<ResponseResource> {
  const response = await run({ event() {} });
  if (response.status !== "completed") {
    throw new ResponsesError(502, { message: response.error?.message ?? `The summary ended ${response.status}.`, type: "upstream_error", code: response.error?.code ?? "compaction_failed" });
  }
  return response;
}
