import type { ResponseStreamEvent } from "../types/responses.ts";

/** The frame that ends a Responses stream after its terminal event, as OpenAI sends it. */
export const DONE_FRAME = "data: [DONE]\n\n";

/**
 * One event as one SSE frame. `JSON.stringify` never writes a raw line
 * break, so `data:` is always a single line and `event:` equals `type`.
 */
export function encodeEvent(event: ResponseStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Many events as one string, so a batch costs one `TextEncoder.encode`. */
export function encodeEvents(events: readonly ResponseStreamEvent[]): string {
  let s = "";
  for (let i = 0; i < events.length; i++) s += encodeEvent(events[i]!);
  return s;
}
