/**
 * Streams the decoded value of one string field from JSON that arrives in
 * pieces: `{"input": "*** Begin Patch\n…` yields `*** Begin Patch` + LF + …
 * as the pieces come, so a custom tool's input can be forwarded as it is
 * generated instead of after the whole call.
 *
 * Only the shape a function stand-in is called with is followed: an object
 * whose first key is the field. Anything else gives up before emitting
 * anything (`started` stays false), and the caller falls back to parsing
 * the whole arguments at the end.
 */
const Step = { Open: 0, Key: 1, Colon: 2, Value: 3, Escape: 4, Unicode: 5, Done: 6, GaveUp: 7 } as const;
type State = (typeof Step)[keyof typeof Step];

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", "/": "/", "\\": "\\", '"': '"' };

export class JsonStringFieldReader {
  private state: State = Step.Open;
  private key = "";
  private keyOpen = false;
  private hex = "";
  private highSurrogate = "";
  /** The decoded value so far. */
  text = "";
  /** True once the value's first character was reached; from then on every piece is part of it. */
  started = false;

  private readonly field: string;

  constructor(field: string) {
    this.field = field;
  }

  /** Feeds a piece of JSON; returns the newly decoded part of the value (possibly ""). */
  feed(s: string): string {
    let out = "";
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
      switch (this.state) {
        case Step.Open:
          if (ch === "{" && !this.keyOpen) this.keyOpen = true;
          else if (ch === '"' && this.keyOpen) this.state = Step.Key;
          else if (!/\s/.test(ch)) this.state = Step.GaveUp;
          break;
        case Step.Key:
          if (ch === '"') this.state = this.key === this.field ? Step.Colon : Step.GaveUp;
          else this.key += ch;
          break;
        case Step.Colon:
          if (ch === '"') {
            this.state = Step.Value;
            this.started = true;
          } else if (ch !== ":" && !/\s/.test(ch)) this.state = Step.GaveUp;
          break;
        case Step.Value:
          if (ch === "\\") this.state = Step.Escape;
          else if (ch === '"') {
            out += this.flushSurrogate();
            this.state = Step.Done;
          }
          else {
            const code = ch.charCodeAt(0);
            if (code >= 0xd800 && code <= 0xdbff && i === s.length - 1) {
              // A piece that ends inside a pair: hold the first half for the next piece.
              out += this.flushSurrogate();
              this.highSurrogate = ch;
            } else out += this.flushSurrogate() + ch;
          }
          break;
        case Step.Escape:
          if (ch === "u") {
            this.state = Step.Unicode;
            this.hex = "";
          } else {
            // An unknown escape is kept as written rather than dropped.
            out += this.flushSurrogate() + (ESCAPES[ch] ?? `\\${ch}`);
            this.state = Step.Value;
          }
          break;
        case Step.Unicode: {
          this.hex += ch;
          if (this.hex.length < 4) break;
          const code = parseInt(this.hex, 16);
          this.state = Step.Value;
          if (Number.isNaN(code)) out += this.flushSurrogate() + `\\u${this.hex}`;
          else if (code >= 0xd800 && code <= 0xdbff) {
            out += this.flushSurrogate();
            // Held so a surrogate pair never leaves split across two events.
            this.highSurrogate = String.fromCharCode(code);
          } else {
            const high = this.highSurrogate;
            this.highSurrogate = "";
            out += high + String.fromCharCode(code);
          }
          break;
        }
        default:
          return this.emit(out);
      }
      if (this.state === Step.GaveUp) return "";
    }
    return this.emit(out);
  }

  /** End of input: whatever was held back (half a pair from a cut-off value) is released. */
  end(): string {
    return this.emit(this.flushSurrogate());
  }

  private flushSurrogate(): string {
    const h = this.highSurrogate;
    this.highSurrogate = "";
    return h;
  }

  private emit(out: string): string {
    this.text += out;
    return out;
  }
}
