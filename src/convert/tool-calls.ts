import type { ChatToolCallDelta } from "../types/chat.ts";
import type { ErrorPayload } from "../errors.ts";
import type { IdGenerator } from "../ids.ts";
import { JsonCloseTracker } from "./json-close-tracker.ts";
import { JsonStringFieldReader } from "./json-string-field.ts";
import type { CustomToolCallItem, FunctionCallItem, ItemStatus, ToolSearchCallItem } from "../types/responses.ts";
import { DeltaTarget, type Emitter, type OpenItem } from "./emitter.ts";

/** Where an upstream function name really points (see `toChatRequest`). */
export interface ToolTarget {
  /** `tool_search`: a client-executed tool search (Codex's), streamed back as a `tool_search_call` item. */
  kind: "function" | "custom" | "tool_search";
  /** The name the client declared. */
  name: string;
  /** The `namespace` tool it was declared in, if any. */
  namespace?: string;
}
export type ToolRouting = ReadonlyMap<string, ToolTarget>;

/** One upstream tool call: held until its turn, then an open `function_call` / `custom_tool_call` item. */
class Call implements OpenItem {
  name: string;
  args = "";
  readonly json = new JsonCloseTracker();
  phase: "held" | "open" | "closed" = "held";
  item: FunctionCallItem | CustomToolCallItem | ToolSearchCallItem | null = null;
  outputIndex = -1;
  /** For custom tools: decodes `{"input": "…"}` as it streams. */
  input: JsonStringFieldReader | null = null;
  target: DeltaTarget | null = null;

  private readonly out: Emitter;
  readonly upstreamId: string | null;

  constructor(out: Emitter, upstreamId: string | null, name: string) {
    this.out = out;
    this.upstreamId = upstreamId;
    this.name = name;
  }

  open(ids: IdGenerator, routing: ToolRouting | undefined): void {
    const target = routing?.get(this.name);
    this.phase = "open";
    const callId = this.upstreamId || ids("fc").replace("fc_", "call_");
    if (target?.kind === "tool_search") {
      // Its arguments are an object, whole only at the end: no delta events, `output_item.done` carries them.
      this.item = { id: ids("tsc"), type: "tool_search_call", call_id: callId, execution: "client", arguments: {}, status: "in_progress" };
      this.outputIndex = this.out.addItem(this.item, this);
      return;
    }
    if (target?.kind === "custom") {
      this.input = new JsonStringFieldReader("input");
      const item: CustomToolCallItem = { id: ids("ctc"), type: "custom_tool_call", call_id: callId, name: target.name, input: "", status: "in_progress" };
      if (target.namespace) item.namespace = target.namespace;
      this.item = item;
    } else {
      const item: FunctionCallItem = { id: ids("fc"), type: "function_call", call_id: callId, name: target?.name ?? this.name, arguments: "", status: "in_progress" };
      if (target?.namespace) item.namespace = target.namespace;
      this.item = item;
    }
    this.outputIndex = this.out.addItem(this.item, this);
    this.target = new DeltaTarget(this.input ? "response.custom_tool_call_input.delta" : "response.function_call_arguments.delta", this.item.id, this.outputIndex);
    if (this.args) this.emitArgs(this.args);
  }

  emitArgs(delta: string): void {
    if (!this.target) return;
    if (this.input) {
      // Custom tools are called as `{"input": "..."}`; the decoded input streams as it comes.
      const piece = this.input.feed(delta);
      if (piece) this.out.delta(this.target!, piece);
      return;
    }
    this.out.delta(this.target!, delta);
  }

  close(status: ItemStatus): void {
    const item = this.item!;
    this.phase = "closed";
    const base = { item_id: item.id, output_index: this.outputIndex };
    if (item.type === "tool_search_call") {
      item.arguments = searchArguments(this.args);
    } else if (item.type === "custom_tool_call") {
      // What streamed is what the client holds (plus any held-back tail); arguments that were
      // not `{"input": …}` are read whole and sent as one delta.
      const reader = this.input?.started ? this.input : null;
      const tail = reader ? reader.end() : customInput(this.args);
      item.input = reader ? reader.text : tail;
      if (tail) this.out.delta(this.target!, tail);
      this.out.event({ type: "response.custom_tool_call_input.done", ...base, input: item.input });
    } else {
      item.arguments = this.args;
      this.out.event({ type: "response.function_call_arguments.done", ...base, arguments: this.args, name: item.name });
    }
    item.status = status;
    this.out.finishItem(this.outputIndex, item);
  }
}

/**
 * Tool-call deltas → items. Calls are keyed by `index` (or by id when a
 * server sends none, as Gemini does); parallel calls whose chunks interleave
 * are held until the call before them has whole arguments, then released at
 * once: the only buffering in the converter.
 */
export class ToolCalls {
  private readonly calls = new Map<string, Call>();
  private readonly held: Call[] = [];
  private last: Call | null = null;

  private readonly out: Emitter;
  private readonly ids: IdGenerator;
  private readonly routing: ToolRouting | undefined;
  private readonly protocolError: (error: Partial<ErrorPayload> & { message: string }) => void;

  constructor(out: Emitter, ids: IdGenerator, routing: ToolRouting | undefined, protocolError: (error: Partial<ErrorPayload> & { message: string }) => void) {
    this.out = out;
    this.ids = ids;
    this.routing = routing;
    this.protocolError = protocolError;
  }

  private find(tc: ChatToolCallDelta): Call | null {
    if (typeof tc.index === "number") {
      const c = this.calls.get(`i${tc.index}`);
      // Some servers reuse index 0 for every parallel call; a new id after a whole call is a new call.
      if (c && tc.id && c.upstreamId && tc.id !== c.upstreamId && c.json.complete) return null;
      return c ?? null;
    }
    if (tc.id) return this.calls.get(`d${tc.id}`) ?? null;
    return this.last;
  }

  push(tc: ChatToolCallDelta): void {
    let call = this.find(tc);
    const fn = tc.function ?? {};
    if (!call) {
      call = new Call(this.out, tc.id ?? null, fn.name ?? "");
      if (typeof tc.index === "number") this.calls.set(`i${tc.index}`, call);
      if (tc.id) this.calls.set(`d${tc.id}`, call);
      this.last = call;
      this.held.push(call);
    } else if (call.phase === "held" && fn.name && !call.item) {
      call.name += fn.name;
    }
    const args = fn.arguments;
    if (args) {
      if (call.phase === "closed") {
        this.protocolError({
          code: "server_error",
          type: "upstream_protocol_error",
          message: `Upstream sent more arguments for tool call ${call.upstreamId ?? call.name} after it had closed; refusing to drop them.`,
        });
        return;
      }
      call.args += args;
      call.json.feed(args);
      if (call.phase === "open") call.emitArgs(args);
    }
    this.advance();
  }

  /** Whether a call is open with arguments not yet whole (nothing else may open before it closes). */
  get midCall(): boolean {
    const open = this.out.open;
    return open instanceof Call && !open.json.complete;
  }

  /** Opens held calls in order while the one before them has whole arguments. */
  private advance(): void {
    while (this.held.length) {
      const current = this.out.open instanceof Call ? this.out.open : null;
      if (current) {
        if (!current.json.complete) return;
        this.out.closeOpen("completed");
      }
      this.held.shift()!.open(this.ids, this.routing);
    }
  }

  /** Releases every held call, in order, each closed with `status`. */
  releaseAll(status: ItemStatus): void {
    while (this.held.length) {
      this.held.shift()!.open(this.ids, this.routing);
      this.out.closeOpen(status);
    }
  }
}

/** A tool search's arguments as the object the client expects; text that is no JSON object becomes the query. */
function searchArguments(args: string): unknown {
  try {
    const v = JSON.parse(args) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v;
  } catch {
    // The model wrote its query bare.
  }
  return args.trim() ? { query: args.trim() } : {};
}

/** A custom tool's input from the `{"input": "..."}` its function stand-in was called with. */
function customInput(args: string): string {
  try {
    const v = JSON.parse(args) as unknown;
    if (typeof v === "string") return v;
    if (v && typeof v === "object" && typeof (v as { input?: unknown }).input === "string") return (v as { input: string }).input;
  } catch {
    // Not JSON: the model wrote the input bare, which is what the client wants anyway.
  }
  return args;
}
