/**
 * Opaque tokens only this bridge can read: authenticated encryption
 * (AES-256-GCM, Web Crypto) under a key derived from a secret. Compaction
 * summaries and reasoning round-tripped through `encrypted_content` use it, so
 * clients can carry state they can neither read nor forge.
 *
 * Token: `rb1.` + base64url(iv ‖ ciphertext ‖ tag). The purpose is bound as
 * additional data, so a token made for one use is refused for another.
 */

/** What a token is for; bound into it, so one cannot stand in for another. */
export type SealPurpose = "reasoning" | "compaction";

export interface Sealer {
  /** Encrypts and authenticates `value` (any JSON value) for `purpose`. */
  seal(purpose: SealPurpose, value: unknown): Promise<string>;
  /**
   * The value inside a token this sealer made for `purpose`, or `undefined`
   * for anything else: another bridge's or OpenAI's own encrypted content,
   * a tampered token, a token made for another purpose.
   */
  open(purpose: SealPurpose, token: unknown): Promise<unknown>;
  /** Cheap check, no decryption: does this look like one of our tokens at all? */
  isOurs(token: unknown): token is string;
}

const PREFIX = "rb1.";
const IV_BYTES = 12;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  // Chunks keep String.fromCharCode's argument list small for large tokens.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

async function deriveKey(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    // A fixed salt is fine: the secret is the only input, and the info string separates this use from any other.
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("responses-bridge"), info: encoder.encode("seal v1") },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** A sealer keyed by `secret` (any length; derived with HKDF-SHA-256). The key is derived once, on first use. */
export function createSealer(secret: string): Sealer {
  if (secret === "") throw new TypeError("createSealer needs a non-empty secret.");
  let key: Promise<CryptoKey> | undefined;
  const getKey = () => (key ??= deriveKey(secret));
  return {
    async seal(purpose, value) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const plain = encoder.encode(JSON.stringify(value));
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(purpose) }, await getKey(), plain));
      const out = new Uint8Array(IV_BYTES + sealed.length);
      out.set(iv);
      out.set(sealed, IV_BYTES);
      return PREFIX + toBase64Url(out);
    },
    async open(purpose, token) {
      if (!this.isOurs(token)) return undefined;
      const bytes = fromBase64Url(token.slice(PREFIX.length));
      if (!bytes || bytes.length < IV_BYTES + 16) return undefined;
      try {
        const plain = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES), additionalData: encoder.encode(purpose) },
          await getKey(),
          bytes.subarray(IV_BYTES),
        );
        return JSON.parse(decoder.decode(plain)) as unknown;
      } catch {
        // Wrong key, tampered bytes or another purpose: all simply not ours to read.
        return undefined;
      }
    },
    isOurs(token): token is string {
      return typeof token === "string" && token.startsWith(PREFIX);
    },
  };
}
