/**
 * Compaction, both directions, as pure steps around the one run of a
 * response: a conversation → the request that asks the upstream model for a
 * summary → a `CompactResource` whose `compaction` item carries that summary
 * sealed; and, in a later request, a `compaction` item → the summary back in
 * context, as a user message the upstream can read.
 *
 * The summary is sealed (`seal.ts`, purpose `"compaction"`), so a client can
 * neither read nor forge what it carries back. Not exported from `index.ts`:
 * only the Worker compacts, and a browser bundle has no use for the prompt.
 */
import { invalidRequest, ResponsesError } from "../errors.ts";
import type { ItemExpander } from "./history.ts";
import { markRestored } from "./reasoning-seal.ts";
import type { ConversationItem } from "./store.ts";
import type { IdGenerator } from "../ids.ts";
import { isObject } from "../internal/is-object.ts";
import type {
  CompactionItem,
  CompactionOutputItem,
  CompactResource,
  ResponseResource,
  ResponsesInputItem,
  ResponsesRequest,
  Usage,
  UserMessageItem,
} from "../types/responses.ts";
import type { Sealer } from "./seal.ts";

/** What a compaction token holds. Versioned so a later format can still read old tokens. */
interface CompactionPayload {
  v: 1;
  summary: string;
  /**
   * Server-side compaction (`context_management`) only: the items of the turn that was running when the
   * input was compacted, kept verbatim after the summary. Such an item stands for everything before it.
   */
  items?: ConversationItem[];
}

/** The system prompt of the summary request. */
export const COMPACTION_INSTRUCTIONS: string = [
  "You are compacting a conversation so that it can continue in a fresh context window.",
  "The user's own messages are kept verbatim next to your summary; summarise everything else the continuation needs:",
  "the goal and constraints, decisions made and why, what was done (tool calls and their results, with file names, commands, identifiers, numbers and error messages verbatim where they matter),",
  "the current state, what is still open, and the next step.",
  "Be faithful: state only what the conversation shows, and say so where something is uncertain. Write only the summary, in plain prose and lists, without addressing the user.",
].join(" ");

const SUMMARY_ASK = "Write the summary of the conversation above now, as instructed.";

/** How a summary reads to the upstream when a compaction item is expanded. */
const SUMMARY_HEADER = "Summary of the earlier part of this conversation (it was compacted to save context):";
/** The same for a server-side compaction's item, which stands for the whole conversation before it. */
const CONTEXT_HEADER = "Summary of this conversation up to the current turn (it was compacted to save context):";

/**
 * The request that asks the upstream for the summary: the conversation as
 * it is (tools kept, so a history of tool calls stays valid for strict
 * upstreams, but none may be called), then the ask.
 */
export function summaryRequest(body: ResponsesRequest, history: ResponsesInputItem[]): ResponsesRequest {
  const request: ResponsesRequest = {
    model: body.model,
    instructions: COMPACTION_INSTRUCTIONS,
    input: [...history, { type: "message", role: "user", content: SUMMARY_ASK }],
    store: false,
  };
  if (Array.isArray(body.tools) && body.tools.length) {
    request.tools = body.tools;
    request.tool_choice = "none";
  }
  if (typeof body.prompt_cache_key === "string") request.prompt_cache_key = body.prompt_cache_key;
  return request;
}

/** The summary text out of the summary response; a response that produced none is a 502. */
export function summaryText(response: ResponseResource): string {
  const text = response.output
    .flatMap((item) => (item.type === "message" ? item.content : []))
    .map((part) => (part.type === "output_text" ? part.text : ""))
    .join("")
    .trim();
  if (response.status === "failed" || text === "") {
    const why = response.error?.message ?? (text === "" ? "it returned no text" : `status ${response.status}`);
    throw new ResponsesError(502, { message: `The upstream model could not summarise the conversation: ${why}`, type: "upstream_error", code: "compaction_failed" });
  }
  return text;
}

/** Without a sealer there is no key to seal with; say which setting fixes it. */
export function requireSealer(sealer: Sealer | null): Sealer {
  if (sealer) return sealer;
  throw new ResponsesError(400, {
    message: "Compaction needs a secret to seal its summary with: set BRIDGE_SECRET on the bridge (or UPSTREAM_API_KEY), or send an API key.",
    type: "invalid_request_error",
    param: null,
    code: "compaction_unavailable",
  });
}

const ZERO_USAGE: Usage = { input_tokens: 0, output_tokens: 0, total_tokens: 0, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } };

/** An earlier summary, as `compactionExpander` put it in context: covered by the new summary, so not kept. */
function isSummary(content: UserMessageItem["content"]): boolean {
  const first = content[0];
  return first?.type === "input_text" && (first.text.startsWith(SUMMARY_HEADER) || first.text.startsWith(CONTEXT_HEADER));
}

/** Whether an (expanded) item is a server-side compaction's summary. */
export function isContextSummary(item: ConversationItem): boolean {
  const m = item as { role?: unknown; content?: unknown };
  if (!isObject(item) || m.role !== "user" || !Array.isArray(m.content)) return false;
  const first = (m.content as Array<{ type?: unknown; text?: unknown }>)[0];
  return first?.type === "input_text" && typeof first.text === "string" && first.text.startsWith(CONTEXT_HEADER);
}

/**
 * The conversation from its latest server-side compaction on: that compaction's summary (and the turn it
 * kept) stands for everything before it, so what came earlier (a client that appends output items as
 * usual and drops nothing, a stored chain) is not sent again. Unchanged when there is none.
 */
export function fromLatestCompaction(input: ConversationItem[]): ConversationItem[] {
  for (let i = input.length - 1; i > 0; i--) if (isContextSummary(input[i]!)) return input.slice(i);
  return input;
}

/** Where the running turn starts: its last user message (what follows it, tool calls and their outputs, belongs to it); -1 when none. */
export function currentTurnStart(input: readonly ConversationItem[]): number {
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i] as ConversationItem & { role?: unknown; type?: unknown };
    if (isObject(item) && item.role === "user" && (item.type === undefined || item.type === "message") && !isContextSummary(item)) return i;
  }
  return -1;
}

/**
 * Server-side compaction's item: `summary` (the upstream's summary of the conversation before the running
 * turn) and that turn's items, sealed. Expanded, it is the summary then those items, and everything
 * before it in a later request is dropped (`fromLatestCompaction`).
 */
export async function contextCompactionItem(summary: ResponseResource, turn: ConversationItem[], sealer: Sealer, id: string): Promise<CompactionOutputItem> {
  const payload: CompactionPayload = { v: 1, summary: summaryText(summary), items: turn };
  return { type: "compaction", id, encrypted_content: await sealer.seal("compaction", payload) };
}

/** The user's messages of a conversation, as the API keeps them through a compaction; earlier summaries are left out (the new one covers them). */
export function keptUserMessages(input: readonly ConversationItem[], ids: IdGenerator): UserMessageItem[] {
  const kept: UserMessageItem[] = [];
  for (const item of input) {
    if (!isObject(item) || !("role" in item) || item.role !== "user" || (item.type !== undefined && item.type !== "message")) continue;
    const content = typeof item.content === "string" ? [{ type: "input_text" as const, text: item.content }] : (item.content as UserMessageItem["content"]);
    if (isSummary(content)) continue;
    kept.push({ type: "message", id: ids("msg"), status: "completed", role: "user", content });
  }
  return kept;
}

/** The summary the upstream wrote (`summaryText`), sealed into a `compaction` item. */
export async function compactionItem(summary: ResponseResource, sealer: Sealer, ids: IdGenerator): Promise<CompactionOutputItem> {
  const payload: CompactionPayload = { v: 1, summary: summaryText(summary) };
  return { type: "compaction", id: ids("cmp"), encrypted_content: await sealer.seal("compaction", payload) };
}

/**
 * The compact endpoint's answer: the user's messages of the conversation
 * (`input`, expanded: a previous chain's included), as the API keeps them,
 * then one compaction item holding the sealed summary.
 */
export async function compactedResource(input: ResponsesInputItem[], summary: ResponseResource, sealer: Sealer, ids: IdGenerator): Promise<CompactResource> {
  const item = await compactionItem(summary, sealer, ids);
  return {
    id: ids("resp"),
    object: "response.compaction",
    created_at: summary.created_at,
    output: [...keptUserMessages(input, ids), item],
    usage: summary.usage ?? ZERO_USAGE,
  };
}

/**
 * Remote compaction (Codex's "v2", for a provider it takes for OpenAI): an
 * ordinary request whose `input` ends with `{"type":"compaction_trigger"}`
 * asks for one `compaction` item standing for the conversation, instead of a
 * turn. Returns the input before the trigger, or null for an ordinary request.
 * A trigger anywhere but last is a 400: it is a request control, not history.
 */
export function compactionTriggered(input: ResponsesRequest["input"]): ConversationItem[] | null {
  if (!Array.isArray(input)) return null;
  const at = input.findIndex((item) => isObject(item) && item.type === "compaction_trigger");
  if (at < 0) return null;
  if (at !== input.length - 1) {
    throw invalidRequest(`Invalid value for 'input[${at}]': a compaction_trigger item must be the last input item.`, `input[${at}]`, "invalid_value");
  }
  return input.slice(0, at) as ConversationItem[];
}

/**
 * The Response a compaction trigger gets: the summary run's envelope (which
 * echoes the client's request), completed, with the compaction item as its one
 * output and the summary call's usage.
 */
export function compactionResponse(summary: ResponseResource, item: CompactionOutputItem, now: number): ResponseResource {
  return { ...summary, status: "completed", completed_at: summary.completed_at ?? now, incomplete_details: null, error: null, output: [item], usage: summary.usage ?? ZERO_USAGE };
}

/**
 * The input expander (`expandInput`) for `compaction` items: each becomes the
 * summary it seals, as a user message. A token this bridge did not seal
 * (tampered, another deployment's, OpenAI's own, sealed for another purpose)
 * is a 400 naming the item: its context cannot be restored, and continuing
 * without it would silently lose the conversation. Idempotent, as expanders
 * must be: what it produces is a plain message.
 */
export function compactionExpander(sealer: Sealer | null): ItemExpander {
  return async (item, at) => {
    if (!isObject(item) || item.type !== "compaction") return undefined;
    const param = `${at ?? "input"}.encrypted_content`;
    const token = (item as CompactionItem).encrypted_content;
    if (typeof token !== "string") throw invalidRequest(`Missing required parameter: '${param}'.`, param, "missing_required_parameter");
    const payload = await requireSealer(sealer).open("compaction", token);
    if (isObject(payload) && typeof payload.summary === "string" && Array.isArray(payload.items)) {
      // The kept turn's reasoning came out of a sealed token: its provider state stays, as a reasoning token's does.
      markRestored(payload.items as ConversationItem[]);
      return [{ type: "message", role: "user", content: [{ type: "input_text", text: `${CONTEXT_HEADER}\n\n${payload.summary}` }] }, ...(payload.items as ConversationItem[])];
    }
    if (!isObject(payload) || typeof payload.summary !== "string") {
      throw invalidRequest(
        `The compaction item at '${at ?? "input"}' was not produced by this bridge, or was altered: its encrypted_content cannot be opened. Send the conversation it stands for instead.`,
        param,
        "invalid_encrypted_content",
      );
    }
    return [{ type: "message", role: "user", content: [{ type: "input_text", text: `${SUMMARY_HEADER}\n\n${payload.summary}` }] }];
  };
}
