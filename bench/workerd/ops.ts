/**
 * Single operations of the per-chunk work, each in a hot loop inside workerd
 * (`GET /bench/ops/<op>?n=`, driven by `npm run bench:workerd:profile`): what a
 * crossing into `TextDecoder`/`TextEncoder`, a `JSON.parse` of one upstream chunk,
 * the SSE parser or the whole conversion of one token costs there, to set
 * against the CPU one streamed token costs. The clocks inside workerd stand
 * still while JavaScript runs, so the driver reads the process's CPU time around
 * each request instead.
 */
import { createParser } from "eventsource-parser";
import { EventPump } from "../../src/streams/event-pump.ts";
import { SseSink } from "../../src/streams/sse-sink.ts";

/** One upstream chunk as the bench upstream sends it (190 bytes). */
const FRAME = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1761000000,"model":"bench","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{"content":" tok1234"},"logprobs":null,"finish_reason":null}]}\n\n`;
const ROLE = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1761000000,"model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`;
/** The delta event this Worker writes for it. */
const EVENT = `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","item_id":"msg_0123456789abcdef0123456789abcdef","output_index":0,"content_index":0,"delta":" tok1234","logprobs":[],"obfuscation":"Abcdefghijk","sequence_number":12345}\n\n`;

const enc = new TextEncoder();
const frameBytes = enc.encode(FRAME);

export const OPS = ["await", "decode", "encode", "encodeInto", "JSON.parse", "JSON.stringify", "eventsource-parser", "Date.now", "enqueue+read", "write+read", "pump", "pump-noencode"];

export async function runOp(op: string, n: number): Promise<number> {
  let acc = 0;
  switch (op) {
    case "await":
      // One turn of the microtask queue, as every awaited read costs at least.
      for (let i = 0; i < n; i++) acc += (await i) & 1;
      break;
    case "decode": {
      const dec = new TextDecoder();
      for (let i = 0; i < n; i++) acc += dec.decode(frameBytes, { stream: true }).length;
      break;
    }
    case "encode":
      for (let i = 0; i < n; i++) acc += enc.encode(EVENT).length;
      break;
    case "encodeInto": {
      const block = new Uint8Array(1 << 16);
      for (let i = 0; i < n; i++) acc += enc.encodeInto(EVENT, block).written;
      break;
    }
    case "JSON.parse": {
      const json = FRAME.slice(6, -2);
      for (let i = 0; i < n; i++) acc += (JSON.parse(json) as { created: number }).created & 1;
      break;
    }
    case "JSON.stringify":
      for (let i = 0; i < n; i++) acc += JSON.stringify(` tok${i & 1023}`).length;
      break;
    case "eventsource-parser": {
      const p = createParser({ onEvent: (m) => void (acc += m.data.length) });
      for (let i = 0; i < n; i++) p.feed(FRAME);
      break;
    }
    case "Date.now":
      for (let i = 0; i < n; i++) acc += Date.now() & 1;
      break;
    case "enqueue+read": {
      // A JS ReadableStream's own cost per chunk, no I/O: enqueue one chunk, read it back.
      let ctl!: ReadableStreamDefaultController<Uint8Array>;
      const reader = new ReadableStream<Uint8Array>({ start: (c) => void (ctl = c) }).getReader();
      for (let i = 0; i < n; i++) {
        ctl.enqueue(frameBytes);
        acc += (await reader.read()).value!.length;
      }
      break;
    }
    case "write+read": {
      // The do-nothing TransformStream's own cost per chunk, no I/O: write one chunk, read it back.
      const t = new TransformStream<Uint8Array, Uint8Array>();
      const writer = t.writable.getWriter();
      const reader = t.readable.getReader();
      for (let i = 0; i < n; i++) {
        void writer.write(frameBytes);
        acc += (await reader.read()).value!.length;
      }
      break;
    }
    case "pump":
    case "pump-noencode": {
      // The whole conversion of one token: decode, SSE framing, JSON.parse, convert, serialize (and encode).
      const pump = new EventPump();
      const sink = new SseSink();
      let text = 0;
      const counting = { event: (_: string, json: string) => void (text += json.length) };
      pump.feed(enc.encode(ROLE));
      pump.flush(sink);
      sink.take();
      for (let i = 0; i < n; i++) {
        pump.feed(frameBytes);
        if (op === "pump") {
          pump.flush(sink);
          acc += sink.take()!.length;
        } else pump.flush(counting);
      }
      acc += text;
      break;
    }
  }
  return acc;
}
