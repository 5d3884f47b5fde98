import { createParser, type EventSourceParser } from "eventsource-parser";
import type { ChatCompletion, ChatCompletionChunk } from "../types/chat.ts";
import { type ErrorPayload, normalizeUpstreamError, ResponsesError } from "../errors.ts";
import { completionToChunk } from "../convert/from-completion.ts";
import { isObject } from "../internal/is-object.ts";
import { jsonOrText } from "../internal/json-or-text.ts";

export interface ChatSseHandlers {
  chunk(chunk: ChatCompletionChunk): void;
  /** `data: [DONE]`. */
  done(): void;
  /** A frame that could not be read as a chunk, already in the error shape. */
  error(error: ErrorPayload): void;
  /** An SSE comment (`: keep-alive`, OpenRouter's `: OPENROUTER PROCESSING`): the upstream is alive. */
  comment?(): void;
}

const SNIPPET = 300;
/** A body that is not SSE is kept up to this size, to be read whole at the end (a JSON answer to a stream request). */
const MAX_PREAMBLE = 1 << 20;

/**
 * Chat Completions SSE text → parsed chunks, on `eventsource-parser`'s core.
 * Handles what the parser does not know about: the `[DONE]` sentinel,
 * `event: error` frames (vLLM, OpenRouter), and bodies that are not SSE at
 * all (a JSON error sent with status 200), whose text is kept for the error.
 */
export class ChatSseDecoder {
  private readonly parser: EventSourceParser;
  private readonly on: ChatSseHandlers;
  private sawEvent = false;
  private preamble = "";

  constructor(on: ChatSseHandlers) {
    this.on = on;
    this.parser = createParser({
      onComment: on.comment ? () => on.comment!() : undefined,
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
        // An error frame: OpenAI's `{"error": …}`, or one wrapped in an array as Google's OpenAI-compatible endpoint wraps its errors
        // (an object frame, the usual chunk, costs no more than before).
        const errorFrame = isObject(parsed) ? !("choices" in parsed) && "error" in parsed : Array.isArray(parsed) && isObject(parsed[0]) && "error" in parsed[0];
        if (msg.event === "error" || errorFrame) {
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
    if (!this.sawEvent && this.preamble.length < MAX_PREAMBLE) this.preamble += text;
    this.parser.feed(text);
  }

  /**
   * End of input. A last event with no blank line after it is dispatched
   * (servers that close right after `data: …`); `EventSourceParserStream`
   * drops it, and `reset({consume: true})` only parses the pending line
   * without dispatching it, so the missing terminator is supplied instead.
   *
   * A body that held no SSE event at all is read whole: a chat completion
   * (servers that ignore `stream: true`) is handed on as one chunk and
   * `[DONE]`; anything else becomes an error carrying its text.
   */
  end(): void {
    this.parser.feed("\n\n");
    this.parser.reset();
    if (this.sawEvent) return;
    const text = this.preamble.trim();
    this.preamble = "";
    if (!text) return;
    const body = jsonOrText(text);
    if (isObject(body) && Array.isArray(body["choices"])) {
      try {
        this.on.chunk(completionToChunk(body as unknown as ChatCompletion));
        this.on.done();
        return;
      } catch (e) {
        if (!(e instanceof ResponsesError)) throw e;
        this.on.error({ ...e.payload, message: `Upstream did not send an event stream: ${e.message}` });
        return;
      }
    }
    const e = normalizeUpstreamError(body);
    this.on.error({ ...e, message: `Upstream did not send an event stream: ${e.message.slice(0, SNIPPET)}` });
  }
}

