import type { ChatCompletionChunk } from "./chat-types.ts";
import { type ConvertOptions, createChatToResponsesConverter } from "./convert-stream.ts";
import type { ResponseStreamEvent } from "./responses-types.ts";
import { ChatSseDecoder } from "./sse-decode.ts";
import { DONE_FRAME, encodeEvents } from "./sse-encode.ts";

export type ChatToResponsesStreamOptions = ConvertOptions;

// Stateless, so one serves every stream.
const encoder = new TextEncoder();

/**
 * Chat Completions SSE bytes in, Responses SSE bytes out.
 *
 * One JS stream hop for the whole conversion, and per upstream read: one
 * decode, one encode, at most one `enqueue`. Events leave in the same
 * `transform` call that read their chunk; nothing waits for the next read.
 */
export class ChatToResponsesStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(options: ChatToResponsesStreamOptions = {}) {
    const converter = createChatToResponsesConverter(options);
    const decoder = new TextDecoder();
    let pending = "";
    const add = (events: ResponseStreamEvent[]) => {
      if (events.length === 0) return;
      pending += encodeEvents(events);
      if (converter.ended) pending += DONE_FRAME;
    };
    const sse = new ChatSseDecoder({
      chunk: (c) => add(converter.push(c)),
      done: () => add(converter.done()),
      error: (e) => add(converter.fail(e)),
    });
    const send = (controller: TransformStreamDefaultController<Uint8Array>) => {
      if (pending === "") return;
      controller.enqueue(encoder.encode(pending));
      pending = "";
    };
    // `cancel` is in the Streams standard (Node 21+, workerd, browsers) but not yet in TypeScript's DOM types.
    const transformer: Transformer<Uint8Array, Uint8Array> & { cancel(): void } = {
      transform(bytes, controller) {
        sse.feed(decoder.decode(bytes, { stream: true }));
        send(controller);
        // The terminal event is out: stop reading so the upstream connection is released.
        if (converter.ended) controller.terminate();
      },
      flush(controller) {
        sse.feed(decoder.decode());
        sse.end();
        add(converter.finish());
        send(controller);
      },
      // The reader went away: end the response anyway, so `onEnd` sees what was produced (events go nowhere).
      cancel() {
        converter.fail(CANCELLED);
      },
    };
    super(transformer);
  }
}

/** How a response ends when its reader cancels the stream; hosts recognise it by `code`. */
export const CANCELLED = { code: "cancelled", type: "cancelled", message: "The client closed the stream before the response finished." } as const;

/**
 * Parsed chunks in (e.g. from the `openai` SDK's `chat.completions.create({stream: true})`),
 * Responses event objects out.
 */
export class ChatChunksToResponsesEventsStream extends TransformStream<ChatCompletionChunk, ResponseStreamEvent> {
  constructor(options: ConvertOptions = {}) {
    const converter = createChatToResponsesConverter(options);
    const forward = (events: ResponseStreamEvent[], controller: TransformStreamDefaultController<ResponseStreamEvent>) => {
      for (const e of events) controller.enqueue(e);
    };
    super({
      transform(chunk, controller) {
        forward(converter.push(chunk), controller);
        if (converter.ended) controller.terminate();
      },
      flush(controller) {
        forward(converter.finish(), controller);
      },
    });
  }
}
