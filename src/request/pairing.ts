import { invalidRequest } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";

/** Call item types and output item types, with the words OpenAI's messages use for them. */
// Codex's client-executed tool search pairs the same way (a `tool_search_call` answered by its `tool_search_output`).
const CALLS: Record<string, string> = { function_call: "function call", custom_tool_call: "custom tool call", tool_search_call: "tool search call" };
const OUTPUTS: Record<string, string> = { function_call_output: "function call output", custom_tool_call_output: "custom tool call output", tool_search_output: "tool search output" };

/**
 * Tool-call pairing as OpenAI checks it, before any model runs: run it on the
 * whole conversation (after `previous_response_id` and `item_reference` are
 * expanded), since a call and its output are often on either side of that seam.
 *
 * - An output (`function_call_output`, `custom_tool_call_output`) needs a call
 *   with its `call_id` earlier in the conversation:
 *   `No tool call found for function call output with call_id X.`
 * - A call needs its output before the conversation moves on: before the next
 *   user or assistant message and before the end of the input, where the model
 *   would take its turn: `No tool output found for function call X.`
 *   A developer or system message between them is an instruction, not a turn
 *   (a client's permission change while a tool ran): it is let through, and
 *   the translation places it after the results.
 *   Other items (reasoning, further calls and outputs of the same turn) may
 *   come between a call and its output, as parallel calls do.
 *
 * Each is a 400 with `param: "input"` and `code: null`, OpenAI's exact words
 * (the custom-tool forms: OpenAI's for a call without output; the same form
 * for an output without call, where no OpenAI text is known).
 */
export function checkToolPairing(items: readonly unknown[]): void {
  /** call_id → what the message calls it, for calls still waiting for their output (insertion order: the first is named). */
  const pending = new Map<string, string>();
  const called = new Set<string>();
  const unanswered = () => {
    const [id, kind] = pending.entries().next().value!;
    return invalidRequest(`No tool output found for ${kind} ${id}.`, "input");
  };
  for (const item of items) {
    if (!isObject(item)) continue;
    const type = typeof item.type === "string" ? item.type : typeof item.role === "string" ? "message" : "";
    const callId = item.call_id;
    if (CALLS[type] && typeof callId === "string") {
      pending.set(callId, CALLS[type]);
      called.add(callId);
    } else if (OUTPUTS[type] && typeof callId === "string") {
      if (!called.has(callId)) throw invalidRequest(`No tool call found for ${OUTPUTS[type]} with call_id ${callId}.`, "input");
      pending.delete(callId);
    } else if (type === "message" && pending.size && item.role !== "developer" && item.role !== "system") throw unanswered();
  }
  if (pending.size) throw unanswered();
}
