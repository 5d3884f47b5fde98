import { createParser } from "eventsource-parser";
import { EventPump } from "../../src/streams/event-pump.ts";
import { SseSink } from "../../src/streams/sse-sink.ts";

const FRAME = `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1761000000,"model":"bench","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{"content":" tok1234"},"logprobs":null,"finish_reason":null}]}\n\n`;
const OUT = `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","item_id":"msg_0123456789abcdef0123456789abcdef","output_index":0,"content_index":0,"delta":" tok1234","logprobs":[],"obfuscation":"Abcdefghijk","sequence_number":12345}\n\n`;
const enc = new TextEncoder();
const bytes = enc.encode(FRAME);
const ROLE = enc.encode(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1761000000,"model":"bench","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`);

function jsDecode(b: Uint8Array): string {
  // ASCII fast path only (probe).
  let s = "";
  for (let i = 0; i < b.length; i += 64) s += String.fromCharCode.apply(null, b.subarray(i, Math.min(i + 64, b.length)) as unknown as number[]);
  return s;
}
function jsEncode(s: string, out: Uint8Array): number {
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return s.length;
}

export function run(op: string, n: number): number {
  let acc = 0;
  const dec = new TextDecoder();
  const block = new Uint8Array(1 << 16);
  switch (op) {
    case "loop": for (let i = 0; i < n; i++) acc += i & 1; break;
    case "decode": for (let i = 0; i < n; i++) acc += dec.decode(bytes, { stream: true }).length; break;
    case "decode-plain": for (let i = 0; i < n; i++) acc += dec.decode(bytes).length; break;
    case "encode": for (let i = 0; i < n; i++) acc += enc.encode(OUT).length; break;
    case "encodeInto": for (let i = 0; i < n; i++) acc += enc.encodeInto(OUT, block).written!; break;
    case "encodeInto-sub": { let at = 0; for (let i = 0; i < n; i++) { if (at > 60000) at = 0; const w = enc.encodeInto(OUT, block.subarray(at)).written!; acc += block.subarray(at, at + w).length; at += w; } break; }
    case "parse": { const t = FRAME.slice(6, -2); for (let i = 0; i < n; i++) acc += (JSON.parse(t) as { created: number }).created & 1; break; }
    case "stringify": for (let i = 0; i < n; i++) acc += JSON.stringify(" tok" + (i & 1023)).length; break;
    case "esp": { const p = createParser({ onEvent: (m) => { acc += m.data.length; } }); for (let i = 0; i < n; i++) p.feed(FRAME); break; }
    case "js-decode": for (let i = 0; i < n; i++) acc += jsDecode(bytes).length; break;
    case "js-encode": for (let i = 0; i < n; i++) acc += jsEncode(OUT, block); break;
    case "now": for (let i = 0; i < n; i++) acc += Date.now() & 1; break;
    case "pnow": for (let i = 0; i < n; i++) acc += performance.now() & 1; break;
    case "pump": {
      const pump = new EventPump({ obfuscation: true } as never);
      const sink = new SseSink();
      pump.feed(ROLE); pump.flush(sink); sink.take();
      for (let i = 0; i < n; i++) { pump.feed(bytes); pump.flush(sink); acc += sink.take()!.length; }
      break;
    }
    case "pump-noenc": {
      const pump = new EventPump({ obfuscation: true } as never);
      const sink = { t: "", event(type: string, json: string) { this.t += json; } };
      pump.feed(ROLE); pump.flush(sink);
      for (let i = 0; i < n; i++) { pump.feed(bytes); pump.flush(sink); acc += sink.t.length; sink.t = ""; }
      break;
    }
  }
  return acc;
}
