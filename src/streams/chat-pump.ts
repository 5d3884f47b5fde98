import { createParser, type EventSourceParser } from "eventsource-parser";
import { normalizeUpstreamError } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import { jsonOrText } from "../internal/json-or-text.ts";
import { DeltaMemo } from "./delta-memo.ts";
import { createReverseCore, type ResponsesEventLike, type ResponsesToChatOptions, type ReverseCore } from "../reverse/converter.ts";

const SNIPPET = 300;
/** A body that is not SSE is kept up to this size, to be read whole at the end (a JSON answer to a stream request). */
const MAX_PREAMBLE = 1 << 20;
const STREAMING = { stream: true };

export interface ChatPumpOptions extends ResponsesToChatOptions {
  /**
   * Upstream SSE comments (a server's keep-alives while a model thinks) are passed on to the
   * client as `: keep-alive` at most this often (ms; default 5000), so that nothing between
   * them cuts a connection that only looks idle. Chat clients skip comments.
   */
  keepAliveMs?: number;
  /** Milliseconds clock for the keep-alive throttle (default `Date.now`). */
  clock?: () => number;
}

/**
 * Responses SSE bytes → chat SSE text, shared by the reverse stream shells:
 * one `TextDecoder` call per upstream read, `eventsource-parser` for framing,
 * the reverse converter in wire mode. The text collects in the converter's
 * writer until the shell takes it.
 *
 * Besides events it reads what servers send instead: `event: error` frames,
 * `[DONE]` (ignored: the terminal event decides), and a body that is no SSE
 * at all (a Response object for a server that ignored `stream`, or an error
 * sent with status 200), read whole at the end.
 */
export class ChatPump {
  readonly core: ReverseCore;
  private readonly decoder = new TextDecoder();
  private readonly parser: EventSourceParser;
  private sawEvent = false;
  private preamble = "";
  /** Set while the last, unterminated frame is read at the end: a cut frame is no protocol fault, just the cut. */
  private ending = false;
  private readonly memo = new DeltaMemo();
  /** Whether everything fed so far ended at a frame boundary (the SSE parser holds nothing). */
  private boundary = true;
  /** While a read that is exactly one frame is being parsed: its text, to learn from. */
  private single: string | null = null;

  constructor(options: ChatPumpOptions = {}) {
    const core = (this.core = createReverseCore(options, true));
    const keepAliveMs = options.keepAliveMs ?? 5_000;
    const clock = options.clock ?? Date.now;
    let lastKeepAlive = -Infinity;
    this.parser = createParser({
      onComment: () => {
        const t = clock();
        if (core.ended || t - lastKeepAlive < keepAliveMs) return;
        lastKeepAlive = t;
        core.out.comment();
      },
      onEvent: (msg) => {
        this.sawEvent = true;
        const data = msg.data;
        if (data === "[DONE]") return;
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          if (this.ending) return;
          return core.fail({ message: `Upstream sent an SSE frame that is not JSON: ${data.slice(0, SNIPPET)}`, type: "server_error", code: "server_error" });
        }
        if (!isObject(parsed) || typeof parsed["type"] !== "string") {
          if (msg.event === "error" || (isObject(parsed) && "error" in parsed)) return core.fail(normalizeUpstreamError(parsed));
          return core.fail({ message: `Upstream sent an SSE frame that is not a Responses event: ${data.slice(0, SNIPPET)}`, type: "server_error", code: "server_error" });
        }
        if (this.single !== null) this.memo.learn(this.single, parsed as Record<string, unknown> & { type: string });
        this.single = null;
        core.push(parsed as unknown as ResponsesEventLike);
      },
    });
  }

  feed(bytes: Uint8Array): void {
    if (this.core.ended) return;
    const text = this.decoder.decode(bytes, STREAMING);
    if (!text) return;
    if (this.boundary) {
      const event = this.memo.match(text);
      if (event) return this.core.push(event);
      if (text.startsWith("event: ") && text.indexOf("\n\n") === text.length - 2) this.single = text;
    }
    if (!this.sawEvent && this.preamble.length < MAX_PREAMBLE) this.preamble += text;
    this.parser.feed(text);
    this.single = null;
    this.boundary = text.endsWith("\n\n");
  }

  /** End of the upstream body: a last event without its blank line is still read, then the converter's `finish`. */
  end(): void {
    if (this.core.ended) return;
    this.ending = true;
    this.parser.feed(this.decoder.decode() + "\n\n");
    this.parser.reset();
    if (!this.sawEvent) this.readWhole();
    this.core.finish();
  }

  /** A body with no SSE event in it: a whole Response object is replayed as its final event; anything else is the error. */
  private readWhole(): void {
    const text = this.preamble.trim();
    this.preamble = "";
    if (!text) return;
    const body = jsonOrText(text);
    const status = isObject(body) && body["object"] === "response" ? body["status"] : undefined;
    if (status === "completed" || status === "incomplete" || status === "failed") {
      this.core.push({ type: "response.created", response: body } as ResponsesEventLike);
      this.core.push({ type: `response.${status}`, response: body } as ResponsesEventLike);
      return;
    }
    if (typeof status === "string") {
      this.core.fail({ message: `Upstream answered with a response still ${status} instead of an event stream.`, type: "server_error", code: "server_error" });
      return;
    }
    const e = normalizeUpstreamError(body);
    this.core.fail({ ...e, message: `Upstream did not send an event stream: ${e.message.slice(0, SNIPPET)}` });
  }

  get ended(): boolean {
    return this.core.ended;
  }

  /** The SSE text written since the last call. */
  take(): string {
    return this.core.out.takeText();
  }
}
