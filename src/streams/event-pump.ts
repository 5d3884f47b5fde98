import type { ConvertOptions } from "../convert/converter.ts";
import { type ConverterCore, createConverterCore } from "../convert/converter.ts";
import type { PendingEvents } from "../convert/emitter.ts";
import type { ResponseResource } from "../types/responses.ts";
import { ChatSseDecoder } from "./sse-decode.ts";
import { FrameMemo } from "./frame-memo.ts";

/** Where a batch of serialized events goes: an SSE body, WebSocket frames, a test's array. */
export interface EventSink {
  /** One event: its `type` and its JSON (the SSE `data:` line, the WebSocket text frame). */
  event(type: string, json: string): void;
  /** The upstream is alive but silent (it sent an SSE comment); SSE forwards a comment, others may ignore it. */
  keepAlive?(): void;
}

/** `TextDecoder.decode`'s options for every read but the last, made once rather than per read. */
const STREAMING = { stream: true };

/** How often at most an upstream comment is passed on as a keep-alive (ms). */
export const DEFAULT_KEEP_ALIVE_MS = 5_000;

export interface PumpOptions extends ConvertOptions {
  /** Forward upstream SSE comments as keep-alives at most this often (ms; default 5000). */
  keepAliveMs?: number;
  /** Milliseconds clock for the keep-alive throttle (default `Date.now`). */
  clock?: () => number;
}

/**
 * Chat SSE bytes → Responses events, shared by every stream shell: one
 * `TextDecoder` call per upstream read, `eventsource-parser` for framing, the
 * converter in wire mode. Events collect in the converter's batch until
 * `flush` serializes them into a sink.
 */
export class EventPump {
  readonly core: ConverterCore;
  private readonly decoder = new TextDecoder();
  private readonly sse: ChatSseDecoder;
  private readonly keepAliveMs: number;
  private readonly clock: () => number;
  private lastKeepAlive = -Infinity;
  private keepAliveDue = false;
  private readonly memo = new FrameMemo();
  /** Whether everything fed so far ended at a frame boundary (the SSE parser holds nothing). */
  private boundary = true;
  /** While a read that is exactly one frame is being parsed: its text, to learn from. */
  private single: string | null = null;

  constructor(options: PumpOptions = {}) {
    const core = (this.core = createConverterCore(options, true));
    this.keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
    this.clock = options.clock ?? Date.now;
    this.sse = new ChatSseDecoder({
      chunk: (c) => {
        if (this.single !== null) this.memo.learn(this.single, c);
        this.single = null;
        core.push(c);
      },
      done: () => core.done(),
      error: (e) => core.fail(e),
      comment: () => this.onComment(),
    });
  }

  private onComment(): void {
    if (this.core.ended) return;
    const t = this.clock();
    if (t - this.lastKeepAlive < this.keepAliveMs) return;
    this.lastKeepAlive = t;
    this.keepAliveDue = true;
  }

  feed(bytes: Uint8Array): void {
    if (this.core.ended) return;
    const text = this.decoder.decode(bytes, STREAMING);
    if (!text) return;
    if (this.boundary) {
      const chunk = this.memo.match(text);
      if (chunk) return this.core.push(chunk);
      if (this.memo.learning && text.startsWith("data:") && text.indexOf("\n") === text.length - 2 && text.endsWith("\n\n")) this.single = text;
    }
    this.sse.feed(text);
    this.single = null;
    this.boundary = text.endsWith("\n\n");
  }

  /** End of the upstream body: a last event with no blank line is still read, then the converter's `finish`. */
  end(): void {
    if (this.core.ended) return;
    this.sse.feed(this.decoder.decode());
    this.sse.end();
    this.core.finish();
  }

  get ended(): boolean {
    return this.core.ended;
  }

  get response(): ResponseResource {
    return this.core.response;
  }

  /** Whether `flush` has anything to write. */
  get ready(): boolean {
    return this.core.out.size > 0 || this.keepAliveDue;
  }

  /** The batch as it stands, for a hook that amends items before they are serialized. */
  get pending(): PendingEvents {
    return this.core.out.events;
  }

  /** Serializes the batch into `sink`, in order, and empties it. */
  flush(sink: EventSink): void {
    if (this.keepAliveDue) {
      this.keepAliveDue = false;
      sink.keepAlive?.();
    }
    const { types, events } = this.core.out;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      sink.event(types[i]!, typeof e === "string" ? e : JSON.stringify(e));
    }
    this.core.out.clear();
  }
}
