import { ChatPump, type ChatPumpOptions } from "./chat-pump.ts";
import { bodyOf, describe, type UpstreamBody } from "./upstream-body.ts";
import { SseSink } from "./sse-sink.ts";

export type ResponsesToChatStreamOptions = ChatPumpOptions;

/**
 * Responses SSE bytes in, Chat Completions SSE bytes out, for `pipeThrough`:
 * one decode, one encode and at most one `enqueue` per upstream read.
 *
 * Its limit is `pipeThrough`'s: when the source errors (a reset mid-stream)
 * the pipe errors this stream too, so no error frame can be written and the
 * client sees a transport error. `responsesToChatSse` reads the upstream
 * itself and turns that into an error frame; use it whenever you hold the
 * upstream `Response` or body.
 */
export class ResponsesToChatStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(options: ResponsesToChatStreamOptions = {}) {
    const pump = new ChatPump(options);
    const sink = new SseSink();
    const send = (controller: TransformStreamDefaultController<Uint8Array>) => {
      sink.write(pump.take());
      const bytes = sink.take();
      if (bytes) controller.enqueue(bytes);
    };
    super({
      transform(bytes, controller) {
        pump.feed(bytes);
        send(controller);
        // The stream is over (finish_reason and [DONE], or an error frame): stop reading the upstream.
        if (pump.ended) controller.terminate();
      },
      flush(controller) {
        pump.end();
        send(controller);
      },
    });
  }
}

export interface ResponsesToChatSseOptions extends ChatPumpOptions {
  /**
   * Cancel the upstream and end the stream with an error frame after this
   * many ms without a byte from it. Default 120000; 0 turns it off.
   */
  idleTimeoutMs?: number;
}

const noop = () => {};

/**
 * The upstream Responses `Response` (or its body) → Chat Completions SSE
 * bytes, as a pull `ReadableStream` that reads the upstream only when its
 * consumer reads. Unlike `pipeThrough(new ResponsesToChatStream())` it sees
 * the upstream fail: a reset, a stall past `idleTimeoutMs`, a missing body
 * all end in an error frame after everything that arrived, never in a clean
 * `finish_reason`. Cancelling it cancels the upstream.
 */
export function responsesToChatSse(upstream: UpstreamBody, options: ResponsesToChatSseOptions = {}): ReadableStream<Uint8Array> {
  const pump = new ChatPump(options);
  const sink = new SseSink();
  const body = bodyOf(upstream);
  const reader = body ? body.getReader() : null;
  const idleMs = options.idleTimeoutMs ?? 120_000;
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastActivity = 0;
  let finished = false;
  let reading = false;

  // One timer for the whole stream, re-armed for the remainder when it wakes (reads never touch it).
  // While the consumer is not reading it lapses (a slow client is no idle upstream); the next read arms it.
  const check = () => {
    timer = undefined;
    if (finished || !reading) return;
    const idle = Date.now() - lastActivity;
    if (idle < idleMs) return void (timer = setTimeout(check, idleMs - idle));
    timedOut = true;
    reader?.cancel(new Error(`idle for ${idle} ms`)).catch(noop);
  };
  const stop = () => {
    finished = true;
    if (timer !== undefined) clearTimeout(timer);
  };

  /** Reads until there is something to send or the stream ended. */
  async function step(): Promise<void> {
    if (!reader) return pump.core.fail({ message: "Upstream answered without a body.", type: "server_error", code: "server_error" });
    lastActivity = Date.now();
    if (idleMs > 0 && timer === undefined) timer = setTimeout(check, idleMs);
    while (!pump.ended) {
      let r: ReadableStreamReadResult<Uint8Array>;
      reading = true;
      try {
        r = await reader.read();
      } catch (e) {
        reading = false;
        if (timedOut) return failIdle();
        return pump.core.fail({ message: `Upstream connection failed mid-stream (${describe(e)}); what arrived was sent and the answer is incomplete.`, type: "server_error", code: "upstream_disconnected" });
      }
      reading = false;
      if (timedOut) return failIdle();
      if (r.done) return pump.end();
      lastActivity = Date.now();
      pump.feed(r.value);
      if (pump.core.out.text) return;
    }
  }
  function failIdle(): void {
    pump.core.fail({ message: `Upstream sent nothing for ${idleMs / 1000} s (idle timeout); it was cancelled and the answer is incomplete.`, type: "server_error", code: "upstream_idle_timeout" });
  }

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        await step();
        if (finished) return;
        sink.write(pump.take());
        const bytes = sink.take();
        if (bytes) controller.enqueue(bytes);
        if (pump.ended) {
          stop();
          // Past the end nothing more is read: release the upstream connection.
          reader?.cancel().catch(noop);
          controller.close();
        }
      },
      cancel(reason) {
        stop();
        return reader?.cancel(reason).catch(noop);
      },
    },
    { highWaterMark: 1 },
  );
}
