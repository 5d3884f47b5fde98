import { afterEach, describe, expect, it, vi } from "vitest";
import { FrameMemo } from "../../src/streams/frame-memo.ts";
import { events, withEnv } from "./bridge.ts";

/**
 * The frame memo inside workerd, where it is meant to pay: the Worker reads
 * an upstream that sends one frame per read (as a token-per-write server
 * does), takes the fast path, and streams the same events as with the memo
 * switched off. The Worker's ids and obfuscation are random, so those are
 * compared by position, not by value; the library's tests compare bytes.
 */

afterEach(() => {
  vi.restoreAllMocks();
});

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "chatcmpl-w", object: "chat.completion.chunk", created: 1_761_000_000, model: "m", system_fingerprint: "fp_w", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;

const FRAMES = [
  chunk({ role: "assistant", content: "" }),
  ...["Let me", " think"].map((t) => chunk({ content: null, reasoning_content: t })),
  ...["Hello", ', "quoted"', " back\\slash", " é😀", "\u2028", "\n", "!"].map((t) => chunk({ content: t, reasoning_content: null })),
  chunk({}, "stop"),
  "data: [DONE]\n\n",
];

/** An upstream that hands the Worker one frame per read. */
const upstream = async () => {
  const queue = FRAMES.map((f) => new TextEncoder().encode(f));
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = queue.shift();
      if (next) c.enqueue(next);
      else c.close();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
};

/** The events with random ids numbered by first appearance, random padding and the clock dropped. */
function normalized(text: string): unknown[] {
  const ids = new Map<string, string>();
  const json = JSON.stringify(events(text))
    .replace(/\b(resp|msg|rs)_[0-9a-f]+/g, (id, prefix: string) => ids.get(id) ?? (ids.set(id, `${prefix}_${ids.size}`), ids.get(id)!))
    .replace(/"obfuscation":"[^"]*",?/g, "")
    .replace(/"completed_at":\d+/g, '"completed_at":0');
  return JSON.parse(json) as unknown[];
}

async function stream(memo: boolean): Promise<{ text: string; hits: number }> {
  const spy = vi.spyOn(FrameMemo.prototype, "match");
  if (!memo) spy.mockReturnValue(null);
  try {
    const res = await withEnv({}, upstream)("/v1/responses", { method: "POST", body: JSON.stringify({ model: "m", input: "hi", stream: true, store: false }) });
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, hits: spy.mock.results.filter((r) => r.type === "return" && r.value !== null).length };
  } finally {
    spy.mockRestore();
  }
}

describe("the frame memo in the Worker", () => {
  it("one upstream frame per read: the memo takes the token frames, and the events are those without it", async () => {
    const fast = await stream(true);
    const usual = await stream(false);
    expect(usual.hits).toBe(0);
    // Every token frame after the first of its shape: 1 reasoning, 6 content.
    expect(fast.hits).toBe(7);
    expect(normalized(fast.text)).toEqual(normalized(usual.text));
    const list = events(fast.text);
    expect(list.at(-1)!.type).toBe("response.completed");
    const deltas = list.filter((e) => e.type === "response.output_text.delta").map((e) => e["delta"]);
    expect(deltas.join("")).toBe('Hello, "quoted" back\\slash é😀\u2028\n!');
  });
});
