// Internal: not part of the public API (see README.md here).

/** A body read whole: its JSON value, or the text itself when it is not JSON (an HTML error page, a proxy's message). */
export function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
