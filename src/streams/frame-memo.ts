import type { ChatCompletionChunk } from "../chat-types.ts";
import { isObject } from "../is-object.ts";

/** A string body that needs a closer look: a quote, a backslash or a control character. */
const NOT_PLAIN = /["\\\u0000-\u001f]/;
/** After this many frames learned in a row without a single hit, the memo stops learning (an upstream whose frames all differ). */
const MAX_MISSES = 8;
/** The delta fields a token's text streams in: the answer, and reasoning as DeepSeek / vLLM and OpenRouter / Ollama name it. */
const SLOTS = ["content", "reasoning_content", "reasoning"] as const;
type Slot = (typeof SLOTS)[number];

type Flat = Record<string, string | number | boolean | null>;

/** Whether `o` holds no nested value except under `skip` (the one the memo rebuilds). */
function flat(o: Record<string, unknown>, skip?: string): boolean {
  for (const k in o) if (k !== skip && typeof o[k] === "object" && o[k] !== null) return false;
  return true;
}

/**
 * The hot path of a streamed answer without `JSON.parse`: most upstreams send
 * every token as the same frame with only the text changed,
 *
 *     data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"<text>"},"finish_reason":null}]}
 *
 * Once one such frame has been parsed the usual way, it is learned as a
 * prefix and a suffix around the text; a later read that is exactly one frame
 * with the same prefix and suffix and a valid JSON string body in between
 * becomes the very chunk `JSON.parse` would have made (the learned values,
 * the new text), with no parse, no SSE framing and no key lookups. Anything
 * else (another shape, an escape that does not parse, a partial frame) misses
 * and goes the usual way, which may learn the new shape.
 *
 * In workerd that parse is most of the per-token JavaScript time.
 */
export class FrameMemo {
  private slot: Slot = "content";
  private prefix = "";
  private suffix = "";
  private top: Flat | null = null;
  private choice: Flat | null = null;
  private delta: Flat | null = null;
  private misses = 0;
  /** Whether learning is still worth it (stops after many learned frames that never matched). */
  learning = true;

  /**
   * Learns `frame` (one whole read: `data: <json>\n\n`, nothing else) from the
   * chunk it was parsed into, when that chunk has one choice whose delta
   * streams text in exactly one of the text fields and has no nested values
   * anywhere else.
   */
  learn(frame: string, chunk: unknown): void {
    if (++this.misses > MAX_MISSES) {
      this.learning = false;
      this.top = null;
      return;
    }
    const choices = isObject(chunk) ? chunk["choices"] : null;
    const choice: unknown = Array.isArray(choices) && choices.length === 1 ? choices[0] : null;
    const delta = isObject(choice) ? choice["delta"] : null;
    if (!isObject(delta)) return;
    const slots = SLOTS.filter((k) => typeof delta[k] === "string");
    if (slots.length !== 1 || !flat(chunk as Flat, "choices") || !flat(choice as Flat, "delta") || !flat(delta)) return;
    const slot = slots[0]!;
    // The first `"<slot>":"` is the string after that key in all but contrived frames (a key `x\"content`, a
    // top-level `content`); the probe below proves it is the delta's.
    const key = `"${slot}":"`;
    const at = frame.indexOf(key);
    if (at < 0) return;
    const start = at + key.length;
    let end = start;
    for (; end < frame.length; end++) {
      const c = frame.charCodeAt(end);
      if (c === 0x5c) end++;
      else if (c === 0x22) break;
    }
    const prefix = frame.slice(0, start);
    const suffix = frame.slice(end);
    // Prove the slot is this choice's delta field: the same frame around another text must parse to exactly that.
    // The probe's text differs from the learned one: were they equal, a string elsewhere (a top-level "content"
    // first, the delta's own text "0") would pass, and later texts would land in the wrong place.
    const mark = delta[slot] === "0" ? "1" : "0";
    const head = prefix.startsWith("data: ") ? 6 : 5;
    try {
      const probe = JSON.parse(`${prefix.slice(head)}${mark}${suffix.slice(0, -2)}`) as { choices: Array<{ delta: Record<string, unknown> }> };
      if (probe.choices[0]!.delta[slot] !== mark) return;
    } catch {
      return;
    }
    this.slot = slot;
    this.prefix = prefix;
    this.suffix = suffix;
    // Copies with their nested values still in place, so a match spreads them in the parsed key order.
    this.top = { ...(chunk as Flat) };
    this.choice = { ...(choice as Flat) };
    this.delta = { ...(delta as Flat) };
  }

  /** The chunk `text` (one whole read) stands for, or null when it is not the learned frame around another text. */
  match(text: string): ChatCompletionChunk | null {
    const top = this.top;
    if (top === null) return null;
    const p = this.prefix.length;
    const s = this.suffix.length;
    if (text.length < p + s || !text.startsWith(this.prefix) || !text.endsWith(this.suffix)) return null;
    let content: string = text.slice(p, text.length - s);
    if (NOT_PLAIN.test(content)) {
      // A quote would end the string early (another shape altogether); a raw control character is not JSON.
      try {
        const parsed: unknown = JSON.parse(`"${content}"`);
        content = parsed as string;
      } catch {
        return null;
      }
    }
    this.misses = 0;
    const delta = { ...this.delta };
    delta[this.slot] = content;
    return { ...top, choices: [{ ...this.choice, delta }] } as unknown as ChatCompletionChunk;
  }
}
