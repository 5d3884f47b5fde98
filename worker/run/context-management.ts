// Internal: server-side compaction, a create request's `context_management: [{ type: "compaction", compact_threshold }]`.
import { fromChatCompletion, invalidRequest, ResponsesError, type ResponsesInputItem, type ResponsesRequest } from "../../src/index.ts";
import { type ConversationItem, contextCompactionItem, currentTurnStart, expandInput, isContextSummary, requireSealer, type Sealer, summaryRequest } from "../../src/server.ts";
import type { ClientContext } from "../context.ts";
import { recordUsage } from "../ops/log.ts";
import { utf8Bytes } from "../utf8.ts";
import { countPrepared } from "./count-tokens.ts";
import { completionOf } from "./modes.ts";
import { openUpstream } from "./open-upstream.ts";
import { type PreparedResponse, prepareResponse } from "./prepare.ts";

/**
 * How a create request with a compaction entry in `context_management` runs (every transport: SSE, JSON,
 * WebSocket). The input is expanded as always; when it is over `compact_threshold` tokens the bridge
 * compacts it before the turn: the upstream model writes a summary of the conversation before the running
 * turn (the same tool-free summary request as `compaction_trigger`, not streamed), sealed with that turn's
 * items into one `compaction` item; the turn then runs on the summary and its own items, and its response
 * starts with that item (output_index 0, before the turn's own output, as OpenAI streams it). A client that
 * appends output items as usual carries it into the next request, where everything before it is dropped
 * (it stands for all of it); a stored response continued by `previous_response_id` does the same.
 *
 * Counting against the threshold: first an estimate with no call at all, the UTF-8 bytes of the messages'
 * strings and the tools' JSON over 4 (about what a BPE tokenizer makes of English text and code), plus 4 per
 * message for the chat template's own tokens and 1,000 per image, file or audio part (a high-detail image is
 * 765–1,105 tokens at OpenAI). At or under the threshold, nothing else happens: no extra upstream call.
 * Over it, the upstream counts the prepared request exactly (one call with one output token, as
 * `/v1/responses/input_tokens` does), and only a count above the threshold compacts; so does an upstream
 * that refuses to count it because it exceeds the model's context (a threshold set near the window).
 */
export async function prepareTurn(request: ResponsesRequest, ctx: ClientContext): Promise<PreparedResponse> {
  const { prepared, compaction } = await checkTurn(request, ctx);
  if (!compaction) return prepared;
  const counted = await countPrepared(prepared, ctx).catch((e: unknown) => {
    // Too long for the model to count at all: over any threshold, and what compaction is for.
    if (tooLongForModel(e)) return null;
    throw e;
  });
  if (counted) {
    countExtra(ctx, counted.prompt_tokens, counted.completion_tokens);
    if (counted.prompt_tokens <= compaction.threshold) return prepared;
  }
  return compacted(request, prepared.input, compaction.start, compaction.sealer, ctx);
}

/**
 * What `prepareTurn` does before any upstream call: the request checked and prepared (every refusal of the
 * request itself thrown here: `context_management`, stored state, tool pairing, translation, no key to seal a
 * summary with), and whether the turn may need compacting (then the upstream counts it). A background `create`
 * runs this much before it answers `queued` (worker/routes/background.ts).
 */
export async function checkTurn(request: ResponsesRequest, ctx: ClientContext): Promise<{ prepared: PreparedResponse; compaction: { start: number; threshold: number; sealer: Sealer } | null }> {
  const threshold = compactThreshold(request.context_management);
  const { context_management: _cm, ...rest } = request;
  const prepared = await prepareResponse(threshold === null ? request : rest, ctx);
  if (threshold === null) return { prepared, compaction: null };
  const start = currentTurnStart(prepared.input);
  // Nothing before the running turn, or only an earlier compaction's summary (a long tool loop over the
  // threshold by itself): nothing a summary could shrink, so no count and no summary of the summary.
  if (start <= 0 || (start === 1 && isContextSummary(prepared.input[0]!))) return { prepared, compaction: null };
  if (estimate(prepared.translation.request) <= threshold) return { prepared, compaction: null };
  // No key to seal a summary with: said before any upstream call.
  return { prepared, compaction: { start, threshold, sealer: requireSealer(ctx.sealer) } };
}

/**
 * An upstream's 400 (or 413) saying the prompt exceeds the model's context, in the words providers use:
 * OpenAI, DeepSeek and vLLM's "maximum context length is N tokens" (OpenAI's and Groq's code
 * `context_length_exceeded`), vLLM's "longer than the maximum model length", llama.cpp's
 * `exceed_context_size_error`, Anthropic's "prompt is too long", Mistral's "too large for model".
 */
function tooLongForModel(e: unknown): boolean {
  if (!(e instanceof ResponsesError) || (e.status !== 400 && e.status !== 413)) return false;
  if (e.code === "context_length_exceeded" || e.type === "exceed_context_size_error") return true;
  return /context (length|size|window)|maximum model length|exceeds the available context|prompt is too long|too large for model/i.test(e.message);
}

/** The threshold of the request's compaction entry; null without one. Anything else in `context_management` is OpenAI's 400. */
function compactThreshold(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw invalidRequest("Invalid type for 'context_management': expected an array of objects.", "context_management", "invalid_type");
  let threshold: number | null = null;
  for (const [i, entry] of value.entries()) {
    const param = `context_management[${i}]`;
    const e = entry as { type?: unknown; compact_threshold?: unknown } | null;
    if (typeof e !== "object" || e === null) throw invalidRequest(`Invalid type for '${param}': expected an object.`, param, "invalid_type");
    if (e.type !== "compaction") throw invalidRequest(`Invalid value for '${param}.type': only 'compaction' is supported.`, `${param}.type`, "invalid_value");
    const n = e.compact_threshold;
    // The bridge knows no model's context window to pick a default from.
    if (n === undefined || n === null) throw invalidRequest(`Missing required parameter: '${param}.compact_threshold'.`, `${param}.compact_threshold`, "missing_required_parameter");
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1) throw invalidRequest(`Invalid '${param}.compact_threshold': expected a positive integer, got ${JSON.stringify(n)}.`, `${param}.compact_threshold`, "invalid_value");
    threshold = threshold === null ? n : Math.min(threshold, n);
  }
  return threshold;
}

/** UTF-8 bytes of every string in `value`. */
function utf8(value: unknown): number {
  if (typeof value === "string") return utf8Bytes(value);
  if (typeof value !== "object" || value === null) return 0;
  let sum = 0;
  for (const v of Array.isArray(value) ? value : Object.values(value)) sum += utf8(v);
  return sum;
}

/** Parts of a message whose tokens its text does not tell (an image by URL, a file, audio). */
function mediaParts(message: unknown): number {
  const content = (message as { content?: unknown } | null)?.content;
  return Array.isArray(content) ? content.filter((p: { type?: unknown } | null) => p?.type !== "text").length : 0;
}

/** The request's tokens, estimated without a tokenizer (see `prepareTurn`). */
function estimate(chat: { messages?: unknown[]; tools?: unknown[] }): number {
  const messages = chat.messages ?? [];
  const bytes = utf8(messages) + (chat.tools ? utf8(JSON.stringify(chat.tools)) : 0);
  return Math.ceil(bytes / 4) + 4 * messages.length + 1_000 * messages.reduce((n: number, m) => n + mediaParts(m), 0);
}

/** Tokens spent besides the turn's own (the exact count, the summary): into the key's usage, after the answer. */
function countExtra(ctx: ClientContext, input: number, output: number): void {
  if (!ctx.ops) return;
  recordUsage(ctx.ops, { model: ctx.ops.trace.model ?? "", input_tokens: input, output_tokens: output, cached_tokens: 0, reasoning_tokens: 0 }, "compaction usage");
}

/** The summary written upstream, the compaction item sealed, and the turn prepared on it with the item as its first output. */
async function compacted(request: ResponsesRequest, input: ConversationItem[], start: number, sealer: Sealer, ctx: ClientContext): Promise<PreparedResponse> {
  const history = input.slice(0, start);
  const turn = input.slice(start);
  const summaryRun = await prepareResponse(summaryRequest(request, history as ResponsesInputItem[]), ctx);
  const completion = await completionOf(await openUpstream(summaryRun, ctx, false), (text) => `The upstream's summary was not JSON: ${text.slice(0, 200)}`, "compaction_failed");
  const summary = fromChatCompletion(completion, { ...summaryRun.options, onEnd: undefined });
  countExtra(ctx, summary.usage?.input_tokens ?? 0, summary.usage?.output_tokens ?? 0);
  // Its id comes from the turn's own generator (a store routes item ids by it), so it is set once the turn is prepared.
  const item = await contextCompactionItem(summary, turn, sealer, "");
  // A chain continued by `previous_response_id` starts afresh at the item (it stands for the whole chain); a
  // `conversation` is kept (its earlier items are dropped again at the item, and this turn is added to it).
  const { context_management: _cm, previous_response_id: _p, ...rest } = request;
  // What is kept (the stored response's input, the items a conversation gains) is what the client sent, as
  // sent (references resolved, nothing opened), with the output after it: the compaction item once, standing
  // for what came before. A new chain: no previous response, and only this request's own items when it has to
  // be stored whole. (Read once more from the store: only a compacting turn pays it.)
  const { context_management: _c, ...sent } = request;
  const own = await expandInput(sent, { resolver: ctx.resolver, conversations: ctx.conversations });
  const keep = { ...own, previous: null, resolved: own.fresh };
  const next = await prepareResponse({ ...rest, input: [item] }, ctx, keep);
  next.keep = keep;
  item.id = next.options.ids!("cmp");
  // The envelope echoes the client's request; a fallback that prepares the turn again keeps the item first.
  const echo = ctx.store ? request : { ...request, store: false };
  next.adjust = (p) => {
    p.options.request = echo;
    p.options.leadingOutput = [item];
  };
  next.adjust(next);
  return next;
}
