import type { ChatContentPart, ChatMessage } from "../types/chat.ts";

// Chat messages reshaped for the chat templates local servers render them with (`toChatRequest`'s last step).

/**
 * How much the message list is reshaped for the upstream's chat template.
 * - `"join"` (always safe, the default): consecutive text messages of the same
 *   role (user + user, system + system) become one.
 * - `"strict"`: what Qwen, Mistral, Gemma and Llama-2-style templates accept:
 *   one system message, first (instructions and every leading system or
 *   developer message); later system or developer text carried as a note in
 *   the user turn at its place; user and assistant turns alternating (tool
 *   results right after the assistant message that called them), starting
 *   with a user turn.
 * - `"no-system"`: `"strict"`, with the system text at the head of the first
 *   user turn, for templates without a system role at all (Gemma 1, Mistral v0.1).
 */
export type TemplateShape = "join" | "strict" | "no-system";

type Assistant = Extract<ChatMessage, { role: "assistant" }>;
type SystemMessage = Extract<ChatMessage, { role: "system" | "developer" }>;

/**
 * The messages in `shape`. Pure (the input is not changed) and idempotent. No
 * text, tool call, tool result or image is dropped, and they keep their order,
 * except that in the strict shapes user-side text that came between tool calls
 * and their results moves to right after the results.
 */
export function shapeMessages(messages: readonly ChatMessage[], shape: TemplateShape = "join"): ChatMessage[] {
  if (shape === "join") return joinSameRole(messages, false);
  let start = 0;
  const system: SystemMessage[] = [];
  for (let m = messages[0]; m && isSystem(m); m = messages[++start]) system.push(m);
  const turns = joinSameRole(toolResultsFirst(messages.slice(start)), true);
  if (turns.length && turns[0]!.role !== "user") turns.unshift({ role: "user", content: CONTINUED });
  if (!system.length) return turns;
  const head = system.map((m) => m.content).reduce<SystemMessage["content"]>((a, b) => joinContent<string | ChatContentPart[]>(a, b) as SystemMessage["content"], "");
  if (shape === "strict") return [{ role: "system", content: head }, ...turns];
  const firstUser = turns.findIndex((m) => m.role === "user");
  if (firstUser < 0) return [{ role: "user", content: head }, ...turns];
  turns[firstUser] = { role: "user", content: joinContent<string | ChatContentPart[]>(head, turns[firstUser]!.content as string | ChatContentPart[]) };
  return turns;
}

/**
 * Later system text as a user-side note (joining then folds it into the user turn beside it),
 * and any user-side message that came between tool calls and their results moved after them.
 */
function toolResultsFirst(messages: readonly ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  let held: ChatMessage[] = [];
  messages.forEach((m, i) => {
    if (m.role === "tool") return void out.push(m);
    const note: ChatMessage = isSystem(m) ? { role: "user", content: m.content } : m;
    const last = out.at(-1);
    const inToolRun = last?.role === "tool" || (last?.role === "assistant" && !!last.tool_calls?.length);
    if (note.role === "user" && inToolRun && nextTurn(messages, i + 1)?.role === "tool") {
      held.push(note);
      return;
    }
    out.push(...held, note);
    held = [];
  });
  return [...out, ...held];
}

/** The next message that is not user-side text. */
function nextTurn(messages: readonly ChatMessage[], from: number): ChatMessage | undefined {
  for (let i = from; i < messages.length; i++) if (messages[i]!.role !== "user" && !isSystem(messages[i]!)) return messages[i];
  return undefined;
}

/** The user turn put first when a conversation starts with the assistant (some templates require a user turn first). */
const CONTINUED = "(continued)";

function isSystem(m: ChatMessage): m is SystemMessage {
  return m.role === "system" || m.role === "developer";
}

/** Consecutive user, system or developer messages become one; with `assistants`, consecutive assistant messages too. */
function joinSameRole(messages: readonly ChatMessage[], assistants: boolean): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    const prev = out.at(-1);
    if (prev && prev.role === m.role) {
      if (prev.role === "assistant" && assistants) {
        out[out.length - 1] = joinAssistants(prev, m as Assistant);
        continue;
      }
      if (prev.role === "user" || prev.role === "system" || prev.role === "developer") {
        out[out.length - 1] = { role: prev.role, content: joinContent(prev.content, m.content as typeof prev.content) } as ChatMessage;
        continue;
      }
    }
    out.push(m);
  }
  return out;
}

/** Two contents as one: strings joined by a blank line; with any parts, the parts of both in order. */
function joinContent<T extends string | ChatContentPart[]>(a: T, b: T): T {
  if (typeof a === "string" && typeof b === "string") return (a && b ? `${a}\n\n${b}` : a || b) as T;
  return [...parts(a), ...parts(b)] as T;
}

function parts(content: string | ChatContentPart[]): ChatContentPart[] {
  if (typeof content !== "string") return content;
  return content ? [{ type: "text", text: content }] : [];
}

/** One assistant turn from two in a row: text, reasoning and tool calls each kept in order. */
function joinAssistants(a: Assistant, b: Assistant): Assistant {
  const out: Assistant = { ...a, ...b };
  out.content = a.content && b.content ? `${a.content}\n\n${b.content}` : (a.content || b.content) ?? null;
  const calls = [...(a.tool_calls ?? []), ...(b.tool_calls ?? [])];
  if (calls.length) out.tool_calls = calls;
  for (const k of ["refusal", "reasoning_content", "reasoning"] as const) {
    const joined = (a[k] ?? "") + (b[k] ?? "");
    if (a[k] !== undefined || b[k] !== undefined) out[k] = joined;
  }
  if (a.reasoning_details || b.reasoning_details) out.reasoning_details = [...(a.reasoning_details ?? []), ...(b.reasoning_details ?? [])];
  return out;
}
