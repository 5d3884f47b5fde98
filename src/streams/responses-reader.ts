import type { ResponseResource } from "../types/responses.ts";
import { bodyOf, describe, type UpstreamBody } from "./upstream-body.ts";
import type { PendingEvents } from "../convert/emitter.ts";
import { type EventSink, EventPump, type PumpOptions } from "./event-pump.ts";

/** An upstream that sends nothing for this long (ms) is cancelled and the response fails. */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** The upstream as a `fetch` gives it: the `Response`, or its body. */
export type { UpstreamBody } from "./upstream-body.ts";

export interface ResponsesReaderOptions extends PumpOptions {
  /**
   * Cancel the upstream and fail the response after this many ms without a
   * byte from it (comments count as bytes). Default 120000; 0 turns it off.
   * Checked by one watchdog timer against a last-activity time, not a timer per read.
   */
  idleTimeoutMs?: number;
  /**
   * Opt-in (default 0, off): after a read that produced events, keep reading
   * for up to this many ms and write everything as one batch. Fewer writes
   * (less CPU per token at the edge) for up to this much added latency.
   */
  coalesceMs?: number;
  /**
   * Runs over each batch before it is serialized; may be async (the batch
   * waits). Event objects in it may be amended (e.g. an item in
   * `response.output_item.done`); strings are hot deltas already serialized.
   */
  beforeFlush?: (pending: PendingEvents) => void | Promise<void>;
}

/**
 * The transport-agnostic core: reads the upstream itself (so a reset or an
 * error mid-stream becomes `error` + `response.failed`, which `pipeThrough`
 * cannot do) and hands each batch of events to a sink. An SSE body and a
 * WebSocket loop both drive it:
 *
 * ```ts
 * const reader = createResponsesReader(upstream, { request, onEnd: store });
 * while (await reader.pull({ event: (type, json) => ws.send(json) }));
 * ```
 */
export interface ResponsesReader {
  /**
   * Reads the upstream until at least one event (or keep-alive) is ready, at
   * most one batch, and writes it to `sink`. Resolves `false` once the
   * terminal event has been written (nothing more will come).
   */
  pull(sink: EventSink): Promise<boolean>;
  /** The consumer went away: the upstream is cancelled, `onEnd` gets the response as `cancelled`. Never rejects. */
  cancel(reason?: unknown): Promise<void>;
  readonly ended: boolean;
  /** The response as it stands (final once `ended`). */
  readonly response: ResponseResource;
}

const noop = () => {};

/** Resolves true when `p` settles within `ms`, false otherwise (`p` is left running). */
function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    p.then(done, done);
  });
}

export function createResponsesReader(upstream: UpstreamBody, options: ResponsesReaderOptions = {}): ResponsesReader {
  // `onEnd` waits until the terminal batch has been through `beforeFlush`.
  const pump = new EventPump({ ...options, onEnd: undefined });
  const core = pump.core;
  const body = bodyOf(upstream);
  const reader = body ? body.getReader() : null;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const coalesceMs = options.coalesceMs ?? 0;
  const clock = options.clock ?? Date.now;

  let lastActivity = 0;
  let reading = false;
  let timedOut = false;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let finished = false;
  /** A read left pending by a coalescing window that closed first; the next pull takes it. */
  let pendingRead: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;

  // One timer for the whole stream: it wakes up when the idle time could have run out
  // and re-arms itself for the remainder, so reads never touch a timer. While the
  // consumer is not reading it lapses (nothing to watch, and nothing to keep a process
  // alive for); the next pull arms it again.
  function arm(ms: number): void {
    watchdog = setTimeout(check, Math.max(ms, 1));
  }
  function check(): void {
    watchdog = undefined;
    if (finished || !reading) return;
    const idle = clock() - lastActivity;
    if (idle >= idleMs) {
      timedOut = true;
      // Resolves the pending read as done (workerd: rejects it); `pull` then sees `timedOut`.
      reader!.cancel(new Error(`idle for ${idle} ms`)).catch(noop);
      return;
    }
    arm(idleMs - idle);
  }

  function finish(): void {
    if (finished) return;
    finished = true;
    if (watchdog !== undefined) clearTimeout(watchdog);
    // Past the terminal event nothing more is read: release the upstream connection.
    reader?.cancel().catch(noop);
    options.onEnd?.(core.response);
  }

  function failIdle(): void {
    core.fail({
      code: "upstream_idle_timeout",
      type: "upstream_error",
      message: `Upstream sent nothing for ${idleMs / 1000} s (idle timeout); it was cancelled and the response is incomplete.`,
    });
  }

  function failDisconnected(e: unknown): void {
    core.fail({
      code: "upstream_disconnected",
      type: "upstream_error",
      message: `Upstream connection failed mid-stream (${describe(e)}); what arrived was sent and the response is incomplete.`,
    });
  }

  return {
    // One async frame per batch (the read loop is inline, not a second async function): each
    // `await` costs a promise and a microtask turn, per upstream read.
    async pull(sink) {
      if (finished) return false;
      if (!reader) core.fail({ code: "server_error", type: "upstream_error", message: "Upstream answered without a body." });
      else {
        lastActivity = clock();
        if (idleMs > 0 && watchdog === undefined) arm(idleMs);
        let batchStart = -1;
        while (!core.ended) {
          let r: ReadableStreamReadResult<Uint8Array>;
          reading = true;
          try {
            r = await (pendingRead ?? reader.read());
          } catch (e) {
            reading = false;
            pendingRead = null;
            // workerd rejects a read pending when the watchdog cancels; the cause is still the timeout.
            if (timedOut) failIdle();
            else failDisconnected(e);
            break;
          }
          reading = false;
          pendingRead = null;
          if (timedOut) {
            failIdle();
            break;
          }
          if (r.done) {
            pump.end();
            break;
          }
          pump.feed(r.value);
          if (core.ended) break;
          // A batch that leaves now needs no time: the next pull stamps when its wait begins.
          if (pump.ready && coalesceMs <= 0) break;
          const now = (lastActivity = clock());
          if (!pump.ready) continue;
          // Coalescing (opt-in): more reads join this batch while the window is open.
          if (batchStart < 0) batchStart = now;
          const left = coalesceMs - (now - batchStart);
          if (left <= 0) break;
          reading = true;
          pendingRead = reader.read();
          if (!(await settlesWithin(pendingRead, left))) break;
        }
      }
      if (finished) return false; // cancelled meanwhile
      if (options.beforeFlush) {
        try {
          const wait = options.beforeFlush(pump.pending);
          if (wait) await wait;
        } catch (e) {
          // A failing hook (sealing) ends the response like any failure: error + response.failed, upstream cancelled by `finish`.
          core.fail({ code: "server_error", type: "server_error", message: `Preparing events failed: ${describe(e)}` });
        }
      }
      // `onEnd` (a host's store write) starts before the terminal event leaves, so a continuation sent on seeing it finds the response.
      const ended = core.ended;
      if (ended) finish();
      pump.flush(sink);
      return !ended;
    },
    async cancel(reason) {
      if (finished) return;
      core.cancel();
      finish();
      await reader?.cancel(reason).catch(noop);
    },
    get ended() {
      return core.ended;
    },
    get response() {
      return core.response;
    },
  };
}
