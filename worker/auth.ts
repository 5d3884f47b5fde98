const encoder = new TextEncoder();

/** SHA-256 of a string's UTF-8 (key comparison in ops/keys.ts, the store's credential partitions). */
export async function sha256(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(s)));
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
