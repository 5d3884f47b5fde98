import type { ChatCompletionChunk } from "../types/chat.ts";
import { isObject } from "../internal/is-object.ts";

/** A string body that needs a closer look: a quote, a backslash or a control character. */
const NOT_PLAIN = /["\\\u0000-\u001f]/;
/** After this many frames learned in a row without a single hit, the memo stops learning (an upstream whose frames all differ). */
const MAX_MISSES = 8;
/** The delta fields a token's text streams in: the answer, and reasoning as DeepSeek / vLLM and OpenRouter / Ollama name it. */
const SLOTS = ["content", "reasoning_content", "reasoning"] as const;

type Obj = Record<string, unknown>;

/** Whether `o` holds no nested value except under `skip` (the one the memo rebuilds). */
function flat(o: Obj, skip?: string): boolean {
  for (const k in o) if (k !== skip && typeof o[k] === "object" && o[k] !== null) return false;
  return true;
}

/**
 * Where the one string that changes from token to token sits, or null:
 * `choices[0].delta.<text field>`, or for a streamed tool call (Codex's
 * patches and commands) `choices[0].delta.tool_calls[0].function.arguments`.
 * Every object on the way holds nothing nested but the next step, every array
 * one element.
 */
function slotPath(chunk: unknown): Array<string | 0> | null {
  const choices = isObject(chunk) ? chunk["choices"] : null;
  const choice: unknown = Array.isArray(choices) && choices.length === 1 ? choices[0] : null;
  const delta = isObject(choice) ? choice["delta"] : null;
  if (!isObject(delta) || !flat(chunk as Obj, "choices") || !flat(choice as Obj, "delta")) return null;
  const texts = SLOTS.filter((k) => typeof delta[k] === "string");
  if (texts.length === 1 && flat(delta)) return ["choices", 0, "delta", texts[0]!];
  const calls = delta["tool_calls"];
  const call: unknown = !texts.length && Array.isArray(calls) && calls.length === 1 ? calls[0] : null;
  const fn = isObject(call) ? call["function"] : null;
  if (!isObject(fn) || typeof fn["arguments"] !== "string" || !flat(fn) || !flat(call as Obj, "function") || !flat(delta, "tool_calls")) return null;
  return ["choices", 0, "delta", "tool_calls", 0, "function", "arguments"];
}

/** The value at `path` in `o`. */
function at(o: unknown, path: ReadonlyArray<string | 0>): unknown {
  for (const step of path) o = (o as Record<string | number, unknown>)[step];
  return o;
}

/**
 * The hot path of a streamed answer without `JSON.parse`: most upstreams send
 * every token as the same frame with only the text changed,
 *
 *     data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"<text>"},"finish_reason":null}]}
 *
 * and every piece of a tool call's arguments likewise. Once one such frame
 * has been parsed the usual way, it is learned as a prefix and a suffix
 * around the text; a later read that is exactly one frame with the same
 * prefix and suffix and a valid JSON string body in between
 * becomes the very chunk `JSON.parse` would have made (the learned values,
 * the new text), with no parse, no SSE framing and no key lookups. Anything
 * else (another shape, an escape that does not parse, a partial frame) misses
 * and goes the usual way, which may learn the new shape.
 *
 * In workerd that parse is most of the per-token JavaScript time.
 */
export class FrameMemo {
  private prefix = "";
  private suffix = "";
  /** The path to the text, and a copy of each object on it (an array: null) whose next step a match replaces. */
  private path: ReadonlyArray<string | 0> = [];
  private levels: Array<Obj | null> | null = null;
  private misses = 0;
  /** Whether learning is still worth it (stops after many learned frames that never matched). */
  learning = true;

  /**
   * Learns `frame` (one whole read: `data: <json>\n\n`, nothing else) from the
   * chunk it was parsed into, when that chunk streams one text (`slotPath`)
   * and has no nested values anywhere else.
   */
  learn(frame: string, chunk: unknown): void {
    if (++this.misses > MAX_MISSES) {
      this.learning = false;
      this.levels = null;
      return;
    }
    const path = slotPath(chunk);
    if (!path) return;
    const text = at(chunk, path);
    // The first `"<key>":"` is the string after that key in all but contrived frames (a key `x\"content`, a
    // top-level `content`); the probe below proves it is the one on the path.
    const key = `"${path[path.length - 1]}":"`;
    const found = frame.indexOf(key);
    if (found < 0) return;
    const start = found + key.length;
    let end = start;
    for (; end < frame.length; end++) {
      const c = frame.charCodeAt(end);
      if (c === 0x5c) end++;
      else if (c === 0x22) break;
    }
    const prefix = frame.slice(0, start);
    const suffix = frame.slice(end);
    // Prove the slot is the one on the path: the same frame around another text must parse to exactly that there.
    // The probe's text differs from the learned one: were they equal, a string elsewhere (a top-level "content"
    // first, the delta's own text "0") would pass, and later texts would land in the wrong place.
    const mark = text === "0" ? "1" : "0";
    const head = prefix.startsWith("data: ") ? 6 : 5;
    try {
      if (at(JSON.parse(`${prefix.slice(head)}${mark}${suffix.slice(0, -2)}`), path) !== mark) return;
    } catch {
      return;
    }
    const levels: Array<Obj | null> = [];
    let node: unknown = chunk;
    for (const step of path) {
      // Copies with their nested values still in place, so a match spreads them in the parsed key order.
      levels.push(Array.isArray(node) ? null : { ...(node as Obj) });
      node = (node as Record<string | number, unknown>)[step];
    }
    this.prefix = prefix;
    this.suffix = suffix;
    this.path = path;
    this.levels = levels;
  }

  /** The chunk `text` (one whole read) stands for, or null when it is not the learned frame around another text. */
  match(text: string): ChatCompletionChunk | null {
    const levels = this.levels;
    if (levels === null) return null;
    const p = this.prefix.length;
    const s = this.suffix.length;
    if (text.length < p + s || !text.startsWith(this.prefix) || !text.endsWith(this.suffix)) return null;
    let value: unknown = text.slice(p, text.length - s);
    if (NOT_PLAIN.test(value as string)) {
      // A quote would end the string early (another shape altogether); a raw control character is not JSON.
      try {
        value = JSON.parse(`"${value as string}"`);
      } catch {
        return null;
      }
    }
    this.misses = 0;
    // Rebuilt from the text up, a fresh object (or one-element array) at each level, as a parse makes them.
    for (let i = levels.length - 1; i >= 0; i--) {
      const level = levels[i]!;
      if (level === null) value = [value];
      else {
        const o = { ...level };
        o[this.path[i] as string] = value;
        value = o;
      }
    }
    return value as ChatCompletionChunk;
  }
}
