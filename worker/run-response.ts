import {
  type ChatCompletion,
  chatToResponsesSse,
  type ChatRequestTranslation,
  type ConversationItem,
  createChatToResponsesConverter,
  createIdGenerator,
  createResponsesReader,
  type EventSink,
  expandInput,
  fromChatCompletion,
  type IdGenerator,
  ResponsesError,
  type ResponseResource,
  type ResponsesReaderOptions,
  type ResponsesRequest,
  reasoningExpander,
  type Sealer,
  sealReasoningEvents,
  sealReasoningItems,
  storedResponse,
  toChatRequest,
  wantsEncryptedReasoning,
} from "../src/index.ts";
import { compactionExpander } from "../src/compaction.ts";
import type { ModelRoute } from "./config.ts";
import type { ClientContext } from "./context.ts";
import { asksForReasoningContent, hasAskedForReasoning, rememberAskedForReasoning, withReasoningContentEverywhere } from "./reasoning-retry.ts";
import { callUpstream, forwardedHeaders, redact, upstreamError } from "./upstream.ts";

/**
 * The one way a response is run, whatever carries it (SSE over HTTP, JSON over
 * HTTP, WebSocket frames): translate the request, call the upstream, convert.
 * Transports only frame what this produces.
 */
export interface PreparedResponse {
  /** The request as the client sent it (its settings are echoed in the envelope). */
  request: ResponsesRequest;
  route: ModelRoute;
  translation: ChatRequestTranslation;
  /** Converter options; with `include: ["reasoning.encrypted_content"]`, `beforeFlush` seals reasoning items as they finish. */
  options: ResponsesReaderOptions;
  /** Seals reasoning into `encrypted_content` when the client asked for it (and the context has a sealer); else null. */
  reasoningSealer: Sealer | null;
  /**
   * With the automatic reasoning policy: the translation to send once more when the upstream
   * answers that it needs `reasoning_content` back (DeepSeek's 400); null once used, when this
   * upstream already asked before (it then gets that translation first), or when an explicit
   * REASONING_HISTORY decides.
   */
  reasoningRetry: (() => ChatRequestTranslation) | null;
  /** Headers for the client: dropped hosted tools, then the upstream's rate-limit hints. */
  headers: Record<string, string>;
  /** The whole conversation the upstream sees (after expansion). */
  input: ConversationItem[];
  /**
   * Hands the finished response to the context's `onRecord` and, with `persist` (default) unless
   * `store: false`, to the store (the converter's `onEnd` calls it).
   */
  record(response: ResponseResource, persist?: boolean): void;
}

/** Codex says who it is in `originator` (`codex_exec`, `codex_cli_rs`, …) and its user agent. */
function isCodex(headers: Headers): boolean {
  return /^codex/i.test(headers.get("originator") ?? "") || /^codex/i.test(headers.get("user-agent") ?? "");
}

/**
 * What identifies an upstream for reasoning round trips: the server and the model on it. Reasoning
 * goes back only where this matches (a model switch on the same server can meet a model that
 * rejects the field: Groq's non-reasoning models answer 400 to `reasoning`).
 */
function upstreamIdentity(route: ModelRoute): string {
  return `${route.baseUrl} ${route.model}`;
}

/**
 * Request → everything needed to call the upstream and convert its answer.
 * Stored state is resolved here (`expandInput`: `previous_response_id`,
 * `item_reference`, and sealed reasoning and compaction items), and the response is
 * stored when it ends, however it ends. Throws `ResponsesError` (400) on bad input.
 */
export async function prepareResponse(request: ResponsesRequest, ctx: ClientContext): Promise<PreparedResponse> {
  const { config, store } = ctx;
  // Sealed reasoning and compaction summaries open for every transport.
  const expanded = await expandInput(request, { resolver: ctx.resolver, expanders: [reasoningExpander(ctx.sealer), compactionExpander(ctx.sealer)] });
  const route = config.route(typeof request.model === "string" ? request.model : "");
  const upstream = upstreamIdentity(route);
  const reasoningHistory = route.reasoningHistory ?? config.translate.reasoningHistory ?? "auto";
  const translate = (history: typeof reasoningHistory) => toChatRequest(expanded.request, { ...config.translate, reasoningHistory: history, upstream, model: () => route.model });
  // What DeepSeek's thinking mode asks for: every item's text in reasoning_content, an empty one where a turn has none.
  const everyReasoning = () => {
    const t = translate("reasoning_content");
    return { ...t, request: withReasoningContentEverywhere(t.request) };
  };
  const auto = reasoningHistory === "auto";
  const learned = auto && hasAskedForReasoning(upstream);
  const translation = learned ? everyReasoning() : translate(reasoningHistory);
  const reasoningRetry = auto && !learned ? everyReasoning : null;
  const headers: Record<string, string> = {};
  if (translation.dropped.length) headers["x-responses-bridge-dropped-tools"] = translation.dropped.join(", ");
  const ids = store?.ids?.(typeof request.previous_response_id === "string" ? request.previous_response_id : null) ?? createIdGenerator();
  const reasoningSealer = wantsEncryptedReasoning(request.include) ? ctx.sealer : null;
  const options: ResponsesReaderOptions = {
    ...config.convert,
    refusalAsText: config.refusalAsText === "auto" ? isCodex(ctx.clientHeaders) : config.refusalAsText,
    // The envelope promises storage only when there is a store to keep it.
    request: store ? request : { ...request, store: false },
    tools: translation.tools,
    ids,
    upstream,
    redact: (text: string) => redact(text, config),
    onEnd: (response) => record(response),
  };
  // Stored as the client sent it, tokens still sealed (never a compaction summary in the clear); expanded again on continuation.
  const record = (response: ResponseResource, persist = true) => recordEnd(request, expanded.resolved, response, ids, ctx, persist);
  if (reasoningSealer) options.beforeFlush = sealReasoningEvents(reasoningSealer);
  return { request, route, translation, options, reasoningSealer, reasoningRetry, headers, input: expanded.input, record };
}

/**
 * Hands the finished response (any status; `cancelled` when the client went away) to the context
 * (a connection's memory) and, unless `store: false`, to the store. Called just before the terminal
 * event goes out, so the write is on its way before the client can send a continuation; the answer
 * never waits for it.
 */
function recordEnd(request: ResponsesRequest, input: ConversationItem[], response: ResponseResource, ids: IdGenerator, ctx: ClientContext, persist: boolean): void {
  const record = storedResponse(input, response, ids);
  ctx.onRecord?.(record);
  const store = ctx.store;
  if (!persist || !store || request.store === false) return;
  ctx.waitUntil(
    store.put(record).catch((e: unknown) => {
      // The client has its answer; a lost write shows up as an unknown id later, and here once.
      console.error(`responses-bridge: storing ${response.id} failed: ${redact(String((e as Error)?.message ?? e), ctx.config)}`);
    }),
  );
}

/** Calls the upstream; its HTTP errors become `UpstreamHttpError`s (status and back-off headers kept). */
async function openUpstream(prepared: PreparedResponse, ctx: ClientContext, stream: boolean): Promise<Response> {
  // The transport decides, not the body's `stream` (a WebSocket always streams).
  const { stream: _stream, stream_options: _options, ...rest } = prepared.translation.request;
  const body = JSON.stringify(stream ? { ...rest, stream: true, stream_options: { include_usage: true } } : rest);
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
  prepared.record(converter.response, false);
  return converter.response;
}

/** Runs the response to the end and returns the finished Response object. */
export async function completeResponse(prepared: PreparedResponse, ctx: ClientContext): Promise<ResponseResource> {
  const upstream = await openUpstream(prepared, ctx, false);
  const text = await upstream.text();
  let completion: ChatCompletion;
  try {
    completion = JSON.parse(text) as ChatCompletion;
  } catch {
    throw new ResponsesError(502, { message: `Upstream sent a body that is not JSON: ${text.slice(0, 300)}`, type: "upstream_error", code: "server_error" });
  }
  // Sealed first, then recorded: the stored response is the one the client gets.
  const response = fromChatCompletion(completion, { ...prepared.options, onEnd: undefined });
  if (prepared.reasoningSealer) await sealReasoningItems(response.output, prepared.reasoningSealer);
  prepared.record(response);
  return response;
}
