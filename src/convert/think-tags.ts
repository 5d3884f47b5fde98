/**
 * Splits `<think>…</think>` off the start of message content, for models
 * served without a reasoning parser (vLLM without `--reasoning-parser`,
 * llama.cpp with `--reasoning-format none`, raw Ollama templates).
 *
 * Only a tag at the very start of content (after whitespace) counts: a
 * `<think>` later in an answer is text the model meant to write. The only
 * text held back is a tail that may still become a tag, at most 7 chars.
 */
export interface ThinkSegment {
  reasoning: boolean;
  text: string;
}

const OPEN = "<think>";
const CLOSE = "</think>";

const State = { Start: 0, Thinking: 1, AfterClose: 2, Text: 3 } as const;
type State = (typeof State)[keyof typeof State];

export class ThinkTagSplitter {
  private state: State = State.Start;
  private held = "";

  feed(chunk: string, out: ThinkSegment[] = []): ThinkSegment[] {
    if (this.state === State.Text) {
      if (chunk) out.push({ reasoning: false, text: chunk });
      return out;
    }
    let s = this.held + chunk;
    this.held = "";
    if (this.state === State.Start) {
      const lead = s.trimStart();
      if (lead.startsWith(OPEN)) {
        this.state = State.Thinking;
        s = lead.slice(OPEN.length);
      } else if (OPEN.startsWith(lead)) {
        this.held = s;
        return out;
      } else {
        this.state = State.Text;
        if (s) out.push({ reasoning: false, text: s });
        return out;
      }
    }
    if (this.state === State.Thinking) {
      const end = s.indexOf(CLOSE);
      if (end === -1) {
        const keep = partialSuffix(s, CLOSE);
        const emit = s.slice(0, s.length - keep);
        this.held = s.slice(s.length - keep);
        if (emit) out.push({ reasoning: true, text: emit });
        return out;
      }
      if (end > 0) out.push({ reasoning: true, text: s.slice(0, end) });
      this.state = State.AfterClose;
      s = s.slice(end + CLOSE.length);
    }
    // The blank lines models put between </think> and the answer are layout, not answer.
    const rest = s.trimStart();
    if (rest) {
      this.state = State.Text;
      out.push({ reasoning: false, text: rest });
    }
    return out;
  }

  /** End of content: whatever was held is released as what it was. */
  flush(out: ThinkSegment[] = []): ThinkSegment[] {
    if (this.held) out.push({ reasoning: this.state === State.Thinking, text: this.held });
    this.held = "";
    return out;
  }
}

/** Length of the longest suffix of `s` that is a proper prefix of `tag`. */
function partialSuffix(s: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, s.length); n > 0; n--) {
    if (s.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}
