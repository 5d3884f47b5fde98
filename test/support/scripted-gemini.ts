/**
 * A scripted Gemini 3 behind Google's OpenAI-compatible endpoint, as it
 * answers (Google's "OpenAI compatibility" and "Thought signatures" pages):
 *
 * - each tool call streams whole in one chunk, with an `id` and no `index`;
 *   the first call of each step carries `extra_content.google.thought_signature`
 *   (in the non-streamed message, on that `tool_calls` entry alike); a text
 *   answer is signed too, in `delta.extra_content` of a last chunk with no
 *   content (`message.extra_content` when not streamed), which Google asks back
 *   but does not enforce;
 * - a request whose current turn (after the last user message) holds a step
 *   whose first call lacks its signature is refused with Google's 400, as a
 *   JSON array; a signature it never issued, likewise. Google's documented
 *   stand-ins (`skip_thought_signature_validator`,
 *   `context_engineering_is_the_way_to_go`) pass, as on the real endpoint;
 * - with `refuseFields`, OpenAI-only fields (`prompt_cache_key` …) get the
 *   array-wrapped `Invalid JSON payload received. Unknown name …` 400.
 */
import { type ChatBodyIn, currentTurn, plan, readBody, sseResponse, USAGE } from "./scripted-provider.ts";

export const GEMINI_STAND_INS = ["skip_thought_signature_validator", "context_engineering_is_the_way_to_go"];

/** Fields Google's OpenAI endpoint does not know (it answers 400 naming the first). */
export const UNKNOWN_TO_GOOGLE = ["prompt_cache_key", "prompt_cache_retention", "safety_identifier", "service_tier", "store", "metadata", "verbosity"];

export interface ScriptedGemini {
  handler(request: Request): Promise<Response>;
  /** Every chat request received, in order. */
  requests: ChatBodyIn[];
  /** How many it refused, and why (Google's message). */
  refusals: string[];
}

function googleError(status: number, message: string, grpc: string): Response {
  return new Response(JSON.stringify([{ error: { code: status, message, status: grpc } }], null, 2), { status, headers: { "content-type": "application/json" } });
}

export function scriptedGemini(options: { refuseFields?: boolean } = {}): ScriptedGemini {
  const issued = new Set<string>();
  const requests: ChatBodyIn[] = [];
  const refusals: string[] = [];
  let n = 0;

  const refuse = (message: string) => {
    refusals.push(message);
    return googleError(400, message, "INVALID_ARGUMENT");
  };

  /** Google's check: the first call of each step of the current turn carries a signature it issued (or a stand-in). */
  function signatureProblem(body: ChatBodyIn): string | undefined {
    const turn = currentTurn(body.messages ?? []);
    for (const [i, m] of turn.entries()) {
      const first = m.role === "assistant" ? m.tool_calls?.[0] : undefined;
      if (!first) continue;
      const sig = first.extra_content?.google?.thought_signature;
      const position = (body.messages ?? []).indexOf(turn[i]!) + 1;
      if (typeof sig !== "string") {
        return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${first.function.name}\` , position ${position}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`;
      }
      if (!issued.has(sig) && !GEMINI_STAND_INS.includes(sig)) return `Corrupted thought signature.`;
    }
    return undefined;
  }

  async function handler(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.endsWith("/chat/completions")) return googleError(404, `Unknown path ${url.pathname}`, "NOT_FOUND");
    const body = await readBody(request);
    requests.push(body);
    const unknown = options.refuseFields ? UNKNOWN_TO_GOOGLE.find((f) => f in body) : undefined;
    if (unknown) return refuse(`Invalid JSON payload received. Unknown name "${unknown}": Cannot find field.`);
    const problem = signatureProblem(body);
    if (problem) return refuse(problem);

    const model = body.model ?? "gemini-3-pro-preview";
    const base = { id: `gemini-${++n}`, object: "chat.completion.chunk", created: 1_764_000_000, model };
    const p = plan(body);
    const calls =
      "calls" in p
        ? p.calls.map((c, i) => {
            const call: Record<string, unknown> = { id: `function-call-${n}-${i}`, type: "function", function: c };
            if (i === 0) {
              const sig = `gemini-sig-${n}-${crypto.randomUUID()}`;
              issued.add(sig);
              call.extra_content = { google: { thought_signature: sig } };
            }
            return call;
          })
        : null;
    const textSignature = { google: { thought_signature: `gemini-text-sig-${n}` } };
    if (!body.stream) {
      const message = calls ? { role: "assistant", content: null, tool_calls: calls } : { role: "assistant", content: (p as { text: string }).text, extra_content: textSignature };
      return Response.json({ ...base, object: "chat.completion", choices: [{ index: 0, message, finish_reason: calls ? "tool_calls" : "stop" }], usage: USAGE });
    }
    const chunks: unknown[] = calls
      ? calls.map((c, i) => ({ ...base, choices: [{ index: 0, delta: { role: "assistant", tool_calls: [c] }, ...(i === calls.length - 1 ? { finish_reason: "tool_calls" } : {}) }] }))
      : [
          { ...base, choices: [{ index: 0, delta: { role: "assistant", content: (p as { text: string }).text.slice(0, 8) } }] },
          { ...base, choices: [{ index: 0, delta: { role: "assistant", content: (p as { text: string }).text.slice(8) } }] },
          { ...base, choices: [{ index: 0, delta: { role: "assistant", extra_content: textSignature }, finish_reason: "stop" }] },
        ];
    if (body.stream_options?.include_usage) chunks.push({ ...base, choices: [], usage: USAGE });
    return sseResponse(chunks);
  }

  return { handler, requests, refusals };
}
