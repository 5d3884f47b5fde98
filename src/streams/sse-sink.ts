import { DONE_FRAME } from "../sse-encode.ts";
import type { EventSink } from "./event-pump.ts";

/** Stateless, so one serves every stream. */
const encoder = new TextEncoder();

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

  /** The collected bytes, or null when nothing was collected. */
  take(): Uint8Array | null {
    if (this.text === "") return null;
    const bytes = encoder.encode(this.text);
    this.text = "";
    return bytes;
  }
}
