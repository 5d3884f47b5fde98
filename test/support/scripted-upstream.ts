/**
 * A scripted Chat Completions server, as a plain `(Request) => Response`
 * function: the worker tests mount it as Miniflare's outbound service, the
 * end-to-end test and `npm run demo` serve it over HTTP. The model name picks
 * the script, so one server plays every upstream behaviour.
 *
 * Its wire format is OpenAI's (chunks with `index`ed tool calls, usage in a
 * trailing chunk when `stream_options.include_usage` is set).
 */

import { scriptedResponses, scriptedResponsesPath } from "./scripted-responses-upstream.ts";
import { openRouterMidStream, refusingUpstream } from "./refusing-upstream.ts";

export const SCRIPTED_KEY = "sk-upstream-secret-0123456789";

interface ChatBody {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  messages?: Array<{ role: string; content?: unknown; tool_calls?: unknown[]; [field: string]: unknown }>;
  tools?: Array<{ function: { name: string; parameters?: { properties?: Record<string, { type?: string }>; required?: string[] } } }>;
  tool_choice?: unknown;
}

/** What the last scripted request looked like, for tests that check what reached the upstream. */
export const seen: { requests: Array<{ url: string; method: string; headers: Record<string, string>; body: unknown }>; cancelled: number } = { requests: [], cancelled: 0 };

const created = 1_761_000_000;

function chunk(model: string, delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id: "chatcmpl-scripted", object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
}

/**
 * The usage it reports: 11 prompt tokens, except for `…count…` models, which count as a tokenizer
 * would (one token per word of every message's text, plus one per message), so a longer prompt bills more.
 */
function usageOf(body: ChatBody): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  if (!(body.model ?? "").includes("count")) return { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
  const words = (text: string) => text.split(/\s+/).filter(Boolean).length;
  const text = (c: unknown): string => (typeof c === "string" ? c : Array.isArray(c) ? c.map((p: { text?: unknown }) => (typeof p?.text === "string" ? p.text : "")).join(" ") : "");
  const prompt = (body.messages ?? []).reduce((n, m) => n + 1 + words(text(m.content)), 0);
  return { prompt_tokens: prompt, completion_tokens: 7, total_tokens: prompt + 7 };
}

function usage(body: ChatBody): string {
  return `data: ${JSON.stringify({ id: "chatcmpl-scripted", object: "chat.completion.chunk", created, model: body.model ?? "", choices: [], usage: usageOf(body) })}\n\n`;
}

/** What the scripted model writes into Codex's freeform `apply_patch` tool (its custom-tool stand-in's `input`). */
export const PATCH = "*** Begin Patch\n*** Add File: bridged.txt\n+written through the bridge\n*** End Patch\n";

/** What it writes into Codex's code-mode `exec` tool (gpt-5.6 and later): JavaScript calling Codex's nested command tool. */
export const EXEC_JS = 'const r = await tools.exec_command({ cmd: "echo bridged" });\ntext(r.output);';

/** The `input` of a freeform tool's stand-in, by tool. */
const FREEFORM_INPUT: Record<string, string> = { apply_patch: PATCH, exec: EXEC_JS };

/** Arguments a model would write for `tool`: its required parameters, filled by type (shared with the provider scripts). */
export function argsFor(tool: NonNullable<ChatBody["tools"]>[number]): string {
  const props = tool.function.parameters?.properties ?? {};
  const args: Record<string, unknown> = {};
  for (const name of tool.function.parameters?.required ?? Object.keys(props).slice(0, 1)) {
    const type = props[name]?.type;
    args[name] = type === "number" || type === "integer" ? 1 : type === "array" ? [] : name === "command" || name === "cmd" ? "echo bridged" : name === "input" && FREEFORM_INPUT[tool.function.name] ? FREEFORM_INPUT[tool.function.name] : "Paris";
  }
  return JSON.stringify(args);
}

type Step = { delta: Record<string, unknown>; finish?: string };

/** DeepSeek's words when a thinking-mode tool loop comes back without its reasoning (400, `invalid_request_error`). */
export const DEEPSEEK_REASONING_REQUIRED = "The `reasoning_content` in the thinking mode must be passed back to the API.";

/**
 * DeepSeek's thinking-mode rule (API docs, "Thinking Mode", tool calls):
 * between two user messages in which the model called tools, every assistant
 * message must carry its `reasoning_content` back, in all later requests.
 */
function missesDeepSeekReasoning(messages: NonNullable<ChatBody["messages"]>): boolean {
  let span: typeof messages = [];
  const broken = () => span.some((m) => m.role === "tool" || m.tool_calls?.length) && span.some((m) => m.role === "assistant" && typeof m.reasoning_content !== "string");
  for (const m of messages) {
    if (m.role !== "user") span.push(m);
    else if (broken()) return true;
    else span = [];
  }
  return broken();
}

/** The message fields OpenAI documents; a strict server (Azure OpenAI, OpenAI itself) rejects any other. */
const KNOWN_MESSAGE_FIELDS = new Set(["role", "content", "name", "tool_calls", "tool_call_id", "refusal"]);

function unknownMessageField(messages: NonNullable<ChatBody["messages"]>): string | undefined {
  for (const m of messages) for (const k of Object.keys(m)) if (!KNOWN_MESSAGE_FIELDS.has(k)) return k;
  return undefined;
}

/** Whether the conversation holds a compaction summary as the bridge puts it in context. */
function readsSummary(body: ChatBody): boolean {
  // At the start of a message, or of one part of a user turn the bridge joined from several messages.
  return (body.messages ?? []).some((m) => typeof m.content === "string" && m.content.split("\n\n").some((part) => part.startsWith("Summary of the earlier part of this conversation")));
}

/** What strict chat templates answer (Qwen 3.5+ and Mistral-style Jinja templates under vLLM; llama.cpp's words for a template without a system role). */
export const TEMPLATE_SYSTEM_FIRST = "System message must be at the beginning.";
export const TEMPLATE_ALTERNATE = "After the optional system message, conversation roles must alternate user/assistant/user/assistant/...";
export const TEMPLATE_NO_SYSTEM = "Only user and assistant roles are supported!";

/**
 * A strict chat template's check (Qwen 3.5's and Mistral's rules): one system message, first; then user and
 * assistant alternating from a user turn, tool results after the assistant turn that called them (which may
 * go on after them). `noSystem`: a template with no system role at all (Mistral v0.1, Gemma 1).
 */
function templateRejects(messages: NonNullable<ChatBody["messages"]>, noSystem: boolean): string | undefined {
  for (const [i, m] of messages.entries()) {
    if (m.role !== "system" && m.role !== "developer") continue;
    if (noSystem) return TEMPLATE_NO_SYSTEM;
    if (i > 0) return TEMPLATE_SYSTEM_FIRST;
  }
  let prev: (typeof messages)[number] | undefined;
  for (const m of messages.filter((x) => x.role !== "system" && x.role !== "tool")) {
    if (!prev && m.role !== "user") return TEMPLATE_ALTERNATE;
    if (prev && prev.role === m.role && !(m.role === "assistant" && prev.tool_calls?.length)) return TEMPLATE_ALTERNATE;
    prev = m;
  }
  return undefined;
}

/** The steps of one streamed tool call, its arguments in two pieces. */
function callSteps(index: number, name: string, args: string, turn = 0): Step[] {
  return [
    { delta: { tool_calls: [{ index, id: `call_scripted_${name}_${turn}_${index}`, type: "function", function: { name, arguments: "" } }] } },
    { delta: { tool_calls: [{ index, function: { arguments: args.slice(0, 5) } }] } },
    { delta: { tool_calls: [{ index, function: { arguments: args.slice(5) } }] } },
  ];
}

/**
 * `scripted-search@name`: a model behind Codex's tool search. It calls `tool_search` until a tool called
 * `name` is offered, then calls that tool, then answers with what it returned. Null when it has nothing to do.
 */
function searchScript(body: ChatBody): Step[] | null {
  const wanted = (body.model ?? "").split("@")[1] ?? "";
  const messages = body.messages ?? [];
  const last = messages.at(-1);
  const calledName = (id: unknown) => messages.flatMap((m) => (m.tool_calls ?? []) as Array<{ id: string; function: { name: string } }>).find((c) => c.id === id)?.function.name;
  if (last?.role === "tool" && calledName(last.tool_call_id) === wanted) return [{ delta: { role: "assistant", content: "" } }, { delta: { content: `The tool said: ${String(last.content)}` } }, { delta: {}, finish: "stop" }];
  const tool = body.tools?.find((t) => t.function.name === wanted);
  const turn = messages.length;
  if (tool) return [{ delta: { role: "assistant", content: null } }, ...callSteps(0, wanted, argsFor(tool), turn), { delta: {}, finish: "tool_calls" }];
  if (body.tools?.some((t) => t.function.name === "tool_search")) {
    // Searched for in words, as a model would (Codex ranks its deferred tools with BM25 over names and descriptions).
    const query = wanted.split("__").at(-1)!;
    return [{ delta: { role: "assistant", content: null } }, ...callSteps(0, "tool_search", JSON.stringify({ query, limit: 8 }), turn), { delta: {}, finish: "tool_calls" }];
  }
  return null;
}

/** The turn a script plays, as chat deltas. Models named `…deepseek…` think first, in `reasoning_content`, every turn. */
function script(body: ChatBody): Step[] {
  const model = body.model ?? "";
  const last = body.messages?.at(-1);
  // `tool_choice: "none"` (the bridge's summary request) is honoured here too, as real models do.
  // A `…search-once…` model reads a compaction summary as the tool having run already (as `…tools-once…` does).
  const searched = model.includes("search") && body.tool_choice !== "none" && !(model.includes("once") && readsSummary(body)) ? searchScript(body) : null;
  if (searched) return searched;
  const thinking: Step[] = model.includes("deepseek") ? [{ delta: { reasoning_content: "Thinking it over" } }, { delta: { reasoning_content: ` (turn ${body.messages?.filter((m) => m.role === "assistant").length ?? 0}).` } }] : [];
  if (last?.role === "tool") return [{ delta: { role: "assistant", content: "" } }, ...thinking, { delta: { content: `The tool said: ${String(last.content)}` } }, { delta: {}, finish: "stop" }];
  // `tool_choice: "none"` (the bridge's summary request) is honoured, as real models do. A `…tools-once…` model
  // reads a compaction summary as the tool having run already (else a compaction after each call never ends).
  if (model.includes("tools") && body.tools?.length && body.tool_choice !== "none" && !(model.includes("once") && readsSummary(body))) {
    const steps: Step[] = [{ delta: { role: "assistant", content: null } }, ...thinking];
    // `scripted-tools@name` calls the tool of that name; otherwise the first (two, for parallel).
    const wanted = model.split("@")[1];
    const tools = wanted ? body.tools.filter((t) => t.function.name === wanted) : model.includes("parallel") ? body.tools.slice(0, 2) : body.tools.slice(0, 1);
    tools.forEach((t, index) => {
      const args = argsFor(t);
      steps.push({ delta: { tool_calls: [{ index, id: `call_scripted_${index}`, type: "function", function: { name: t.function.name, arguments: "" } }] } });
      steps.push({ delta: { tool_calls: [{ index, function: { arguments: args.slice(0, 5) } }] } });
      steps.push({ delta: { tool_calls: [{ index, function: { arguments: args.slice(5) } }] } });
    });
    steps.push({ delta: {}, finish: "tool_calls" });
    return steps;
  }
  if (model.includes("refusal")) return [{ delta: { role: "assistant", content: null, refusal: "" } }, { delta: { refusal: "I can't help with that." } }, { delta: {}, finish: "stop" }];
  const steps: Step[] = [{ delta: { role: "assistant", content: "" } }, ...thinking];
  if (model.includes("reasoning")) steps.push({ delta: { reasoning_content: "The user wants a greeting." } }, { delta: { reasoning_content: " Keep it short." } });
  for (const piece of ["Hello", " from the", " scripted", " upstream."]) steps.push({ delta: { content: piece } });
  steps.push({ delta: {}, finish: model.includes("length") ? "length" : "stop" });
  return steps;
}

function completion(body: ChatBody): unknown {
  const steps = script(body);
  const message: Record<string, unknown> = { role: "assistant", content: null };
  let finish = "stop";
  for (const { delta, finish: f } of steps) {
    if (typeof delta.content === "string") message.content = String(message.content ?? "") + delta.content;
    if (typeof delta.reasoning_content === "string") message.reasoning_content = String(message.reasoning_content ?? "") + delta.reasoning_content;
    for (const tc of (delta.tool_calls as Array<{ index: number; id?: string; function: { name?: string; arguments: string } }>) ?? []) {
      const calls = ((message.tool_calls as Array<{ id: string; type: string; function: { name: string; arguments: string } }>) ??= []);
      if (tc.id) calls[tc.index] = { id: tc.id, type: "function", function: { name: tc.function.name ?? "", arguments: "" } };
      calls[tc.index]!.function.arguments += tc.function.arguments;
    }
    if (f) finish = f;
  }
  return { id: "chatcmpl-scripted", object: "chat.completion", created, model: body.model, choices: [{ index: 0, message, finish_reason: finish, logprobs: null }], usage: usageOf(body) };
}

function measure(body: ChatBody, text: string): unknown {
  const contents = (body.messages ?? []).map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? "")));
  return { model: body.model, bytes: text.length, messages: (body.messages ?? []).map((m, i) => ({ role: m.role, length: contents[i]!.length, tail: contents[i]!.slice(-24) })) };
}

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openaiError(status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: { message, type, param: null, code } }), { status, headers: { "content-type": "application/json", ...headers } });
}

/** `n` words `w0 w1 …`, one chunk every `ms`; cancelling it counts in `seen.cancelled`. */
function pacedStream(model: string, n: number, ms: number, withUsage: boolean): Response {
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i > 0) await sleep(ms);
      if (i === 0) controller.enqueue(encoder.encode(chunk(model, { role: "assistant", content: "" })));
      else if (i <= n) controller.enqueue(encoder.encode(chunk(model, { content: `w${i - 1} ` })));
      else {
        controller.enqueue(encoder.encode(chunk(model, {}, "stop") + (withUsage ? usage({ model }) : "") + "data: [DONE]\n\n"));
        controller.close();
      }
      i++;
    },
    cancel() {
      seen.cancelled++;
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

export async function scriptedUpstream(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {};
  request.headers.forEach((v, k) => (headers[k] = v));
  const text = request.method === "POST" ? await request.text() : "";
  let body: ChatBody = {};
  try {
    body = text ? (JSON.parse(text) as ChatBody) : {};
  } catch {
    return openaiError(400, "We could not parse the JSON body of your request.", "invalid_request_error", null);
  }
  if (url.pathname === "/__seen") return Response.json(seen);
  if (url.pathname === "/__reset") {
    seen.requests.length = 0;
    seen.cancelled = 0;
    return Response.json(seen);
  }
  // `scripted-measure…`: a body of many megabytes is kept as its measure (message count, bytes, each message's content length and tail).
  seen.requests.push({ url: url.pathname + url.search, method: request.method, headers, body: body.model?.startsWith("scripted-measure") ? measure(body, text) : body });

  if (url.pathname.endsWith("/models") && request.method === "GET") {
    return Response.json({ object: "list", data: [{ id: "scripted-text", object: "model", created, owned_by: "scripted" }, { id: "scripted-tools", object: "model", created, owned_by: "scripted" }] });
  }
  // The reverse direction's upstream: a Responses API server.
  if (url.pathname.endsWith("/responses") && request.method === "POST") return scriptedResponses(body as Parameters<typeof scriptedResponses>[0]);
  const statePath = scriptedResponsesPath(url.pathname, request.method, body as Record<string, unknown>);
  if (statePath) return statePath;
  if (!url.pathname.endsWith("/chat/completions")) return openaiError(404, `Unknown path ${url.pathname}`, "invalid_request_error", "unknown_url");
  const model = body.model ?? "";

  if (model === "scripted-429") {
    return openaiError(429, "Rate limit reached for requests. Please try again in 7s.", "requests", "rate_limit_exceeded", { "retry-after": "7", "x-ratelimit-remaining-requests": "0" });
  }
  if (model === "scripted-401") return openaiError(401, `Incorrect API key provided: ${headers.authorization?.slice(7) ?? ""}.`, "invalid_request_error", "invalid_api_key");
  if (model === "scripted-404") return openaiError(404, `The model \`${model}\` does not exist.`, "invalid_request_error", "model_not_found");
  if (model === "scripted-500") return new Response("<html><body>502 Bad Gateway</body></html>", { status: 500, headers: { "content-type": "text/html" } });
  if (model === "scripted-slow") await sleep(2_000);
  // Fields refused and error bodies in providers' own shapes (test/support/refusing-upstream.ts).
  const refused = refusingUpstream(model, body as Record<string, unknown>);
  if (refused) return refused;
  if (model.includes("deepseek") && missesDeepSeekReasoning(body.messages ?? [])) {
    return openaiError(400, DEEPSEEK_REASONING_REQUIRED, "invalid_request_error", "invalid_request_error");
  }
  // `…template…`: a strict chat template under vLLM (400); `…template-nosystem…`, one without a system role under llama.cpp (500, the Jinja exception quoted).
  const rejected = model.includes("template") ? templateRejects(body.messages ?? [], model.includes("nosystem")) : undefined;
  if (rejected && model.includes("nosystem")) {
    return Response.json({ error: { code: 500, message: `\n------------\nWhile executing CallExpression at line 1, column 242 in source:\n...{{ raise_exception('${rejected}') }}\nError: Jinja Exception: ${rejected}`, type: "server_error" } }, { status: 500 });
  }
  // vLLM's error body: the fields at the top level, not under `error`.
  if (rejected) return Response.json({ object: "error", message: rejected, type: "BadRequestError", param: null, code: 400 }, { status: 400 });
  // `…strict…`: an upstream that rejects fields it does not know, as OpenAI-strict servers do.
  const unknown = model.includes("strict") ? unknownMessageField(body.messages ?? []) : undefined;
  if (unknown) return openaiError(400, `Unrecognized request argument supplied: messages[].${unknown}`, "invalid_request_error", null);

  if (!body.stream) return Response.json(completion(body));
  // `scripted-paced-<n>-<ms>`: n words, one chunk every ms (a long run at its own pace: background runs, readers attaching mid-run).
  // `scripted-huge-<n>`: one delta of n characters (an event, and a final response, longer than a stored value may be).
  const huge = /^scripted-huge-(\d+)$/.exec(model);
  if (huge) {
    const text = chunk(model, { role: "assistant", content: "" }) + chunk(model, { content: "x".repeat(Number(huge[1])) }) + chunk(model, {}, "stop") + "data: [DONE]\n\n";
    return new Response(text, { headers: { "content-type": "text/event-stream" } });
  }
  const paced = /^scripted-paced-(\d+)-(\d+)$/.exec(model);
  if (paced) return pacedStream(model, Number(paced[1]), Number(paced[2]), body.stream_options?.include_usage === true);

  const steps = script(body);
  const hang = model === "scripted-hang";
  const midError = model.startsWith("scripted-midstream-error");
  let i = 0;
  let hangTicks = 0;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (hang && i >= 2) {
        // Bounded, so a client that never hangs up cannot keep the server busy forever.
        if (++hangTicks > 200) return controller.close();
        await sleep(50);
        controller.enqueue(encoder.encode(": keep-alive\n\n"));
        return;
      }
      if (midError && i === 2 && model.endsWith("openrouter")) {
        controller.enqueue(encoder.encode(openRouterMidStream()));
        controller.close();
        return;
      }
      if (midError && i === 2) {
        // Like some gateways, it quotes the credential it was given when it complains.
        const message = model.endsWith("echo") ? `Key ${headers.authorization ?? ""} is over quota. Please try again in 30s.` : "Upstream overloaded. Please try again in 30s.";
        controller.enqueue(encoder.encode(`data: ${JSON.stringify({ error: { message, code: 429 } })}\n\n`));
        controller.close();
        return;
      }
      const step = steps[i++];
      if (!step) {
        if (body.stream_options?.include_usage) controller.enqueue(encoder.encode(usage(body)));
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
        controller.close();
        return;
      }
      controller.enqueue(encoder.encode(chunk(model, step.delta, step.finish ?? null)));
    },
    cancel() {
      seen.cancelled++;
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream", "x-ratelimit-remaining-requests": "99" } });
}
