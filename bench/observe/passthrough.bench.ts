/**
 * `node bench/observe/passthrough.bench.ts`: what reading a passed-through stream costs (worker/ops/observe.ts:
 * the created id and the usage of a keyed request, forwarded chunk by chunk), per 1,000 tokens, next to the same
 * chunks through a do-nothing `TransformStream`. A 4,000-token answer, one token per upstream chunk, as OpenAI
 * streams it on `/v1/responses` and as a chat server streams `/v1/chat/completions`. Prints Markdown for
 * bench/operators.md. Run by Node, type-checked with the Worker (tsconfig.worker.json), whose code it imports.
 */
import { measure } from "mitata";
import { observeStream } from "../../worker/ops/observe.ts";
import { newTrace, type RequestOps } from "../../worker/ops/request.ts";
import { Stream, usage } from "../../test/fixtures/responses-streams.ts";

const TOKENS = 4_000;
const encoder = new TextEncoder();
const pieces = Array.from({ length: TOKENS }, (_, i) => (i % 7 === 0 ? " the" : ` word${i % 50}`));
const responsesChunks = new Stream("resp_bench", "gpt-5").message("msg_bench", pieces).completed(usage(1200, TOKENS)).events.map((e) => encoder.encode(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
const chat = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ id: "chatcmpl-b", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const chatChunks = [chat({ role: "assistant", content: "" }), ...pieces.map((p) => chat({ content: p })), chat({}, "stop"), `data: ${JSON.stringify({ id: "chatcmpl-b", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 1200, completion_tokens: TOKENS, total_tokens: 5200 } })}\n\n`, "data: [DONE]\n\n"].map((t) => encoder.encode(t));

/** A named key whose ledger answers at once (the object round trip is not CPU of this isolate). */
function ops(): RequestOps {
  const ledger = { admit: async () => ({ ok: true as const }), record: async () => {}, usage: async () => [], remember: async () => {}, owned: async (ids: string[]) => ids };
  return { requestId: "req_bench", key: { name: "bench", limits: null }, ledger, trace: newTrace("responses"), waitUntil: () => {} };
}

const source = (chunks: Uint8Array[]) => {
  let i = 0;
  return new ReadableStream<Uint8Array>({ pull: (c) => (i < chunks.length ? c.enqueue(chunks[i++]!) : c.close()) });
};
async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  while (!(await reader.read()).done);
}
const console_log = console.log;
const run = async (label: string, fn: () => Promise<void>) => {
  console.log = () => {}; // The one log line per request is not what is measured.
  const m = await measure(fn);
  console.log = console_log;
  return { label, ms: m.avg / 1e6 / (TOKENS / 1000) };
};

const rows = [
  await run("do-nothing `TransformStream`, Responses SSE", () => drain(source(responsesChunks).pipeThrough(new TransformStream()))),
  await run("observed (id + usage), Responses SSE", () => drain(observeStream(source(responsesChunks), ops(), { creates: true, usage: "responses" }))),
  await run("do-nothing `TransformStream`, chat SSE", () => drain(source(chatChunks).pipeThrough(new TransformStream()))),
  await run("observed (usage), chat SSE with include_usage", () => drain(observeStream(source(chatChunks), ops(), { creates: false, usage: "chat" }))),
  await run("observed, chat SSE, usage chunk kept from the client", () => drain(observeStream(source(chatChunks), ops(), { creates: false, usage: "chat", hideUsageChunk: true }))),
];
const base = (i: number) => rows[i < 2 ? 0 : 2]!.ms;
console.log(["| path | CPU per 1,000 tokens | × do-nothing |", "| --- | ---: | ---: |", ...rows.map((r, i) => `| ${r.label} | ${r.ms.toFixed(3)} ms | ${(r.ms / base(i)).toFixed(2)} |`)].join("\n"));
