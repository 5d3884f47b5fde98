/**
 * Where a reasoning item came from, written into its id so that it can go
 * back to the same upstream, in the same field, on a later request: no
 * configuration, no stored state. DeepSeek's thinking mode answers 400 unless
 * each assistant turn of a tool loop carries its `reasoning_content` back;
 * Groq, Cerebras and OpenAI-strict servers answer 400 to the same field. The
 * only safe rule is "back to where it came from, nowhere else".
 *
 * Id: `rs_<random>_<field code><upstream tag>`, e.g. `rs_9f…0001_c1a2b3c4d`.
 * The tag is a short hash of the upstream's identity (the Worker uses base URL
 * and upstream model); it is a routing hint, not a secret, and a client that
 * forges one can only make the bridge send that client's own text to that
 * client's own upstream.
 */

/** The upstream field reasoning streamed in; `think` is a `<think>` block inside `content`. */
export type ReasoningField = "reasoning_content" | "reasoning" | "reasoning_details" | "think";

export interface ReasoningOrigin {
  field: ReasoningField;
  /** `upstreamTag` of the upstream that produced it. */
  upstream: string;
}

const CODES: Record<ReasoningField, string> = { reasoning_content: "c", reasoning: "r", reasoning_details: "d", think: "t" };
const FIELDS: Record<string, ReasoningField> = { c: "reasoning_content", r: "reasoning", d: "reasoning_details", t: "think" };
const MARK = /_([crdt])([0-9a-f]{8})$/;

/** FNV-1a, 32 bits, as 8 hex digits: synchronous and short; collisions only cost a dropped reasoning item. */
export function upstreamTag(identity: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < identity.length; i++) {
    h ^= identity.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

export function isReasoningField(v: unknown): v is ReasoningField {
  return typeof v === "string" && Object.hasOwn(CODES, v);
}

/** `id` with the origin appended. */
export function markReasoningId(id: string, origin: ReasoningOrigin): string {
  return `${id}_${CODES[origin.field]}${origin.upstream}`;
}

/** `id` without an origin mark (the id as the random generator made it). */
export function unmarkedId(id: string): string {
  return id.replace(MARK, "");
}

/** The origin written into a reasoning item's id, or undefined for ids this bridge did not mark (OpenAI's, other servers'). */
export function reasoningOrigin(id: unknown): ReasoningOrigin | undefined {
  if (typeof id !== "string" || !id.startsWith("rs_")) return undefined;
  const m = MARK.exec(id);
  return m ? { field: FIELDS[m[1]!]!, upstream: m[2]! } : undefined;
}

/** A reasoning item's text: its raw `reasoning_text` content when the client kept it, else its summary; "" when neither has text. */
export function reasoningText(item: { content?: unknown; summary?: unknown }): string {
  return partsText(item.content) || partsText(item.summary);
}

function partsText(parts: unknown): string {
  return Array.isArray(parts) ? parts.map((p) => (typeof p?.text === "string" ? p.text : "")).join("") : "";
}

/**
 * The fields a chat upstream reads reasoning text back from. `reasoning_details`
 * (OpenRouter) go back whole as provider state instead (`provider-state.ts`),
 * and `<think>` text was never a field: neither comes back as text.
 */
export type ReasoningReturnField = "reasoning_content" | "reasoning";

export function returnField(field: ReasoningField): ReasoningReturnField | undefined {
  return field === "reasoning_content" || field === "reasoning" ? field : undefined;
}
