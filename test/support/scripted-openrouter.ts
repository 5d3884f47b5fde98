/**
 * A scripted Anthropic model with reasoning behind OpenRouter, as it answers
 * (OpenRouter's "Reasoning tokens" page, "Preserving reasoning blocks"):
 *
 * - reasoning streams as `reasoning` text and `reasoning_details` pieces
 *   together: a `reasoning.text` entry (index 0) in pieces, its `signature` on
 *   the last piece, then a `reasoning.encrypted` entry (index 1, redacted
 *   thinking); then the tool call or the answer;
 * - Anthropic requires the thinking blocks back on the assistant message of
 *   the tool call in progress (the last assistant message before the trailing
 *   tool results), unchanged: a missing one is refused with Anthropic's words,
 *   a changed one (text or signature not as issued) too, each through
 *   OpenRouter's error envelope (`Provider returned error`, the provider's
 *   body in `metadata.raw`);
 * - `reasoning: {"enabled": false}` turns thinking off for the request, as on OpenRouter.
 */
import { type ChatBodyIn, type MessageIn, plan, readBody, sseResponse, USAGE } from "./scripted-provider.ts";

export interface ScriptedOpenRouter {
  handler(request: Request): Promise<Response>;
  requests: ChatBodyIn[];
  /** Anthropic's messages for each refused request. */
  refusals: string[];
}

const FORMAT = "anthropic-claude-v1";

export const ANTHROPIC_THINKING_REQUIRED = (index: number) =>
  `messages.${index}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`tool_use\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking`;

function openrouterError(status: number, anthropicMessage: string): Response {
  const raw = JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: anthropicMessage } });
  return Response.json({ error: { message: "Provider returned error", code: status, metadata: { raw, provider_name: "Anthropic" } }, user_id: "user_scripted" }, { status });
}

/** The assistant message whose tool calls the trailing tool results answer (Anthropic's "final assistant message"), with its index in Anthropic's messages. */
function lastToolTurn(messages: readonly MessageIn[]): { message: MessageIn; index: number } | undefined {
  const chat = messages.filter((m) => m.role !== "system" && m.role !== "developer");
  let i = chat.length - 1;
  while (i >= 0 && chat[i]!.role === "tool") i--;
  if (i === chat.length - 1 || i < 0 || chat[i]!.role !== "assistant" || !chat[i]!.tool_calls?.length) return undefined;
  // Anthropic's index: consecutive tool results are one user message.
  const index = chat.slice(0, i).filter((m, j, a) => !(m.role === "tool" && a[j - 1]?.role === "tool")).length;
  return { message: chat[i]!, index };
}

export function scriptedOpenRouter(): ScriptedOpenRouter {
  /** signature → the thinking text it signs; encrypted data issued. */
  const signed = new Map<string, string>();
  const redacted = new Set<string>();
  const requests: ChatBodyIn[] = [];
  const refusals: string[] = [];
  let n = 0;

  function thinkingProblem(body: ChatBodyIn): string | undefined {
    const last = lastToolTurn(body.messages ?? []);
    if (!last) return undefined;
    const details = last.message.reasoning_details ?? [];
    if (!details.length) return ANTHROPIC_THINKING_REQUIRED(last.index);
    for (const [j, d] of details.entries()) {
      const ok = d.type === "reasoning.text" ? typeof d.signature === "string" && signed.get(d.signature) === d.text : d.type === "reasoning.encrypted" && redacted.has(String(d.data));
      if (!ok) return `messages.${last.index}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
    }
    return undefined;
  }

  async function handler(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.endsWith("/chat/completions")) return Response.json({ error: { message: "Not Found", code: 404 } }, { status: 404 });
    const body = await readBody(request);
    requests.push(body);
    // OpenRouter's switch: `reasoning: {"enabled": false}` turns thinking off (no check, no reasoning).
    const thinks = (body.reasoning as { enabled?: unknown } | undefined)?.enabled !== false;
    const problem = thinks ? thinkingProblem(body) : undefined;
    if (problem) {
      refusals.push(problem);
      return openrouterError(400, problem);
    }
    const model = body.model ?? "anthropic/claude-sonnet-4.5";
    const id = `gen-${++n}`;
    const thinking = `Turn ${n}: the user wants the weather.`;
    const signature = `or-sig-${n}-${crypto.randomUUID()}`;
    const data = `redacted-${n}-${crypto.randomUUID()}`;
    signed.set(signature, thinking);
    redacted.add(data);
    const p = plan(body);
    const calls = "calls" in p ? p.calls.map((c, i) => ({ index: i, id: `toolu_${n}_${i}`, type: "function", function: c })) : null;
    const details = [
      { type: "reasoning.text", text: thinking, signature, id: null, format: FORMAT, index: 0 },
      { type: "reasoning.encrypted", data, id: null, format: FORMAT, index: 1 },
    ];
    if (!body.stream) {
      const reasoning = thinks ? { reasoning: thinking, reasoning_details: details } : {};
      const message = { role: "assistant", content: calls ? null : (p as { text: string }).text, ...reasoning, ...(calls ? { tool_calls: calls } : {}) };
      return Response.json({ id, provider: "Anthropic", model, object: "chat.completion", created: 1_764_000_000, choices: [{ index: 0, message, finish_reason: calls ? "tool_calls" : "stop" }], usage: USAGE });
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({ id, provider: "Anthropic", model, object: "chat.completion.chunk", created: 1_764_000_000, choices: [{ index: 0, delta: { role: "assistant", ...delta }, finish_reason: finish, native_finish_reason: finish }] });
    const half = Math.floor(thinking.length / 2);
    const piece = (text: string, extra: Record<string, unknown> = {}) => ({ type: "reasoning.text", text, id: null, format: FORMAT, index: 0, ...extra });
    const chunks: unknown[] = thinks
      ? [
          chunk({ content: "", reasoning: thinking.slice(0, half), reasoning_details: [piece(thinking.slice(0, half))] }),
          chunk({ content: "", reasoning: thinking.slice(half), reasoning_details: [piece(thinking.slice(half))] }),
          chunk({ content: "", reasoning: "", reasoning_details: [piece("", { signature })] }),
          chunk({ content: "", reasoning_details: [details[1]] }),
        ]
      : [];
    if (calls) {
      for (const c of calls) {
        chunks.push(chunk({ content: null, tool_calls: [{ ...c, function: { name: c.function.name, arguments: "" } }] }));
        chunks.push(chunk({ content: null, tool_calls: [{ index: c.index, function: { arguments: c.function.arguments } }] }));
      }
      chunks.push(chunk({ content: null }, "tool_calls"));
    } else {
      chunks.push(chunk({ content: (p as { text: string }).text }), chunk({ content: "" }, "stop"));
    }
    if (body.stream_options?.include_usage) chunks.push({ id, provider: "Anthropic", model, object: "chat.completion.chunk", created: 1_764_000_000, choices: [], usage: USAGE });
    return sseResponse(chunks);
  }

  return { handler, requests, refusals };
}
