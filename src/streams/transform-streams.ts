import type { ChatCompletionChunk } from "../types/chat.ts";
import { type ConvertOptions, createChatToResponsesConverter } from "../convert/converter.ts";
import type { ResponseStreamEvent } from "../types/responses.ts";
import { EventPump, type PumpOptions } from "./event-pump.ts";
import { SseSink } from "./sse-sink.ts";

export type ChatToResponsesStreamOptions = PumpOptions;

/**
 * Chat Completions SSE bytes in, Responses SSE bytes out, for `pipeThrough`.
 *
 * Per upstream read: one decode, one encode, at most one `enqueue`; events
 * leave in the same `transform` call that read their chunk.
 *
 * Its limit is `pipeThrough`'s: when the source errors (a connection reset
 * mid-stream), the pipe errors this stream too, so no terminal event can be
 * written and the client sees a transport error. `chatToResponsesSse`
 * reads the upstream itself and turns that into `response.failed`; use it
 * whenever you hold the upstream `Response` or body.
 */
export class ChatToResponsesStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(options: ChatToResponsesStreamOptions = {}) {
    const pump = new EventPump(options);
    const sink = new SseSink();
    let closed = false;
    const send = (controller: TransformStreamDefaultController<Uint8Array>) => {
      if (pump.ready) pump.flush(sink);
      if (pump.ended && !closed) {
        closed = true;
        sink.done();
      }
      const bytes = sink.take();
      if (bytes) controller.enqueue(bytes);
    };
    // `cancel` is in the Streams standard (Node 21+, workerd, browsers) but not yet in TypeScript's DOM types.
    const transformer: Transformer<Uint8Array, Uint8Array> & { cancel(): void } = {
      transform(bytes, controller) {
        pump.feed(bytes);
        send(controller);
        // The terminal event is out: stop reading so the upstream connection is released.
        if (pump.ended) controller.terminate();
      },
      flush(controller) {
        pump.end();
        send(controller);
      },
      // The reader went away: end the response anyway (status `cancelled`, open items `incomplete`),
      // so `onEnd` sees what was produced; the events go nowhere.
      cancel() {
        pump.core.cancel();
      },
    };
    super(transformer);
  }
}

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
