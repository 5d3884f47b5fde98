/**
 * ASCII fast paths for the byte ↔ text steps of the stream shells.
 *
 * In workerd every `TextDecoder.decode` / `TextEncoder.encode` is a call into
 * the runtime, and the stream shells make one of each per upstream read; SSE
 * traffic is nearly all ASCII (JSON escapes are ASCII; only the text of
 * non-English answers is not). For an all-ASCII buffer these do the same job
 * in plain JS, and return null otherwise so the caller uses the real codec.
 */

/** Past this size the per-byte loop has no edge over one native call. */
const MAX = 8192;

/** The text of `bytes` when all of them are ASCII, else null. */
export function decodeAscii(bytes: Uint8Array): string | null {
  const n = bytes.length;
  if (n > MAX) return null;
  for (let i = 0; i < n; i++) if (bytes[i]! > 0x7f) return null;
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** The bytes of `text` when all of its characters are ASCII, else null. */
export function encodeAscii(text: string): Uint8Array | null {
  const n = text.length;
  if (n > MAX) return null;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return null;
    out[i] = c;
  }
  return out;
}
