import { DONE_FRAME } from "../sse-encode.ts";
import type { EventSink } from "./event-pump.ts";

/** Stateless, so one serves every stream. */
const encoder = new TextEncoder();
const BLOCK = 16_384;

/**
 * Collects a batch as Responses SSE text (`event: <type>\ndata: <json>\n\n`)
 * and hands it out as one `Uint8Array`: one encode and one enqueue per batch.
 */
export class SseSink implements EventSink {
  private text = "";

  event(type: string, json: string): void {
    this.text += `event: ${type}\ndata: ${json}\n\n`;
  }

  keepAlive(): void {
    this.text += ": keep-alive\n\n";
  }

  /** `data: [DONE]`, after the terminal event, as OpenAI sends it. */
  done(): void {
    this.text += DONE_FRAME;
  }

  private block = new Uint8Array(0);
  private at = 0;

  /**
   * The collected bytes, or null when nothing was collected. Batches are encoded one after
   * another into a shared block (a fresh one when the next might not fit): no buffer of its
   * own per batch, which costs more than the encoding. The views handed out never overlap
   * and are never written again.
   */
  take(): Uint8Array | null {
    const text = this.text;
    if (!text) return null;
    this.text = "";
    let block = this.block;
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (block.length - this.at < text.length * 3) (block = this.block = new Uint8Array(Math.max(BLOCK, text.length * 3))), (this.at = 0);
    const start = this.at;
    return block.subarray(start, (this.at += encoder.encodeInto(text, block.subarray(start)).written));
  }
}
