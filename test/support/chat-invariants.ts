/**
 * The invariants every Chat Completions stream the reverse direction produces
 * must hold, whatever the upstream did: one checker for unit, property,
 * Worker and end-to-end tests, plain code that throws naming the first
 * broken rule.
 *
 * - framing: `data: <json>\n\n` per frame (`: comment` lines allowed between), LF only; `data: [DONE]` last after
 *   a clean end; after an error frame (`{"error": {...}}`) nothing, no `[DONE]`;
 * - every chunk: the same `id` (`chatcmpl-…`), `object: "chat.completion.chunk"`,
 *   `created`, `model`; `usage: null` on each with `includeUsage`, absent without;
 * - the first chunk's delta has `role: "assistant"`, no other has a role;
 * - one choice, `index` 0, in every chunk but the usage chunk;
 * - exactly one `finish_reason` on a clean end, on the last choice chunk, with an
 *   empty delta; none on a stream that ends in an error frame;
 * - tool calls: indexes 0, 1, 2 … in order of first appearance; the first piece of each
 *   carries `id`, `type: "function"` and `function.name`, later pieces only arguments;
 *   `finish_reason: "tool_calls"` exactly when there were calls (unless cut: `length`, `content_filter`);
 * - no `reasoning_content` after the first `content` delta;
 * - with `includeUsage` and a clean end: a last chunk with empty `choices` and the
 *   full usage shape; without it, no usage chunk.
 */
import type { ChatChunkOut, ChatErrorFrame, ChatFrame } from "../../src/index.ts";

export interface ChatStreamSummary {
  chunks: ChatChunkOut[];
  error: ChatErrorFrame["error"] | null;
  content: string;
  refusal: string;
  reasoning: string;
  calls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string | null;
  usage: ChatChunkOut["usage"];
}

function fail(message: string): never {
  throw new Error(`chat invariant broken: ${message}`);
}

/** Our own framing, read strictly: every frame one `data:` line. */
export function parseChatSse(raw: string): { frames: ChatFrame[]; done: boolean } {
  if (raw.includes("\r")) fail("CR in output: LF line ends only");
  if (!raw.endsWith("\n\n")) fail(`output does not end with a blank line: …${JSON.stringify(raw.slice(-80))}`);
  const parts = raw.slice(0, -2).split("\n\n");
  let done = false;
  const frames: ChatFrame[] = [];
  for (const p of parts) {
    if (done) fail("a frame after data: [DONE]");
    // SSE comments (keep-alives) between frames: one line each.
    if (p.startsWith(":") && !p.includes("\n")) continue;
    if (!p.startsWith("data: ") || p.includes("\n")) fail(`frame is not one data: line: ${p.slice(0, 120)}`);
    const data = p.slice(6);
    if (data === "[DONE]") done = true;
    else frames.push(JSON.parse(data) as ChatFrame);
  }
  return { frames, done };
}

export function checkChatStream(frames: ChatFrame[], done: boolean, { includeUsage = false }: { includeUsage?: boolean } = {}): ChatStreamSummary {
  const s: ChatStreamSummary = { chunks: [], error: null, content: "", refusal: "", reasoning: "", calls: [], finishReason: null, usage: undefined };
  if (frames.length === 0) fail("no frames");
  frames.forEach((f, i) => {
    if ("error" in f) {
      if (i !== frames.length - 1) fail("error frame is not the last frame");
      const e = f.error;
      if (typeof e?.message !== "string" || e.message === "" || typeof e.type !== "string" || !("param" in e) || !("code" in e)) fail(`error frame not in OpenAI's shape: ${JSON.stringify(f)}`);
      s.error = e;
      return;
    }
    s.chunks.push(f);
  });
  if (s.error && done) fail("data: [DONE] after an error frame");
  if (!s.error && !done) fail("stream ends with neither [DONE] nor an error frame");
  const first = s.chunks[0];
  if (!first) fail("no chunk before the error");
  if (!/^chatcmpl-/.test(first.id)) fail(`id ${first.id} is not chatcmpl-…`);
  let sawContent = false;
  let finishAt = -1;
  s.chunks.forEach((c, i) => {
    if (c.object !== "chat.completion.chunk") fail(`object ${String(c.object)}`);
    if (c.id !== first.id || c.created !== first.created || c.model !== first.model) fail(`chunk ${i} changes id, created or model`);
    if (typeof c.created !== "number" || typeof c.model !== "string") fail(`chunk ${i}: created/model types`);
    if (c.choices.length === 0) {
      if (!includeUsage || i !== s.chunks.length - 1 || finishAt < 0) fail(`chunk ${i}: an empty-choices chunk that is not the usage chunk`);
      const u = c.usage;
      if (!u || [u.prompt_tokens, u.completion_tokens, u.total_tokens, u.prompt_tokens_details?.cached_tokens, u.completion_tokens_details?.reasoning_tokens].some((n) => typeof n !== "number")) fail(`usage chunk shape ${JSON.stringify(u)}`);
      s.usage = u;
      return;
    }
    if (includeUsage ? c.usage !== null : "usage" in c) fail(`chunk ${i}: usage ${JSON.stringify(c.usage)} (includeUsage ${includeUsage})`);
    if (c.choices.length !== 1 || c.choices[0]!.index !== 0) fail(`chunk ${i}: not one choice with index 0`);
    const { delta, finish_reason } = c.choices[0]!;
    if (finishAt >= 0) fail(`chunk ${i} after the finish_reason chunk`);
    if ((i === 0) !== (delta.role === "assistant") || (i > 0 && "role" in delta)) fail(`chunk ${i}: role only on the first chunk`);
    if (finish_reason !== null) {
      if (Object.keys(delta).length) fail(`finish chunk with a delta ${JSON.stringify(delta)}`);
      finishAt = i;
      s.finishReason = finish_reason;
    }
    if (typeof delta.content === "string" && delta.content !== "") {
      sawContent = true;
      s.content += delta.content;
    }
    if (typeof delta.refusal === "string") s.refusal += delta.refusal;
    if (typeof delta.reasoning_content === "string") {
      if (sawContent) fail(`chunk ${i}: reasoning_content after content`);
      s.reasoning += delta.reasoning_content;
    }
    for (const tc of delta.tool_calls ?? []) {
      const known = s.calls[tc.index];
      if (!known) {
        if (tc.index !== s.calls.length) fail(`tool call index ${tc.index} out of order (expected ${s.calls.length})`);
        if (typeof tc.id !== "string" || tc.id === "" || tc.type !== "function" || typeof tc.function.name !== "string" || tc.function.name === "") fail(`first piece of tool call ${tc.index} lacks id/type/name: ${JSON.stringify(tc)}`);
        s.calls.push({ id: tc.id, name: tc.function.name, arguments: tc.function.arguments ?? "" });
      } else {
        if ("id" in tc || "type" in tc || "name" in tc.function) fail(`later piece of tool call ${tc.index} repeats id/type/name: ${JSON.stringify(tc)}`);
        if (typeof tc.function.arguments !== "string") fail(`tool call piece without arguments text`);
        known.arguments += tc.function.arguments;
      }
    }
  });
  if (!s.error) {
    if (finishAt < 0) fail("clean end without a finish_reason");
    if (includeUsage && s.usage === undefined) fail("include_usage without a usage chunk");
    if (s.finishReason === "tool_calls" && s.calls.length === 0) fail("finish_reason tool_calls without calls");
    if (s.finishReason === "stop" && s.calls.length > 0) fail("finish_reason stop after tool calls");
  } else if (finishAt >= 0) fail("a finish_reason before an error frame");
  return s;
}

/** Raw SSE text → checked summary. */
export function checkChatSse(raw: string, options: { includeUsage?: boolean } = {}): ChatStreamSummary {
  const { frames, done } = parseChatSse(raw);
  return checkChatStream(frames, done, options);
}
