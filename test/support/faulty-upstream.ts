/**
 * In-process upstream bodies that misbehave the way networks do: parts, then
 * an end, a reset (the body errors), or a stall (no more bytes, ever).
 * `cancelled` tells whether the consumer side cancelled it.
 */
export type Ending = "close" | "reset" | "stall";

export interface FaultyBody {
  body: ReadableStream<Uint8Array>;
  readonly cancelled: boolean;
  readonly cancelReason: unknown;
  /** How many parts were pulled (backpressure: nothing is read ahead). */
  readonly pulled: number;
}

const utf8 = new TextEncoder();

export function faultyBody(parts: Array<string | Uint8Array>, ending: Ending = "close", resetError: unknown = new TypeError("Network connection lost.")): FaultyBody {
  let i = 0;
  const state = { cancelled: false, cancelReason: undefined as unknown, pulled: 0 };
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (i < parts.length) {
          const p = parts[i++]!;
          state.pulled++;
          controller.enqueue(typeof p === "string" ? utf8.encode(p) : p);
          return;
        }
        if (ending === "close") controller.close();
        else if (ending === "reset") controller.error(resetError);
        // "stall": never enqueue again; the pending read waits until cancelled.
        else return new Promise<void>(() => {});
      },
      cancel(reason) {
        state.cancelled = true;
        state.cancelReason = reason;
      },
    },
    { highWaterMark: 0 },
  );
  return {
    body,
    get cancelled() {
      return state.cancelled;
    },
    get cancelReason() {
      return state.cancelReason;
    },
    get pulled() {
      return state.pulled;
    },
  };
}
