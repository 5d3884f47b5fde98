import type { ItemStatus, Logprob, OutputItem, ResponseStreamEvent } from "../types/responses.ts";
import type { Obfuscator } from "./obfuscation.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type UnsequencedEvent = DistributiveOmit<ResponseStreamEvent, "sequence_number">;
/** A batch before it is serialized: event objects, or JSON text already written (hot deltas). */
export type PendingEvents = ReadonlyArray<ResponseStreamEvent | string>;

export type DeltaType =
  | "response.output_text.delta"
  | "response.refusal.delta"
  | "response.reasoning_summary_text.delta"
  | "response.reasoning_text.delta"
  | "response.function_call_arguments.delta"
  | "response.custom_tool_call_input.delta";

/** The item that is streaming now; exactly one at a time (Codex keeps one active-item slot). */
export interface OpenItem {
  /** Emits its closing events, then `output_item.done`. */
  close(status: ItemStatus): void;
}

/**
 * Where one part's deltas go: fixed for the life of the part, so its JSON
 * head is written once and each delta only adds the text.
 */
export class DeltaTarget {
  readonly head: string;
  readonly type: DeltaType;
  readonly itemId: string;
  readonly outputIndex: number;
  readonly indexKey: "content_index" | "summary_index" | null;
  readonly index: number;
  constructor(type: DeltaType, itemId: string, outputIndex: number, indexKey: "content_index" | "summary_index" | null = null, index = 0) {
    this.type = type;
    this.itemId = itemId;
    this.outputIndex = outputIndex;
    this.indexKey = indexKey;
    this.index = index;
    this.head = `{"type":"${type}","item_id":${JSON.stringify(itemId)},"output_index":${outputIndex}${indexKey ? `,"${indexKey}":${index}` : ""},"delta":`;
  }
}

const NO_LOGPROBS: Logprob[] = [];
const SEQ = `,"sequence_number":`;

/**
 * Sequence numbers, the output list, the one open item, and the batch of
 * events implied by the current upstream chunk.
 *
 * A batch is two parallel arrays (`types`, `events`), reused across batches.
 * In wire mode a delta event is written as its JSON text at once (its head
 * precomputed per part, the text escaped by one `JSON.stringify` of a
 * string); no event object is made for it. Every other event stays an object
 * until the transport serializes the batch, so a hook can still amend items
 * before they leave.
 */
export class Emitter {
  private seq = 0;
  types: string[] = [];
  events: Array<ResponseStreamEvent | string> = [];
  readonly output: OutputItem[] = [];
  open: OpenItem | null = null;

  private readonly wire: boolean;
  private readonly obfuscate: Obfuscator | null;

  constructor(wire: boolean, obfuscate: Obfuscator | null) {
    this.wire = wire;
    this.obfuscate = obfuscate;
  }

  event(e: UnsequencedEvent): void {
    (e as ResponseStreamEvent).sequence_number = this.seq++;
    this.types.push(e.type);
    this.events.push(e as ResponseStreamEvent);
  }

  /** `logprobs` is given for `output_text.delta` only (its type requires the field). */
  delta(t: DeltaTarget, delta: string, logprobs?: Logprob[] | null): void {
    const seq = this.seq++;
    const ob = this.obfuscate;
    const pad = ob ? ob.next() : -1;
    this.types.push(t.type);
    if (this.wire) {
      let json = t.head + JSON.stringify(delta);
      if (logprobs !== undefined) json += logprobs && logprobs.length ? `,"logprobs":${JSON.stringify(logprobs)}` : `,"logprobs":[]`;
      this.events.push(json + (pad >= 0 ? ob!.fragments[pad] : SEQ) + seq + "}");
      return;
    }
    const e: Record<string, unknown> = { type: t.type, item_id: t.itemId, output_index: t.outputIndex };
    if (t.indexKey) e[t.indexKey] = t.index;
    e["delta"] = delta;
    if (logprobs !== undefined) e["logprobs"] = logprobs ?? NO_LOGPROBS.slice();
    if (pad >= 0) e["obfuscation"] = ob!.values[pad];
    e["sequence_number"] = seq;
    this.events.push(e as unknown as ResponseStreamEvent);
  }

  /** Opens an item after closing the open one; returns its `output_index`. */
  addItem(item: OutputItem, open: OpenItem): number {
    this.closeOpen("completed");
    const index = this.output.length;
    this.event({ type: "response.output_item.added", output_index: index, item: startedItem(item) });
    this.open = open;
    return index;
  }

  finishItem(index: number, item: OutputItem): void {
    this.output.push(item);
    this.event({ type: "response.output_item.done", output_index: index, item });
  }

  closeOpen(status: ItemStatus): void {
    const o = this.open;
    if (!o) return;
    this.open = null;
    o.close(status);
  }

  /** The batch as objects (the object-level API); wire-mode strings are parsed back. */
  takeObjects(): ResponseStreamEvent[] {
    const out = this.events.map((e) => (typeof e === "string" ? (JSON.parse(e) as ResponseStreamEvent) : e));
    this.clear();
    return out;
  }

  clear(): void {
    // Fresh arrays: cheaper than `length = 0` (a runtime call in V8) once per batch.
    this.types = [];
    this.events = [];
  }

  get size(): number {
    return this.events.length;
  }
}

/** `added` carries the item as it starts, with its own empty arrays for later events to fill. */
function startedItem(item: OutputItem): OutputItem {
  if (item.type === "message") return { ...item, content: [] };
  if (item.type === "reasoning") return item.content ? { ...item, summary: [], content: [] } : { ...item, summary: [] };
  return { ...item };
}
