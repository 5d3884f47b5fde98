/**
 * Random-length padding for delta events (`obfuscation`), as OpenAI's own
 * streams send it: without it, the size of each encrypted event reveals the
 * length of the token inside it.
 *
 * Cheap by design, since it runs once per delta: what hides the token's length
 * is the padding's length, drawn per delta (xorshift32: no cryptographic
 * strength needed, the padding keeps no secret). Its characters are drawn once
 * per stream, and every length's string and JSON fragment made then, so a
 * delta costs one draw and no allocation.
 */
export type ObfuscationOption = boolean | { seed: number };

/** Padding lengths are 1 … MAX_PAD characters. */
const MAX_PAD = 32;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export interface Obfuscator {
  /** The next padding's length index: `values[i]` is the padding, `fragments[i]` its `,"obfuscation":"…"` JSON, up to the `sequence_number` that follows it. */
  next(): number;
  readonly values: readonly string[];
  readonly fragments: readonly string[];
}

export function createObfuscator(seed?: number): Obfuscator {
  let state = (seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!) | 0 || 0x9e3779b9;
  const draw = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  let chars = "";
  for (let i = 0; i < MAX_PAD; i++) chars += ALPHABET[draw() % ALPHABET.length];
  const values = Array.from({ length: MAX_PAD }, (_, i) => chars.slice(0, i + 1));
  return {
    next: () => draw() % MAX_PAD,
    values,
    fragments: values.map((v) => `,"obfuscation":"${v}","sequence_number":`),
  };
}
