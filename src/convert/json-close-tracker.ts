/**
 * Tells, chunk by chunk, when a streamed JSON object or array has closed.
 *
 * Used to close one tool call as soon as its arguments are whole, so a later
 * call interleaved with it can be released without waiting for the end of
 * the turn. Only structure is tracked (depth, strings, escapes); validity is
 * the client's business.
 */
export class JsonCloseTracker {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  complete = false;

  feed(s: string): void {
    if (this.complete) return;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 92 /* \ */) this.escaped = true;
        else if (c === 34 /* " */) this.inString = false;
      } else if (c === 34) this.inString = true;
      else if (c === 123 /* { */ || c === 91 /* [ */) {
        this.depth++;
        this.started = true;
      } else if (c === 125 /* } */ || c === 93 /* ] */) {
        this.depth--;
        if (this.started && this.depth === 0) {
          this.complete = true;
          return;
        }
      }
    }
  }
}
