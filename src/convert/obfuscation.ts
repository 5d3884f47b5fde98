/**
 * Random-length padding for delta events (`obfuscation`), as OpenAI's own
 * streams send it: without it, the size of each encrypted event reveals the
 * length of the token inside it.
 *
 * Cheap by design, since it runs once per delta: one random 64-character
 * alphabet string per stream, and per delta an xorshift32 draw that picks a
 * length and an offset into it (a substring, no new characters). The draw
 * needs no cryptographic strength: the padding hides lengths, it keeps no
 * secret.
 */
export type ObfuscationOption = boolean | { seed: number };

/** Returns the padding for the next delta event. */
export type Obfuscator = () => string;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Padding lengths are 1 … MAX_PAD characters. */
const MAX_PAD = 32;

export function createObfuscator(seed?: number): Obfuscator {
  let state = (seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!) | 0 || 0x9e3779b9;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  // Two copies, so any offset has MAX_PAD characters after it.
  let source = "";
  for (let i = 0; i < 64; i++) source += ALPHABET[next() % ALPHABET.length];
  source += source;
  return () => {
    const r = next();
    const at = r & 63;
    return source.slice(at, at + 1 + ((r >>> 6) % MAX_PAD));
  };
}
