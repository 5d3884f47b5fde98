import { describe, expect, it } from "vitest";
import type { Fetch } from "../../worker/router.ts";
import { MAX_ERROR_BODY_BYTES } from "../../worker/upstream.ts";
import { withEnv } from "./bridge.ts";

// An upstream's error body is read only so far (worker/upstream.ts `upstreamError`): one that echoes a
// request of many megabytes, or a proxy's endless page, must not fill the isolate, and the client still
// gets the upstream's status and words in OpenAI's shape. Bytes that are not UTF-8 never break it.

const CHUNK = 64 * 1024;

/** An upstream answering `status` with a body of `total` bytes made chunk by chunk as read; `pulled` counts what the Worker read. */
function erring(status: number, total: number, head: string) {
  const counter = { pulled: 0, cancelled: false };
  const encoder = new TextEncoder();
  const fetchUpstream: Fetch = async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          if (sent >= total) return c.close();
          const chunk = sent === 0 ? encoder.encode(head.padEnd(CHUNK, "x")) : new Uint8Array(CHUNK).fill(0x78);
          sent += chunk.byteLength;
          counter.pulled += chunk.byteLength;
          c.enqueue(chunk);
        },
        cancel() {
          counter.cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status, headers: { "content-type": "text/plain" } });
  };
  return { counter, fetchUpstream };
}

describe("an upstream's error body", () => {
  it("of 32 MiB is read only to its first 256 KiB: the status and the words arrive, the rest is cancelled", async () => {
    const { counter, fetchUpstream } = erring(400, 32 * 1024 * 1024, "upstream says: this request is wrong ");
    const res = await withEnv({}, fetchUpstream)("/v1/responses", { method: "POST", body: JSON.stringify({ model: "m", input: "hi" }) });
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { message: string; type: string; code: string | null } };
    expect(error.type).toBe("invalid_request_error");
    expect(error.message.startsWith("upstream says: this request is wrong x")).toBe(true);
    expect(error.message.endsWith(`… (the upstream's error body was cut at ${MAX_ERROR_BODY_BYTES} bytes)`)).toBe(true);
    expect(error.message.length).toBeLessThan(MAX_ERROR_BODY_BYTES + 100);
    expect(counter.pulled).toBeLessThanOrEqual(MAX_ERROR_BODY_BYTES + CHUNK);
    expect(counter.cancelled).toBe(true);
  });

  it("that is not UTF-8 keeps its status and readable words", async () => {
    const fetchUpstream: Fetch = async () => new Response(new Uint8Array([0xff, 0xfe, 0x20, ...new TextEncoder().encode("quota gone")]), { status: 403 });
    const res = await withEnv({}, fetchUpstream)("/v1/responses", { method: "POST", body: JSON.stringify({ model: "m", input: "hi" }) });
    expect(res.status).toBe(403);
    const { error } = (await res.json()) as { error: { message: string; type: string } };
    expect(error).toMatchObject({ message: "\uFFFD\uFFFD quota gone", type: "permission_error" });
  });

  it("a small one is read whole, as before", async () => {
    const { counter, fetchUpstream } = erring(422, 3 * CHUNK, "short ");
    const res = await withEnv({}, fetchUpstream)("/v1/responses", { method: "POST", body: JSON.stringify({ model: "m", input: "hi" }) });
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as { error: { message: string } };
    expect(error.message).toHaveLength(3 * CHUNK);
    expect(counter.pulled).toBe(3 * CHUNK);
  });
});
