const encoder = new TextEncoder();

/** SHA-256 of a string's UTF-8 (key comparison here, the store's credential partitions). */
export async function sha256(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(s)));
}

/**
 * Whether `presented` is one of `keys`, in time that depends on neither.
 * Hashing first makes every comparison the same length; every key is
 * compared, so the position of a match does not show either.
 */
export async function matchesAnyKey(presented: string, keys: readonly string[]): Promise<boolean> {
  const p = await sha256(presented);
  let ok = 0;
  for (const key of keys) {
    const k = await sha256(key);
    let diff = 0;
    for (let i = 0; i < k.length; i++) diff |= k[i]! ^ p[i]!;
    ok |= diff === 0 ? 1 : 0;
  }
  return ok === 1;
}

/** The bearer token of `Authorization`, or OpenAI-style `api-key`/`x-api-key` headers some clients send. */
export function presentedKey(headers: Headers): string | null {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1]!.trim() : auth.trim();
  }
  return headers.get("x-api-key") ?? headers.get("api-key");
}
