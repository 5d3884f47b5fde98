import { type ChatRequestTranslation, checkToolPairing, createIdGenerator, invalidRequest, type PendingEvents, ResponsesError, type ResponseResource, type ResponsesInputItem, type ResponsesReaderOptions, type ResponsesRequest, toChatRequest } from "../../src/index.ts";
import { type ConversationItem, conversationNotFound, conversationOf, type ExpandedInput, expandInput, fromLatestCompaction, reasoningExpander, type Sealer, sealReasoningEvents, wantsEncryptedReasoning, compactionExpander } from "../../src/server.ts";
import type { ModelRoute } from "../config.ts";
import type { ClientContext } from "../context.ts";
import { hasAskedForReasoning, withReasoningContentEverywhere } from "./reasoning-retry.ts";
import { type TemplateState, templateFor } from "./template-retry.ts";
import { type RefusedState, refusedFor } from "./refused-fields.ts";
import { redact } from "../upstream.ts";

import { recordEnd } from "./record.ts";
import { backgroundIds } from "./background.ts";
import { logResponse } from "../ops/log.ts";

/**
 * The one way a response is run, whatever carries it (SSE over HTTP, JSON over
 * HTTP, WebSocket frames): translate the request, call the upstream, convert.
 * Transports only frame what this produces.
 */
export interface PreparedResponse {
  /** The request as the client sent it (its settings are echoed in the envelope). */
  request: ResponsesRequest;
  /** Set by a caller that changes the prepared run: applied again when a fallback prepares it anew for another route. */
  adjust?: (prepared: PreparedResponse) => void;
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
  /** The shape the messages go upstream in (MODEL_MAP's `template`, or learned from the upstream's template errors). */
  template: TemplateState;
  /** The fields this upstream's requests leave out (MODEL_MAP's `omit`, and those it refused before or refuses now). */
  refused: RefusedState;
  /** Headers for the client: dropped hosted tools, then the upstream's rate-limit hints. */
  headers: Record<string, string>;
  /** The whole conversation the upstream sees (after expansion). */
  input: ConversationItem[];
  /**
   * Set by a caller that prepared the run with `keep` (server-side compaction: what is stored is what the client
   * sent, not the stand-in the upstream gets): a fallback that prepares the run anew passes it again.
   */
  keep?: ExpandedInput;
  /**
   * Hands the finished response to the context's `onRecord` and, with `persist` (default) unless
   * `store: false`, to the store; once per response, however often called. Resolves false when
   * the envelope promised storage and the write failed: the caller sets `store: false` on the
   * response before the client sees it (the streaming paths do it in `beforeFlush`).
   */
  record(response: ResponseResource, persist?: boolean): Promise<boolean>;
}

/**
 * Seals the batch (when asked), then, for the batch holding the terminal event, stores the response
 * and waits for the write: the client learns `store: false` in that very event when the write failed,
 * before it can continue from the id. The write started before the event left, as before; waiting for
 * it costs the terminal event one object write (see docs/stored-responses.md), never a delta.
 */
function terminalWaitsForStore(seal: ((pending: PendingEvents) => Promise<void> | undefined) | null, record: (response: ResponseResource) => Promise<boolean>) {
  const store = async (e: { response: ResponseResource }) => {
    if (!(await record(e.response))) e.response.store = false;
  };
  // Synchronous for every batch but the last (no promise, no await on the hot path) unless a batch has an item to seal; the terminal event ends its batch.
  return (pending: PendingEvents): Promise<void> | undefined => {
    const last = pending.at(-1);
    const terminal = last !== undefined && typeof last !== "string" && (last.type === "response.completed" || last.type === "response.incomplete" || last.type === "response.failed") ? last : null;
    const sealing = seal?.(pending);
    if (!sealing) return terminal ? store(terminal) : undefined;
    return sealing.then(() => (terminal ? store(terminal) : undefined));
  };
}

/** What the upstream sees starts at the latest server-side compaction (`context_management`); what is stored stays as sent. */
function fromCompaction(expanded: ExpandedInput): ExpandedInput {
  const input = fromLatestCompaction(expanded.input);
  return input === expanded.input ? expanded : { ...expanded, input, request: { ...expanded.request, input: input as ResponsesInputItem[] } };
}

/**
 * A `previous_response_id` naming a background run that has not ended is not in the store yet: said so (GET shows
 * it queued or in_progress), rather than "not found". Anything else is rethrown as it was.
 */
async function stillRunning(e: unknown, request: ResponsesRequest, ctx: ClientContext): Promise<never> {
  const id = request.previous_response_id;
  if (e instanceof ResponsesError && e.code === "previous_response_not_found" && typeof id === "string" && ctx.background) {
    const run = await ctx.background.get(id).catch(() => undefined);
    if (run?.status === "queued" || run?.status === "in_progress") {
      throw invalidRequest(`Previous response with id '${id}' is still ${run.status === "queued" ? "queued" : "in progress"}; continue from it once it has completed.`, "previous_response_id", "previous_response_not_completed");
    }
  }
  throw e;
}

/** What opens the sealed items a request carries (reasoning, compaction summaries), on every transport and for every item a conversation is given. */
export function sealedItemExpanders(sealer: Sealer | null) {
  return [reasoningExpander(sealer), compactionExpander(sealer)];
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
export function upstreamIdentity(route: ModelRoute): string {
  return `${route.baseUrl} ${route.model}`;
}

/**
 * Request → everything needed to call the upstream and convert its answer.
 * Stored state is resolved here (`expandInput`: `previous_response_id`,
 * `item_reference`, and sealed reasoning and compaction items), and the response is
 * stored when it ends, however it ends. Throws `ResponsesError` (400) on bad input.
 */
// `keep`: what the store and a conversation keep of this turn instead of its own expansion (server-side compaction).
export async function prepareResponse(request: ResponsesRequest, ctx: ClientContext, keep?: ExpandedInput): Promise<PreparedResponse> {
  const { config, store } = ctx;
  // A deployment keeping no conversations knows none: OpenAI's 404, as its Conversations routes answer (after the same 400s).
  const unknownConversation = ctx.conversations ? null : conversationOf(request);
  if (unknownConversation !== null) throw conversationNotFound(unknownConversation);
  const expanded = fromCompaction(await expandInput(request, { resolver: ctx.resolver, expanders: sealedItemExpanders(ctx.sealer), conversations: ctx.conversations }).catch((e: unknown) => stillRunning(e, request, ctx)));
  // On the whole conversation, as OpenAI checks it: a call and its output often sit on either side of `previous_response_id`.
  checkToolPairing(expanded.input);
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
  const run = ctx.backgroundRun;
  // A background run answers under the id its `create` already gave (its items share that id's shard); a response
  // continuing a chain or run in a conversation takes its shard (and so its object).
  const ids = run ? backgroundIds(run.id, store?.ids?.(run.id) ?? createIdGenerator()) : (store?.ids?.(typeof request.previous_response_id === "string" ? request.previous_response_id : expanded.conversation) ?? createIdGenerator());
  const reasoningSealer = wantsEncryptedReasoning(request.include) ? ctx.sealer : null;
  const options: ResponsesReaderOptions = {
    ...config.convert,
    refusalAsText: config.refusalAsText === "auto" ? isCodex(ctx.clientHeaders) : config.refusalAsText,
    // The envelope promises storage only when there is a store to keep it.
    request: store ? request : { ...request, store: false },
    tools: translation.tools,
    ids,
    upstream,
    // A background run keeps the `created_at` its `create` answered with.
    ...(run?.createdAt !== undefined ? { createdAt: run.createdAt } : {}),
    redact: (text: string) => redact(text, config),
    // A cancelled response has no terminal event to hold: stored from here. Every other end is recorded by `beforeFlush` first.
    onEnd: (response) => void record(response),
  };
  // Stored as the client sent it, tokens still sealed (never a compaction summary in the clear); expanded again on continuation.
  let recorded: Promise<boolean> | null = null;
  const record = (response: ResponseResource, persist = true) => {
    if (recorded) return recorded;
    // The response's log line (and its tokens into the key's usage), whatever carried it.
    if (ctx.ops) logResponse(ctx.ops, response, request.stream === true);
    return (recorded = recordEnd(request, keep ?? expanded, response, ids, ctx, persist));
  };
  // Reasoning is sealed when the client asked; provider state (Gemini's signatures, OpenRouter's reasoning_details) always, being its only way back.
  options.beforeFlush = terminalWaitsForStore(ctx.sealer && sealReasoningEvents(ctx.sealer, reasoningSealer !== null), record);
  const template = templateFor(route, upstream);
  const refused = refusedFor(route, upstream);
  return { request, route, translation, options, reasoningSealer, reasoningRetry, template, refused, headers, input: expanded.input, record };
}

