/**
 * What the provider-state upstreams (`scripted-gemini.ts`, `scripted-openrouter.ts`)
 * share: the request as they read it, the turn they play (call a tool, then answer
 * with what it returned), and SSE framing. Each one adds its provider's state and its
 * provider's refusals on top.
 */
import { argsFor } from "./scripted-upstream.ts";

export interface ToolCallIn {
  id: string;
  type?: string;
  function: { name: string; arguments: string };
  extra_content?: { google?: { thought_signature?: unknown } };
}

export interface MessageIn {
  role: string;
  content?: unknown;
  tool_calls?: ToolCallIn[];
  tool_call_id?: string;
  reasoning_details?: Array<Record<string, unknown>>;
  [field: string]: unknown;
}

export interface ChatBodyIn {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  messages?: MessageIn[];
  tools?: Array<{ function: { name: string; parameters?: { properties?: Record<string, { type?: string }>; required?: string[] } } }>;
  tool_choice?: unknown;
  [field: string]: unknown;
}

export type Plan = { text: string } | { calls: Array<{ name: string; arguments: string }> };

/**
 * The turn to play: after a tool result, an answer quoting it (a `…twice…` model calls again first, once); else, with tools offered, a call of the
 * tool named after `@` in the model (`gemini-3-pro-preview@exec_command`), or the first (two, for a
 * `…parallel…` model); else a greeting.
 */
export function plan(body: ChatBodyIn): Plan {
  const model = body.model ?? "";
  const last = body.messages?.at(-1);
  // A `…twice…` model takes two steps of tool calls in a turn before it answers.
  const steps = currentTurn(body.messages ?? []).filter((m) => m.role === "assistant" && m.tool_calls?.length).length;
  const more = model.includes("twice") && steps < 2;
  if (last?.role === "tool" && !more) return { text: `The tool said: ${typeof last.content === "string" ? last.content : JSON.stringify(last.content)}` };
  const tools = body.tools ?? [];
  if (tools.length && body.tool_choice !== "none") {
    const wanted = model.split("@")[1];
    const chosen = wanted ? tools.filter((t) => t.function.name === wanted) : tools.slice(0, model.includes("parallel") ? 2 : 1);
    if (chosen.length) return { calls: chosen.map((t) => ({ name: t.function.name, arguments: argsFor(t) })) };
  }
  return { text: "Hello from the scripted provider." };
}

/** The messages of the turn in progress: everything after the last user message. */
export function currentTurn(messages: readonly MessageIn[]): MessageIn[] {
  let i = messages.length - 1;
  while (i >= 0 && messages[i]!.role !== "user") i--;
  return messages.slice(i + 1);
}

export async function readBody(request: Request): Promise<ChatBodyIn> {
  const text = await request.text();
  return text ? (JSON.parse(text) as ChatBodyIn) : {};
}

const encoder = new TextEncoder();

/** Chunks as SSE, one frame per pull, ending `data: [DONE]`. */
export function sseResponse(chunks: readonly unknown[]): Response {
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const c = chunks[i++];
      if (c === undefined) {
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(`data: ${JSON.stringify(c)}\n\n`));
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

export const USAGE = { prompt_tokens: 21, completion_tokens: 9, total_tokens: 30 };
