/** The delta events whose frames differ only in `delta` and `sequence_number` from one token to the next. */
const DELTA_TYPES: ReadonlySet<string> = new Set([
  "response.output_text.delta",
  "response.reasoning_summary_text.delta",
  "response.reasoning_text.delta",
  "response.refusal.delta",
  "response.function_call_arguments.delta",
]);
/** What may follow the delta's string in OpenAI's frames: empty logprobs, the padding, the sequence number. */
const TAIL = /^(?:,"logprobs":\[\])?(?:,"obfuscation":"[\w+/=-]*")?,"sequence_number":\d+\}\n\n$/;
/** A string body that needs `JSON.parse`: an escape or a control character. */
const NOT_PLAIN = /[\\\u0000-\u001f]/;

type Event = Record<string, unknown> & { type: string };

/**
 * The reverse direction's hot path without `JSON.parse` of whole events:
 * OpenAI sends every token as the same frame with only the text, padding and
 * sequence number changed,
 *
 *     event: response.output_text.delta
 *     data: {"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"<text>","logprobs":[],"obfuscation":"…","sequence_number":7}
 *
 * Once one such frame has been parsed the usual way, everything up to
 * `"delta":` is learned as a prefix, with the event it was parsed into; a
 * later read that is exactly one frame with that prefix, a JSON string, and a
 * tail of only those fields becomes the same event with the new text (the
 * converter reads neither padding nor sequence number). Anything else misses
 * and goes the usual way, which may learn the new prefix.
 */
export class DeltaMemo {
  private prefix = "";
  private event: Event | null = null;

  /** Learns `frame` (one whole read, one event) from the event it was parsed into. */
  learn(frame: string, event: Event): void {
    if (!DELTA_TYPES.has(event.type) || typeof event["delta"] !== "string") return;
    const at = frame.indexOf('"delta":"');
    if (at < 0) return;
    const prefix = frame.slice(0, at + 8);
    const end = stringEnd(frame, prefix.length);
    if (end < 0 || !TAIL.test(frame.slice(end + 1)) || JSON.parse(frame.slice(prefix.length, end + 1)) !== event["delta"]) return;
    this.prefix = prefix;
    this.event = { ...event };
  }

  /** The event `frame` stands for, or null when it is not the learned shape. The object is reused: read it before the next call. */
  match(frame: string): Event | null {
    const event = this.event;
    if (!event || !frame.startsWith(this.prefix)) return null;
    const start = this.prefix.length;
    const end = stringEnd(frame, start);
    if (end < 0 || !TAIL.test(frame.slice(end + 1))) return null;
    const body = frame.slice(start + 1, end);
    if (!NOT_PLAIN.test(body)) event["delta"] = body;
    else {
      try {
        event["delta"] = JSON.parse(frame.slice(start, end + 1)) as string;
      } catch {
        return null;
      }
    }
    return event;
  }
}

/** The index of the quote closing the JSON string that opens at `start`, or -1. */
function stringEnd(text: string, start: number): number {
  if (text.charCodeAt(start) !== 34) return -1;
  for (let i = text.indexOf('"', start + 1); i >= 0; i = text.indexOf('"', i + 1)) {
    let slashes = 0;
    while (text.charCodeAt(i - 1 - slashes) === 92) slashes++;
    if (slashes % 2 === 0) return i;
  }
  return -1;
}
