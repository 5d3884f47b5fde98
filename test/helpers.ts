import { expect } from "vitest";
import { ChatToResponsesStream, type ConvertOptions, type IdGenerator, type OutputItem, type ResponseResource, type ResponseStreamEvent } from "../src/index.ts";
import { requiredEventFields, requiredItemFields, requiredResponseFields } from "./spec-contract.ts";

/** Ids that read well in expectations: resp_1, rs_2, msg_3 … */
export function counterIds(): IdGenerator {
  let n = 0;
  return (prefix) => `${prefix}_${++n}`;
}

export const FIXED_NOW = 1_800_000_000;

export function testOptions(extra: ConvertOptions = {}): ConvertOptions {
  return { ids: counterIds(), now: () => FIXED_NOW, ...extra };
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

export async function convert(input: string | Uint8Array[], options?: ConvertOptions): Promise<Converted> {
  const raw = await convertRaw(input, options);
  const events = parseResponsesSse(raw);
  assertProtocol(raw, events);
  const last = events[events.length - 1]!;
  return { raw, events, final: (last as { response: ResponseResource }).response, types: events.map((e) => e.type) };
}

/** Strict reader of our own output framing: any deviation fails the test. */
export function parseResponsesSse(raw: string): ResponseStreamEvent[] {
  expect(raw.endsWith("\n\ndata: [DONE]\n\n"), "ends with the terminal event, then [DONE]").toBe(true);
  expect(raw.includes("\r"), "LF line ends only").toBe(false);
  const frames = raw.slice(0, -"data: [DONE]\n\n".length).split("\n\n");
  expect(frames.pop()).toBe("");
  return frames.map((frame) => {
    const lines = frame.split("\n");
    expect(lines.length, `one event: and one data: line in ${frame.slice(0, 80)}`).toBe(2);
    expect(lines[0]!.startsWith("event: ")).toBe(true);
    expect(lines[1]!.startsWith("data: ")).toBe(true);
    const event = JSON.parse(lines[1]!.slice(6)) as ResponseStreamEvent;
    expect(lines[0]!.slice(7)).toBe(event.type);
    return event;
  });
}

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

function itemKey(e: { item_id?: string }): string | undefined {
  return e.item_id;
}

/**
 * The invariants every produced stream must hold, whatever the upstream did:
 * sequence numbers, one item at a time, ids, added/done agreement, one
 * terminal event whose output equals the done items, required fields.
 */
export function assertProtocol(raw: string, events: ResponseStreamEvent[]): void {
  expect(events.length).toBeGreaterThanOrEqual(3);
  events.forEach((e, i) => expect(e.sequence_number, `sequence_number of #${i} ${e.type}`).toBe(i));
  expect(events[0]!.type).toBe("response.created");
  expect(events[1]!.type).toBe("response.in_progress");
  const terminals = events.filter((e) => TERMINAL.has(e.type));
  expect(terminals.length, "exactly one terminal event").toBe(1);
  const last = events[events.length - 1]!;
  expect(TERMINAL.has(last.type), "terminal event is last").toBe(true);

  const ids = new Set<string>();
  const responseId = (events[0] as { response: ResponseResource }).response.id;
  expect(responseId).toMatch(/^resp_./);
  const done: OutputItem[] = [];
  let openItem: OutputItem | null = null;
  let openIndex = -1;
  for (const e of events) {
    for (const f of requiredEventFields[e.type] ?? []) expect(e, `${e.type} has ${f}`).toHaveProperty(f);
    if ("response" in e) {
      expect(e.response.id).toBe(responseId);
      for (const f of requiredResponseFields) expect(e.response, `response has ${f}`).toHaveProperty(f);
    }
    if (e.type === "response.output_item.added") {
      expect(openItem, `item ${e.item.id} added while ${openItem?.id} is open`).toBeNull();
      expect(e.output_index).toBe(done.length);
      expect(ids.has(e.item.id), `unique id ${e.item.id}`).toBe(false);
      ids.add(e.item.id);
      const prefix = { message: "msg_", function_call: "fc_", reasoning: "rs_", custom_tool_call: "ctc_" }[e.item.type];
      expect(e.item.id.startsWith(prefix)).toBe(true);
      openItem = e.item;
      openIndex = e.output_index;
    } else if (e.type === "response.output_item.done") {
      expect(openItem, "done without added").not.toBeNull();
      expect(e.output_index).toBe(openIndex);
      expect(e.item.id).toBe(openItem!.id);
      expect(e.item.type).toBe(openItem!.type);
      if ("call_id" in e.item) expect(e.item.call_id).toBe((openItem as { call_id: string }).call_id);
      for (const f of requiredItemFields[e.item.type] ?? []) expect(e.item, `${e.item.type} has ${f}`).toHaveProperty(f);
      done.push(e.item);
      openItem = null;
    } else if (itemKey(e as { item_id?: string }) !== undefined) {
      expect(openItem, `${e.type} outside an open item`).not.toBeNull();
      expect((e as { item_id: string }).item_id).toBe(openItem!.id);
      expect((e as { output_index: number }).output_index).toBe(openIndex);
    }
  }
  expect(openItem, "no item left open at the end").toBeNull();
  const final = (last as { response: ResponseResource }).response;
  expect(final.output).toEqual(done);
  if (final.usage) {
    for (const v of [final.usage.input_tokens, final.usage.output_tokens, final.usage.total_tokens, final.usage.input_tokens_details.cached_tokens, final.usage.output_tokens_details.reasoning_tokens]) {
      expect(Number.isInteger(v)).toBe(true);
    }
  }
  expect(raw).not.toMatch(/^id:/m);
}

/** The text the user saw, joined from deltas: must equal the final items' text. */
export function deltaText(events: ResponseStreamEvent[], type: ResponseStreamEvent["type"]): string {
  return events.filter((e) => e.type === type).map((e) => (e as { delta: string }).delta).join("");
}
