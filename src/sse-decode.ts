import { createParser, type EventSourceParser } from "eventsource-parser";
import type { ChatCompletionChunk } from "./chat-types.ts";
import { type ErrorPayload, normalizeUpstreamError } from "./errors.ts";

export interface ChatSseHandlers {
  chunk(chunk: ChatCompletionChunk): void;
  /** `data: [DONE]`. */
  done(): void;
  /** A frame that could not be read as a chunk, already in the error shape. */
  error(error: ErrorPayload): void;
}

const SNIPPET = 300;

/**
 * Chat Completions SSE text → parsed chunks, on `eventsource-parser`'s core.
 * Handles what the parser does not know about: the `[DONE]` sentinel,
 * `event: error` frames (vLLM, OpenRouter), and bodies that are not SSE at
 * all (a JSON error sent with status 200), whose text is kept for the error.
 */
export class ChatSseDecoder {
  private readonly parser: EventSourceParser;
  private sawEvent = false;
  private preamble = "";

  constructor(on: ChatSseHandlers) {
    this.parser = createParser({
      onEvent: (msg) => {
        this.sawEvent = true;
        const data = msg.data;
        if (data === "[DONE]") return on.done();
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          return on.error({
            code: "server_error",
            type: "upstream_protocol_error",
            param: null,
            message: `Upstream sent an SSE frame that is not JSON: ${data.slice(0, SNIPPET)}`,
          });
        }
        if (msg.event === "error" || (isObject(parsed) && !("choices" in parsed) && "error" in parsed)) {
          return on.error(normalizeUpstreamError(parsed));
        }
        if (!isObject(parsed)) {
          return on.error({
            code: "server_error",
            type: "upstream_protocol_error",
            param: null,
            message: `Upstream sent an SSE frame that is not a chunk object: ${data.slice(0, SNIPPET)}`,
          });
        }
        on.chunk(parsed as unknown as ChatCompletionChunk);
      },
    });
  }

  feed(text: string): void {
    if (!this.sawEvent && this.preamble.length < 4096) this.preamble += text;
    this.parser.feed(text);
  }

  /**
   * End of input. A last event with no blank line after it is dispatched
   * (servers that close right after `data: …`); `EventSourceParserStream`
   * drops it, and `reset({consume: true})` only parses the pending line
   * without dispatching it, so the missing terminator is supplied instead.
   * Returns an error when the body never held an SSE event.
   */
  end(): ErrorPayload | null {
    this.parser.feed("\n\n");
    this.parser.reset();
    if (this.sawEvent) return null;
    const text = this.preamble.trim();
    if (!text) return null;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Plain text: an HTML error page or a proxy's message; report it as is.
    }
    const e = normalizeUpstreamError(body);
    return { ...e, message: `Upstream did not send an event stream: ${e.message.slice(0, SNIPPET)}` };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
