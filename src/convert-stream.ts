import type { ChatCompletionChunk, ChatDelta, ChatLogprob, ChatToolCallDelta, ChatTopLogprob, ChatUrlCitation } from "./chat-types.ts";
import { type ErrorPayload, normalizeUpstreamError } from "./errors.ts";
import { createIdGenerator, type IdGenerator } from "./ids.ts";
import { JsonCompletion } from "./json-completion.ts";
import { JsonStringFieldReader } from "./json-string-field.ts";
import { convertUsage, createEnvelope } from "./response-envelope.ts";
import type {
  CustomToolCallItem,
  FunctionCallItem,
  ItemStatus,
  Logprob,
  MessageItem,
  OutputItem,
  OutputTextPart,
  ReasoningItem,
  RefusalPart,
  ResponseResource,
  ResponseStreamEvent,
  ResponsesRequest,
  TopLogprob,
  UrlCitation,
} from "./responses-types.ts";
import { markReasoningId, type ReasoningField, upstreamTag } from "./reasoning-origin.ts";
import { ThinkTagSplitter, type ThinkSegment } from "./think-tags.ts";

/** Where an upstream function name really points (see `toChatRequest`). */
export interface ToolTarget {
  kind: "function" | "custom";
  /** The name the client declared. */
  name: string;
  /** The `namespace` tool it was declared in, if any. */
  namespace?: string;
}
export type ToolRouting = ReadonlyMap<string, ToolTarget>;

export interface ConvertOptions {
  /** The Responses request that started this turn; echoed into the envelope. */
  request?: ResponsesRequest;
  /**
   * How upstream reasoning reaches the client. `"summary"` (default) streams it
   * as reasoning summary events, which Codex, the `openai` SDK and the Vercel
   * AI SDK all display; `"raw"` as `reasoning_text` content.
   */
  reasoning?: "summary" | "raw";
  /** Move a leading `<think>…</think>` out of content into reasoning. */
  thinkTags?: boolean;
  /** Send refusals as `output_text` (Codex cannot parse a `refusal` part). */
  refusalAsText?: boolean;
  /** Maps upstream function names back to namespace and custom tools. */
  tools?: ToolRouting;
  /**
   * Names the upstream (any string; the Worker uses base URL and model; default: the requested model).
   * Hashed into reasoning item ids with the field the reasoning came in, so that
   * `toChatRequest` given the same `upstream` sends it back there and nowhere else.
   */
  upstream?: string;
  ids?: IdGenerator;
  /** Applied to every error message before it is sent (the Worker strips its upstream key). */
  redact?: (text: string) => string;
  /** Unix seconds; used when the upstream gives no `created`, and for `completed_at`. */
  now?: () => number;
  /** Called once, with the final Response object, as the terminal event is emitted: where a host stores it. */
  onEnd?: (response: ResponseResource) => void;
}

/**
 * The pure heart: one parsed chat chunk in, the Responses events it implies
 * out. No streams, no I/O, no timers.
 */
export interface ChatToResponsesConverter {
  /** One upstream chunk. */
  push(chunk: ChatCompletionChunk): ResponseStreamEvent[];
  /** The upstream ended cleanly (`data: [DONE]`, or an SDK stream that closed). */
  done(): ResponseStreamEvent[];
  /**
   * The input ended. After a `finish_reason` that is a normal end; with none,
   * the stream was cut and the response fails rather than pretend to complete.
   */
  finish(): ResponseStreamEvent[];
  /** Fail the response: open items close `incomplete`, then `error` and `response.failed`. */
  fail(error: Partial<ErrorPayload> & { message: string }): ResponseStreamEvent[];
  /** True once a terminal event was emitted; later input is ignored. */
  readonly ended: boolean;
  /** The response as it stands. */
  readonly response: ResponseResource;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type UnsequencedEvent = DistributiveOmit<ResponseStreamEvent, "sequence_number">;

interface CallState {
  upstreamId: string | null;
  name: string;
  target: ToolTarget | undefined;
  args: string;
  json: JsonCompletion;
  phase: "held" | "open" | "closed";
  item: FunctionCallItem | CustomToolCallItem | null;
  outputIndex: number;
  /** For custom tools: decodes `{"input": "…"}` as it streams. */
  input: JsonStringFieldReader | null;
}

type Open =
  | { kind: "reasoning"; item: ReasoningItem; index: number; text: string }
  | { kind: "message"; item: MessageItem; index: number; part: OutputTextPart | RefusalPart | null; partIndex: number; text: string }
  | { kind: "call"; call: CallState };

export function createChatToResponsesConverter(options: ConvertOptions = {}): ChatToResponsesConverter {
  const ids = options.ids ?? createIdGenerator();
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const rawReasoning = options.reasoning === "raw";
  const think = options.thinkTags ? new ThinkTagSplitter() : null;
  const segments: ThinkSegment[] = [];
  const upstream = upstreamTag(options.upstream ?? (typeof options.request?.model === "string" ? options.request.model : ""));

  let out: ResponseStreamEvent[] = [];
  let seq = 0;
  let response: ResponseResource | null = null;
  let ended = false;
  let finishReason: string | null = null;
  let open: Open | null = null;
  const output: ResponseResource["output"] = [];
  const calls = new Map<string, CallState>();
  const held: CallState[] = [];
  let lastCall: CallState | null = null;

  function emit(e: UnsequencedEvent): void {
    (e as ResponseStreamEvent).sequence_number = seq++;
    out.push(e as ResponseStreamEvent);
  }

  function snapshot(r: ResponseResource): ResponseResource {
    return { ...r, output: [] };
  }

  function start(chunk?: ChatCompletionChunk): ResponseResource {
    if (response) return response;
    response = createEnvelope(
      options.request,
      ids("resp"),
      typeof chunk?.created === "number" ? chunk.created : now(),
      typeof chunk?.model === "string" && chunk.model !== "" ? chunk.model : undefined,
      chunk?.service_tier,
    );
    emit({ type: "response.created", response: snapshot(response) });
    emit({ type: "response.in_progress", response: snapshot(response) });
    return response;
  }

  // ---- items ----

  function addItem(item: ReasoningItem | MessageItem | FunctionCallItem | CustomToolCallItem): number {
    // Items never interleave: the previous one is already in `output`.
    const index = output.length;
    emit({ type: "response.output_item.added", output_index: index, item: startedItem(item) });
    return index;
  }

  function finishItem(index: number, item: ReasoningItem | MessageItem | FunctionCallItem | CustomToolCallItem): void {
    output.push(item);
    emit({ type: "response.output_item.done", output_index: index, item });
  }

  function closeOpen(status: ItemStatus): void {
    const o = open;
    if (!o) return;
    open = null;
    if (o.kind === "reasoning") {
      const item = o.item;
      if (rawReasoning) {
        const part = { type: "reasoning_text" as const, text: o.text };
        emit({ type: "response.reasoning_text.done", item_id: item.id, output_index: o.index, content_index: 0, text: o.text });
        emit({ type: "response.content_part.done", item_id: item.id, output_index: o.index, content_index: 0, part });
        item.content = [part];
      } else {
        const part = { type: "summary_text" as const, text: o.text };
        emit({ type: "response.reasoning_summary_text.done", item_id: item.id, output_index: o.index, summary_index: 0, text: o.text });
        emit({ type: "response.reasoning_summary_part.done", item_id: item.id, output_index: o.index, summary_index: 0, part });
        item.summary = [part];
      }
      item.status = status;
      finishItem(o.index, item);
    } else if (o.kind === "message") {
      closePart(o);
      o.item.status = status;
      finishItem(o.index, o.item);
    } else {
      closeCall(o.call, status);
    }
  }

  function closePart(o: Extract<Open, { kind: "message" }>): void {
    const part = o.part;
    if (!part) return;
    const base = { item_id: o.item.id, output_index: o.index, content_index: o.partIndex };
    if (part.type === "output_text") {
      part.text = o.text;
      emit({ type: "response.output_text.done", ...base, text: o.text, logprobs: part.logprobs });
    } else {
      part.refusal = o.text;
      emit({ type: "response.refusal.done", ...base, refusal: o.text });
    }
    emit({ type: "response.content_part.done", ...base, part: clonePart(part) });
    o.item.content.push(part);
    o.part = null;
    o.text = "";
  }

  function openReasoning(field: ReasoningField): Extract<Open, { kind: "reasoning" }> {
    closeOpen("completed");
    const item: ReasoningItem = { id: markReasoningId(ids("rs"), { field, upstream }), type: "reasoning", summary: [], status: "in_progress" };
    if (rawReasoning) item.content = [];
    const index = addItem(item);
    const o = { kind: "reasoning" as const, item, index, text: "" };
    if (rawReasoning) {
      emit({ type: "response.content_part.added", item_id: item.id, output_index: index, content_index: 0, part: { type: "reasoning_text", text: "" } });
    } else {
      emit({ type: "response.reasoning_summary_part.added", item_id: item.id, output_index: index, summary_index: 0, part: { type: "summary_text", text: "" } });
    }
    open = o;
    return o;
  }

  function onReasoning(text: string, field: ReasoningField): void {
    if (!text) return;
    const o = open?.kind === "reasoning" ? open : openReasoning(field);
    o.text += text;
    if (rawReasoning) {
      emit({ type: "response.reasoning_text.delta", item_id: o.item.id, output_index: o.index, content_index: 0, delta: text });
    } else {
      emit({ type: "response.reasoning_summary_text.delta", item_id: o.item.id, output_index: o.index, summary_index: 0, delta: text });
    }
  }

  function messagePart(type: "output_text" | "refusal"): Extract<Open, { kind: "message" }> {
    let o = open?.kind === "message" ? open : null;
    if (!o) {
      closeOpen("completed");
      const item: MessageItem = { id: ids("msg"), type: "message", status: "in_progress", role: "assistant", content: [] };
      o = { kind: "message", item, index: addItem(item), part: null, partIndex: -1, text: "" };
      open = o;
    }
    if (o.part?.type !== type) {
      closePart(o);
      const part: OutputTextPart | RefusalPart =
        type === "output_text" ? { type: "output_text", text: "", annotations: [], logprobs: [] } : { type: "refusal", refusal: "" };
      o.part = part;
      o.partIndex = o.item.content.length;
      emit({ type: "response.content_part.added", item_id: o.item.id, output_index: o.index, content_index: o.partIndex, part: clonePart(part) });
    }
    return o;
  }

  function onText(text: string, logprobs: Logprob[] | null): void {
    if (!text && !(logprobs && logprobs.length && open?.kind === "message" && open.part?.type === "output_text")) return;
    const o = messagePart("output_text");
    o.text += text;
    const part = o.part as OutputTextPart;
    if (logprobs) for (const lp of logprobs) part.logprobs.push(lp);
    emit({ type: "response.output_text.delta", item_id: o.item.id, output_index: o.index, content_index: o.partIndex, delta: text, logprobs: logprobs ?? [] });
  }

  function onRefusal(text: string): void {
    if (!text) return;
    if (options.refusalAsText) return onText(text, null);
    const o = messagePart("refusal");
    o.text += text;
    emit({ type: "response.refusal.delta", item_id: o.item.id, output_index: o.index, content_index: o.partIndex, delta: text });
  }

  function onAnnotations(list: ChatUrlCitation[]): void {
    for (const a of list) {
      if (!a || a.type !== "url_citation" || !a.url_citation) continue;
      const c = a.url_citation;
      const annotation: UrlCitation = {
        type: "url_citation",
        url: String(c.url ?? ""),
        title: String(c.title ?? ""),
        start_index: typeof c.start_index === "number" ? c.start_index : 0,
        end_index: typeof c.end_index === "number" ? c.end_index : 0,
      };
      const o = messagePart("output_text");
      const part = o.part as OutputTextPart;
      part.annotations.push(annotation);
      emit({
        type: "response.output_text.annotation.added",
        item_id: o.item.id,
        output_index: o.index,
        content_index: o.partIndex,
        annotation_index: part.annotations.length - 1,
        annotation,
      });
    }
  }

  // ---- tool calls ----

  function callKey(tc: ChatToolCallDelta): CallState | "new" {
    if (typeof tc.index === "number") {
      const c = calls.get(`i${tc.index}`);
      // Some servers reuse index 0 for every parallel call; a new id after a whole call is a new call.
      if (c && tc.id && c.upstreamId && tc.id !== c.upstreamId && c.json.complete) return "new";
      return c ?? "new";
    }
    if (tc.id) return calls.get(`d${tc.id}`) ?? "new";
    return lastCall ?? "new";
  }

  function onToolCall(tc: ChatToolCallDelta): void {
    let call = callKey(tc);
    const fn = tc.function ?? {};
    if (call === "new") {
      const name = fn.name ?? "";
      call = {
        upstreamId: tc.id ?? null,
        name,
        target: undefined,
        args: "",
        json: new JsonCompletion(),
        phase: "held",
        item: null,
        outputIndex: -1,
        input: null,
      };
      if (typeof tc.index === "number") calls.set(`i${tc.index}`, call);
      if (tc.id) calls.set(`d${tc.id}`, call);
      lastCall = call;
      held.push(call);
    } else if (call.phase === "held" && fn.name && !call.item) {
      call.name += fn.name;
    }
    const args = fn.arguments;
    if (args) {
      if (call.phase === "closed") {
        abort({
          code: "server_error",
          type: "upstream_protocol_error",
          message: `Upstream sent more arguments for tool call ${call.upstreamId ?? call.name} after it had closed; refusing to drop them.`,
        });
        return;
      }
      call.args += args;
      call.json.feed(args);
      if (call.phase === "open") emitArgs(call, args);
    }
    advanceCalls();
  }

  /** Opens held calls in order while the one before them has whole arguments. */
  function advanceCalls(): void {
    while (held.length) {
      const current = open?.kind === "call" ? open.call : null;
      if (current) {
        if (!current.json.complete) return;
        closeOpen("completed");
      }
      openCall(held.shift()!);
    }
  }

  function openCall(call: CallState): void {
    closeOpen("completed");
    const target = options.tools?.get(call.name);
    call.target = target;
    call.phase = "open";
    const callId = call.upstreamId || ids("fc").replace("fc_", "call_");
    if (target?.kind === "custom") {
      call.input = new JsonStringFieldReader("input");
      const item: CustomToolCallItem = { id: ids("ctc"), type: "custom_tool_call", call_id: callId, name: target.name, input: "", status: "in_progress" };
      if (target.namespace) item.namespace = target.namespace;
      call.item = item;
    } else {
      const item: FunctionCallItem = { id: ids("fc"), type: "function_call", call_id: callId, name: target?.name ?? call.name, arguments: "", status: "in_progress" };
      if (target?.namespace) item.namespace = target.namespace;
      call.item = item;
    }
    call.outputIndex = addItem(call.item);
    open = { kind: "call", call };
    if (call.args) emitArgs(call, call.args);
  }

  function emitArgs(call: CallState, delta: string): void {
    if (call.input) {
      // Custom tools are called as `{"input": "..."}`; the decoded input streams as it comes.
      const piece = call.input.feed(delta);
      if (piece) emit({ type: "response.custom_tool_call_input.delta", item_id: call.item!.id, output_index: call.outputIndex, delta: piece });
      return;
    }
    emit({ type: "response.function_call_arguments.delta", item_id: call.item!.id, output_index: call.outputIndex, delta });
  }

  function closeCall(call: CallState, status: ItemStatus): void {
    const item = call.item!;
    call.phase = "closed";
    const base = { item_id: item.id, output_index: call.outputIndex };
    if (item.type === "custom_tool_call") {
      // What streamed is what the client holds (plus any held-back tail); arguments that were
      // not `{"input": …}` are read whole and sent as one delta.
      const reader = call.input?.started ? call.input : null;
      const tail = reader ? reader.end() : customInput(call.args);
      item.input = reader ? reader.text : tail;
      if (tail) emit({ type: "response.custom_tool_call_input.delta", ...base, delta: tail });
      emit({ type: "response.custom_tool_call_input.done", ...base, input: item.input });
    } else {
      item.arguments = call.args;
      emit({ type: "response.function_call_arguments.done", ...base, arguments: call.args, name: item.name });
    }
    item.status = status;
    finishItem(call.outputIndex, item);
  }

  /** Closes the open item and releases every held call, in order. */
  function closeAll(status: ItemStatus): void {
    closeOpen(status);
    while (held.length) {
      openCall(held.shift()!);
      closeOpen(status);
    }
  }

  // ---- the chunk ----

  function onDelta(delta: ChatDelta, logprobs: Logprob[] | null): void {
    if (typeof delta.reasoning_content === "string") onReasoning(delta.reasoning_content, "reasoning_content");
    else if (typeof delta.reasoning === "string") onReasoning(delta.reasoning, "reasoning");
    // OpenRouter sends `reasoning` and `reasoning_details` together; the details only count alone.
    else if (Array.isArray(delta.reasoning_details)) {
      for (const d of delta.reasoning_details) {
        if (d?.type === "reasoning.text" && typeof d.text === "string") onReasoning(d.text, "reasoning_details");
        else if (d?.type === "reasoning.summary" && typeof d.summary === "string") onReasoning(d.summary, "reasoning_details");
      }
    }
    if (typeof delta.content === "string") {
      if (think) {
        segments.length = 0;
        think.feed(delta.content, segments);
        routeSegments(logprobs);
      } else onText(delta.content, logprobs);
    } else if (logprobs) onText("", logprobs);
    if (typeof delta.refusal === "string") onRefusal(delta.refusal);
    if (Array.isArray(delta.annotations)) onAnnotations(delta.annotations);
    if (Array.isArray(delta.tool_calls)) {
      for (const tc of delta.tool_calls) {
        if (ended) return;
        if (tc) onToolCall(tc);
      }
    }
  }

  function routeSegments(logprobs: Logprob[] | null): void {
    let lp = logprobs;
    for (const s of segments) {
      if (s.reasoning) onReasoning(s.text, "think");
      else {
        onText(s.text, lp);
        lp = null;
      }
    }
  }

  function flushThink(): void {
    if (!think) return;
    segments.length = 0;
    think.flush(segments);
    routeSegments(null);
  }

  function take(): ResponseStreamEvent[] {
    const batch = out;
    out = [];
    return batch;
  }

  function terminal(type: "response.completed" | "response.incomplete" | "response.failed"): void {
    const r = response!;
    r.output = output;
    if (type === "response.completed") {
      r.status = "completed";
      r.completed_at = now();
    } else if (type === "response.incomplete") r.status = "incomplete";
    else r.status = "failed";
    ended = true;
    emit({ type, response: r });
    options.onEnd?.(r);
  }

  function abort(error: Partial<ErrorPayload> & { message: string }): void {
    if (ended) return;
    start();
    flushThink();
    closeAll("incomplete");
    const code = error.code ?? "server_error";
    const type = error.type ?? "server_error";
    const param = error.param ?? null;
    const message = options.redact ? options.redact(error.message) : error.message;
    emit({ type: "error", code, message, param, error: { type, code, message, param } });
    response!.error = { code, message };
    terminal("response.failed");
  }

  function fail(error: Partial<ErrorPayload> & { message: string }): ResponseStreamEvent[] {
    abort(error);
    return take();
  }

  function push(chunk: ChatCompletionChunk): ResponseStreamEvent[] {
    if (ended) return [];
    if (typeof chunk !== "object" || chunk === null) {
      return fail({ code: "server_error", type: "upstream_protocol_error", message: `Upstream sent a chunk that is not an object: ${String(chunk).slice(0, 200)}` });
    }
    start(chunk);
    if (chunk.error) {
      return fail(normalizeUpstreamError({ error: chunk.error }));
    }
    const usage = chunk.usage ?? chunk.x_groq?.usage;
    if (usage && typeof usage === "object") response!.usage = convertUsage(usage);
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    // Only the first choice becomes the response; `n > 1` has no Responses equivalent.
    const choice = choices.find((c) => (c?.index ?? 0) === 0);
    if (choice) {
      if (choice.delta && typeof choice.delta === "object") onDelta(choice.delta, convertLogprobs(choice.logprobs?.content));
      if (ended) return take();
      if (choice.finish_reason) {
        finishReason = choice.finish_reason;
        flushThink();
        if (finishReason === "error") {
          abort({ code: "server_error", type: "server_error", message: "Upstream ended the generation with finish_reason \"error\"." });
          return take();
        }
        const truncated = finishReason === "length" || finishReason === "content_filter";
        closeAll(truncated ? "incomplete" : "completed");
      }
    }
    return take();
  }

  function done(): ResponseStreamEvent[] {
    if (ended) return [];
    start();
    flushThink();
    const reason = finishReason;
    if (reason === "length" || reason === "content_filter") {
      closeAll("incomplete");
      response!.incomplete_details = { reason: reason === "length" ? "max_output_tokens" : "content_filter" };
      terminal("response.incomplete");
    } else {
      closeAll("completed");
      terminal("response.completed");
    }
    return take();
  }

  function finish(): ResponseStreamEvent[] {
    if (ended) return [];
    if (finishReason !== null) return done();
    return fail({
      code: "server_error",
      type: "server_error",
      message: "Upstream stream ended before a finish_reason or [DONE]; the response is incomplete.",
    });
  }

  return {
    push,
    done,
    finish,
    fail,
    get ended() {
      return ended;
    },
    get response() {
      return response ?? start();
    },
  };
}

/** `added` carries the item as it starts, with its own empty arrays for later events to fill. */
function startedItem(item: OutputItem): OutputItem {
  if (item.type === "message") return { ...item, content: [] };
  if (item.type === "reasoning") return item.content ? { ...item, summary: [], content: [] } : { ...item, summary: [] };
  return { ...item };
}

function clonePart<T extends OutputTextPart | RefusalPart>(part: T): T {
  return part.type === "output_text" ? ({ ...part, annotations: [...part.annotations], logprobs: [...part.logprobs] } as T) : { ...part };
}

function convertTop(t: ChatTopLogprob): TopLogprob {
  return { token: t.token, logprob: t.logprob, bytes: Array.isArray(t.bytes) ? t.bytes : [] };
}

/** Chat logprobs → Responses logprobs (`bytes: null` becomes `[]`, the Responses type has no null). */
export function convertLogprobs(list: ChatLogprob[] | null | undefined): Logprob[] | null {
  if (!Array.isArray(list) || list.length === 0) return null;
  return list.map((l) => ({ ...convertTop(l), top_logprobs: Array.isArray(l.top_logprobs) ? l.top_logprobs.map(convertTop) : [] }));
}

/** A custom tool's input from the `{"input": "..."}` its function stand-in was called with. */
export function customInput(args: string): string {
  try {
    const v = JSON.parse(args) as unknown;
    if (typeof v === "string") return v;
    if (v && typeof v === "object" && typeof (v as { input?: unknown }).input === "string") return (v as { input: string }).input;
  } catch {
    // Not JSON: the model wrote the input bare, which is what the client wants anyway.
  }
  return args;
}
