/**
 * A scripted Responses API server (`POST /v1/responses`), the upstream of the
 * reverse direction: the model name picks the script, as in
 * `scripted-upstream.ts` (which hands `/responses` requests here, so one
 * server plays both kinds of upstream). Streams are built with the fixtures'
 * builder, in OpenAI's event order and shapes.
 */
import { Stream, usage } from "../fixtures/responses-streams.ts";

interface ResponsesBody {
  model?: string;
  stream?: boolean;
  input?: string | Array<{ type?: string; role?: string; content?: unknown; output?: unknown }>;
  tools?: Array<{ type: string; name: string; parameters?: { properties?: Record<string, { type?: string }> } }>;
}

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openaiError(status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { message, type, param: null, code } }), { status, headers: { "content-type": "application/json", ...headers } });
}

/** The answer the script gives, as a builder (its events and final response). */
function script(body: ResponsesBody): Stream {
  const model = body.model ?? "";
  const s = new Stream(`resp_scripted${Math.random().toString(16).slice(2, 10)}`, model);
  const input = Array.isArray(body.input) ? body.input : [];
  const last = input.at(-1);
  if (last?.type === "function_call_output") return s.message("msg_after_tool", ["The tool", " said: ", String(last.output)]).completed(usage(40, 8));
  if (model.includes("reasoning")) s.reasoning("rs_scripted", [["The user wants", " a greeting."], ["Keep it short."]]);
  if (model.includes("tools") && body.tools?.length) {
    const tools = model.includes("parallel") ? body.tools.slice(0, 2) : body.tools.slice(0, 1);
    tools.forEach((t, i) => {
      const key = Object.keys(t.parameters?.properties ?? {})[0] ?? "city";
      const args = JSON.stringify({ [key]: "Paris" });
      s.call(`fc_scripted_${i}`, `call_scripted_${i}`, t.name, [args.slice(0, 5), args.slice(5)]);
    });
    return s.completed(usage(30, 12));
  }
  if (model.includes("refusal")) return s.message("msg_refusal", ["I can't", " help with that."], "refusal").completed(usage(10, 5));
  const pieces = ["Hello", " from the", " responses", " upstream."];
  if (model.includes("length")) return s.message("msg_len", pieces.slice(0, 2)).completed(usage(10, 2), "incomplete", { incomplete_details: { reason: "max_output_tokens" } });
  if (model.includes("failed")) return s.message("msg_fail", pieces.slice(0, 2)).failed("server_error", "The server had an error while processing your request.");
  if (model.includes("error-event")) return s.message("msg_err", pieces.slice(0, 1)).push({ type: "error", code: "rate_limit_exceeded", message: "Rate limit reached. Please try again in 20s.", param: null });
  return s.message("msg_scripted", pieces).completed(usage(11, 7, 3, model.includes("reasoning") ? 4 : 0));
}

/** What it stores, as OpenAI does (every response, and conversations): shared by whoever calls it with its key. */
const stored = new Map<string, Record<string, unknown>>();
const conversations = new Map<string, Record<string, unknown>>();

/** One token per word of the input's text (string input, or messages' string / text-part content). */
function inputWords(body: ResponsesBody): number {
  const text = (c: unknown): string => (typeof c === "string" ? c : Array.isArray(c) ? c.map((p: { text?: unknown }) => (typeof p?.text === "string" ? p.text : "")).join(" ") : "");
  const all = typeof body.input === "string" ? body.input : (body.input ?? []).map((i) => text(i.content)).join(" ");
  return all.split(/\s+/).filter(Boolean).length;
}

const notFound = (kind: "Response" | "Conversation", id: string) => openaiError(404, `${kind} with id '${id}' not found.`, "invalid_request_error", null);

/**
 * The stored-state paths of a Responses server: `POST /responses/input_tokens`, `GET`/`DELETE /responses/{id}`,
 * `GET /responses/{id}/input_items`, `POST /responses/{id}/cancel`, `POST /conversations`, and
 * `GET`/`POST`/`DELETE /conversations/{id}[/items…]`. Null for a path it does not serve.
 */
export function scriptedResponsesPath(path: string, method: string, body: Record<string, unknown>): Response | null {
  if (path.endsWith("/responses/input_tokens") && method === "POST") return Response.json({ object: "response.input_tokens", input_tokens: inputWords(body as ResponsesBody) });
  let m = /\/responses\/([^/]+)(\/input_items|\/cancel)?$/.exec(path);
  if (m) {
    const response = stored.get(m[1]!);
    if (!response) return notFound("Response", m[1]!);
    if (m[2] === "/input_items") return Response.json({ object: "list", data: [], first_id: null, last_id: null, has_more: false });
    if (m[2] === "/cancel") return openaiError(400, "Only responses created with background=true can be cancelled.", "invalid_request_error", null);
    if (method === "DELETE") {
      stored.delete(m[1]!);
      return Response.json({ id: m[1], object: "response", deleted: true });
    }
    return Response.json(response);
  }
  if (path.endsWith("/conversations") && method === "POST") {
    const conversation = { id: `conv_scripted${Math.random().toString(16).slice(2, 10)}`, object: "conversation", created_at: 1_761_000_000, metadata: body.metadata ?? null };
    conversations.set(conversation.id, conversation);
    return Response.json(conversation);
  }
  m = /\/conversations\/([^/]+)(\/items.*)?$/.exec(path);
  if (m) {
    const conversation = conversations.get(m[1]!);
    if (!conversation) return notFound("Conversation", m[1]!);
    if (m[2]) return Response.json({ object: "list", data: [], first_id: null, last_id: null, has_more: false });
    if (method === "DELETE") {
      conversations.delete(m[1]!);
      return Response.json({ id: m[1], object: "conversation.deleted", deleted: true });
    }
    return Response.json(conversation);
  }
  return null;
}

/** `POST …/responses` (streamed or not). `body` is the parsed request, `headers` its headers. */
export async function scriptedResponses(body: ResponsesBody): Promise<Response> {
  const model = body.model ?? "";
  if (model.includes("429")) return openaiError(429, "Rate limit reached for requests. Please try again in 7s.", "requests", "rate_limit_exceeded", { "retry-after": "7", "x-ratelimit-remaining-requests": "0" });
  if (model.includes("400")) return openaiError(400, "Unsupported parameter: 'temperature' is not supported with this model.", "invalid_request_error", "unsupported_parameter");
  const s = script(body);
  const final = s.events.at(-1)!["response"] as Record<string, unknown> | undefined;
  if (final) stored.set(s.id, final);
  if (!body.stream) {
    const last = s.events.at(-1)!;
    return Response.json(last["response"] ?? { error: { message: String(last["message"]), type: "server_error", code: "server_error", param: null } });
  }
  const frames = s.events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
  // `…reset`: the connection drops after a few events; `…hang`: it goes silent.
  const cutAt = model.includes("reset") || model.includes("hang") ? 5 : Infinity;
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i >= cutAt) {
        if (model.includes("reset")) return controller.error(new Error("connection reset"));
        await sleep(3_000);
        return controller.close();
      }
      const f = frames[i++];
      if (f === undefined) return controller.close();
      controller.enqueue(encoder.encode(f));
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream", "x-ratelimit-remaining-requests": "99" } });
}
