// Internal: not part of the public API (see README.md here).
/** A JSON object (not null, not an array): the one shape check every reader of untrusted bodies needs. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
