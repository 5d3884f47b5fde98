// Internal to the stream shells: what both directions' pull forms need of the upstream they read.

/** What a pull form reads: the upstream `Response`, its body, or nothing (a response without a body fails). */
export type UpstreamBody = Response | ReadableStream<Uint8Array> | null | undefined;

/** The byte stream of an upstream, or null when there is none. */
export function bodyOf(upstream: UpstreamBody): ReadableStream<Uint8Array> | null {
  if (!upstream) return null;
  return typeof (upstream as ReadableStream<Uint8Array>).getReader === "function" ? (upstream as ReadableStream<Uint8Array>) : (upstream as Response).body;
}

/** An error's words for a message the client reads (its name when it has no message). */
export function describe(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m || (e instanceof Error ? e.name : "unknown error");
}
