import { DONE_FRAME } from "./sse-encode.ts";
import type { EventSink } from "./event-pump.ts";

/** Stateless, so one serves every stream. */
const encoder = new TextEncoder();
/** Bytes per shared block (a batch larger than that gets a block of its own size). */
const BLOCK = 16_384;

/**
 * Collects a batch as Responses SSE text (`event: <type>\ndata: <json>\n\n`)
 * and hands it out as one `Uint8Array`: one encode and one enqueue per batch.
 *
 * Batches are encoded one after another into a shared block (`encodeInto`,
 * a fresh block when the next batch might not fit), and each is handed out
 * as a view of its own bytes: a new buffer per batch costs more than the
 * encoding itself. The views never overlap and are never written again; like
 * Node's pooled `Buffer`s, chunks of one stream may share an `ArrayBuffer`.
 */
export class SseSink implements EventSink {
  private text = "";
  private block = new Uint8Array(0);
  private at = 0;

  event(type: string, json: string): void {
    this.text += `event: ${type}\ndata: ${json}\n\n`;
  }

  keepAlive(): void {
    this.text += ": keep-alive\n\n";
  }

  /** Text already framed as SSE (the reverse direction's chat chunks). */
  write(text: string): void {
    this.text += text;
  }

  /** `data: [DONE]`, after the terminal event, as OpenAI sends it. */
  done(): void {
    this.text += DONE_FRAME;
  }

  /** The collected bytes, or null when nothing was collected. */
  take(): Uint8Array | null {
    const text = this.text;
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    const most = text.length * 3;
    if (!most) return null;
    this.text = "";
    if (this.block.length - this.at < most) (this.block = new Uint8Array(most + BLOCK)), (this.at = 0);
    const start = this.at;
    return this.block.subarray(start, (this.at += encoder.encodeInto(text, this.block.subarray(start)).written));
  }
}
