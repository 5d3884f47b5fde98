/**
 * `npm run bench`: what a request costs the bridge, on this machine's Node.
 *
 * - converter: the pure state machine, per upstream chunk;
 * - stream: Chat SSE bytes → Responses SSE bytes through `ChatToResponsesStream`,
 *   per chunk and per whole 500-chunk answer, next to an identity
 *   `TransformStream` over the same bytes (the floor any stream-based proxy pays);
 * - memory: heap after converting a long answer, against the size of its text.
 *
 * Prints a Markdown table (paste it into the README) and exits non-zero when
 * a whole 500-chunk answer costs more than its budget of CPU time.
 */
import { measure } from "mitata";
import { ChatToResponsesStream, createChatToResponsesConverter, type ChatCompletionChunk } from "../src/index.ts";

const BUDGET_MS_PER_ANSWER = Number(process.env.BENCH_BUDGET_MS ?? 10);
const CHUNKS = 500;

function textChunk(i: number): ChatCompletionChunk {
  return { id: "chatcmpl-b", object: "chat.completion.chunk", created: 1_761_000_000, model: "m", choices: [{ index: 0, delta: { content: ` token${i}` }, finish_reason: null }] };
}
function toolChunk(i: number): ChatCompletionChunk {
  return { id: "chatcmpl-b", created: 1_761_000_000, model: "m", choices: [{ index: 0, delta: { tool_calls: [{ index: 0, ...(i === 0 ? { id: "call_1", function: { name: "f", arguments: '{"x":"' } } : { function: { arguments: "ab" } }) }] }, finish_reason: null }] };
}

const textChunks = Array.from({ length: CHUNKS }, (_, i) => textChunk(i));
const finish: ChatCompletionChunk = { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] };
const usage: ChatCompletionChunk = { choices: [], usage: { prompt_tokens: 100, completion_tokens: CHUNKS, total_tokens: 100 + CHUNKS } };
const encoder = new TextEncoder();
const frames = [...textChunks, finish, usage].map((c) => encoder.encode(`data: ${JSON.stringify(c)}\n\n`));
frames.push(encoder.encode("data: [DONE]\n\n"));
const totalBytes = frames.reduce((n, f) => n + f.byteLength, 0);

function source(): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < frames.length) c.enqueue(frames[i++]!);
      else c.close();
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return n;
    n += value.byteLength;
  }
}

type Row = [string, string, string];
const rows: Row[] = [];
const us = (ns: number) => (ns / 1000).toFixed(2);

const conv = await measure(() => {
  const c = createChatToResponsesConverter();
  for (const chunk of textChunks) c.push(chunk);
  c.push(finish);
  c.push(usage);
  c.done();
});
rows.push([`converter, ${CHUNKS}-chunk text answer`, `${us(conv.avg)} µs`, `${((conv.avg / CHUNKS) | 0)} ns/chunk`]);

const toolChunks = Array.from({ length: CHUNKS }, (_, i) => toolChunk(i));
const convTool = await measure(() => {
  const c = createChatToResponsesConverter();
  for (const chunk of toolChunks) c.push(chunk);
  c.push({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"}' } }] }, finish_reason: "tool_calls" }] });
  c.done();
});
rows.push([`converter, ${CHUNKS}-chunk tool-call arguments`, `${us(convTool.avg)} µs`, `${((convTool.avg / CHUNKS) | 0)} ns/chunk`]);

const identity = await measure(async () => drain(source().pipeThrough(new TransformStream())));
rows.push([`identity TransformStream, same ${frames.length} frames (floor)`, `${us(identity.avg)} µs`, `${((identity.avg / frames.length) | 0)} ns/chunk`]);

const stream = await measure(async () => drain(source().pipeThrough(new ChatToResponsesStream())));
rows.push([`ChatToResponsesStream, ${CHUNKS}-chunk answer, bytes in → bytes out`, `${us(stream.avg)} µs`, `${((stream.avg / frames.length) | 0)} ns/chunk`]);
rows.push([`  above the identity floor`, `${us(stream.avg - identity.avg)} µs`, `${(((stream.avg - identity.avg) / frames.length) | 0)} ns/chunk`]);
rows.push([`  throughput`, `${((totalBytes / (stream.avg / 1e9)) / 1e6).toFixed(1)} MB/s in`, `${totalBytes} bytes in`]);

// Memory: a long answer holds its own text (the final response carries it) and nothing per chunk beyond that.
const long = 20_000;
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = process.memoryUsage().heapUsed;
const c = createChatToResponsesConverter();
let textBytes = 0;
for (let i = 0; i < long; i++) {
  const chunk = textChunk(i);
  textBytes += (chunk.choices[0]!.delta.content as string).length;
  c.push(chunk);
}
c.push(finish);
c.done();
gc?.();
const grown = process.memoryUsage().heapUsed - before;
rows.push([`heap kept after a ${long}-chunk answer${gc ? "" : " (run with --expose-gc for a clean figure)"}`, `${(grown / 1024).toFixed(0)} KiB`, `text itself: ${(textBytes / 1024).toFixed(0)} KiB`]);

console.log(`\nNode ${process.version}, ${CHUNKS}-chunk answer = ${frames.length} SSE frames, ${totalBytes} bytes\n`);
console.log("| case | time | per chunk |\n|---|---:|---:|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
const perAnswerMs = stream.avg / 1e6;
console.log(`\nbudget: a whole ${CHUNKS}-chunk answer in ${perAnswerMs.toFixed(2)} ms of CPU, limit ${BUDGET_MS_PER_ANSWER} ms → ${perAnswerMs <= BUDGET_MS_PER_ANSWER ? "OK" : "OVER"}`);
if (perAnswerMs > BUDGET_MS_PER_ANSWER) process.exitCode = 1;
