import { expect } from "vitest";
import { ChatToResponsesStream, type ConvertOptions, type IdGenerator, type ResponseResource, type ResponseStreamEvent } from "../../src/index.ts";
import { checkInvariants, parseSseStrict } from "./invariants.ts";

/** Ids that read well in expectations: resp_1, rs_2, msg_3 … */
export function counterIds(): IdGenerator {
  let n = 0;
  return (prefix) => `${prefix}_${++n}`;
}

export const FIXED_NOW = 1_800_000_000;

export function testOptions(extra: ConvertOptions = {}): ConvertOptions {
  // Seeded padding: the same input gives the same bytes, and every delta still carries `obfuscation`.
  return { ids: counterIds(), now: () => FIXED_NOW, obfuscation: { seed: 7 }, ...extra };
}

/** Chunks as a provider frames them: `data: {json}\n\n` … `data: [DONE]\n\n`. */
export function sse(chunks: unknown[], { done = true }: { done?: boolean } = {}): string {
  return chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join("") + (done ? "data: [DONE]\n\n" : "");
}

const utf8 = new TextEncoder();

export function bytesOf(text: string): Uint8Array {
  return utf8.encode(text);
}

export function streamOf(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(p);
      c.close();
    },
  });
}

/** Runs SSE text (already split into byte pieces, or whole) through the stream; returns the raw output text. */
export async function convertRaw(input: string | Uint8Array[], options: ConvertOptions = testOptions()): Promise<string> {
  const parts = typeof input === "string" ? [bytesOf(input)] : input;
  return await new Response(streamOf(parts).pipeThrough(new ChatToResponsesStream(options))).text();
}

export interface Converted {
  raw: string;
  events: ResponseStreamEvent[];
  final: ResponseResource;
  types: string[];
}

/** Whether these options make delta events carry `obfuscation`. */
export function obfuscated(options: ConvertOptions = {}): boolean {
  const so = options.request?.["stream_options"] as { include_obfuscation?: boolean } | undefined;
  return options.obfuscation !== false && so?.include_obfuscation !== false;
}

export async function convert(input: string | Uint8Array[], options: ConvertOptions = testOptions()): Promise<Converted> {
  const raw = await convertRaw(input, options);
  const events = parseResponsesSse(raw);
  assertProtocol(raw, events, obfuscated(options));
  const last = events[events.length - 1]!;
  return { raw, events, final: (last as { response: ResponseResource }).response, types: events.map((e) => e.type) };
}

/** Strict reader of our own output framing: any deviation fails the test. */
export function parseResponsesSse(raw: string): ResponseStreamEvent[] {
  return parseSseStrict(raw);
}

/** The invariants every produced stream must hold (see `support/invariants.ts`). */
export function assertProtocol(raw: string, events: ResponseStreamEvent[], obfuscation?: boolean): void {
  checkInvariants(raw, events, { obfuscated: obfuscation });
  expect(raw).not.toMatch(/^id:/m);
}

/** The text the user saw, joined from deltas: must equal the final items' text. */
export function deltaText(events: ResponseStreamEvent[], type: ResponseStreamEvent["type"]): string {
  return events.filter((e) => e.type === type).map((e) => (e as { delta: string }).delta).join("");
}

/** `bytes` cut at each of `cuts` (taken modulo its length, duplicates ignored), in order. */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    parts.push(bytes.subarray(prev, p));
    prev = p;
  }
  parts.push(bytes.subarray(prev));
  return parts;
}
