/** The id prefixes OpenAI uses, which clients such as Codex match on. */
export type IdPrefix = "resp" | "msg" | "fc" | "ctc" | "rs" | "cmp" | "tsc" | "conv";

export type IdGenerator = (prefix: IdPrefix) => string;

const HEX = "0123456789abcdef";

/**
 * One random base per response and a counter after it: unique across
 * responses without paying for a random draw per item.
 * `crypto.getRandomValues` exists in workerd, browsers (insecure origins too,
 * unlike `randomUUID`), Deno, Bun and Node.
 */
export function createIdGenerator(): IdGenerator {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  let base = "";
  for (const b of bytes) base += HEX[b >> 4]! + HEX[b & 15]!;
  let n = 0;
  return (prefix) => `${prefix}_${base}${(n++).toString(16).padStart(4, "0")}`;
}
