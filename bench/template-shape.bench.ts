/**
 * `node bench/template-shape.bench.ts`: what reshaping messages for the upstream's chat template
 * costs per request (`shapeMessages`, run on every upstream call), on a long Codex-like session:
 * instructions, a developer message, then 500 tool-loop turns (user, assistant with a tool call,
 * its result, the answer) with a developer note every 50 turns: 2,002 messages. Prints Markdown.
 */
import { measure } from "mitata";
import { type ChatMessage, shapeMessages, type TemplateShape } from "../src/index.ts";

function session(turns: number): ChatMessage[] {
  const out: ChatMessage[] = [{ role: "system", content: "You are Codex. ".repeat(400) }, { role: "developer", content: "<permissions instructions>…</permissions instructions>" }];
  for (let i = 0; i < turns; i++) {
    if (i % 50 === 49) out.push({ role: "developer", content: `<model_switch>turn ${i}</model_switch>` });
    out.push({ role: "user", content: `Task ${i}: run the tests and fix what fails.` });
    out.push({ role: "assistant", content: null, tool_calls: [{ id: `call_${i}`, type: "function", function: { name: "exec_command", arguments: `{"cmd":"npm test -- ${i}"}` } }] });
    out.push({ role: "tool", tool_call_id: `call_${i}`, content: `ok ${i}\n`.repeat(20) });
    out.push({ role: "assistant", content: `Turn ${i} done.` });
  }
  return out;
}

const messages = session(500);
console.log(`| shape | messages | time per call (median) |\n|---|---|---|`);
for (const shape of ["join", "strict", "no-system"] as TemplateShape[]) {
  const stats = await measure(() => shapeMessages(messages, shape));
  console.log(`| ${shape} | ${messages.length} | ${(stats.p50 / 1000).toFixed(1)} µs |`);
}
// For scale: the upstream body is serialized on every call anyway.
const stringify = await measure(() => JSON.stringify({ model: "m", messages }));
console.log(`| (JSON.stringify of the same messages) | ${messages.length} | ${(stringify.p50 / 1000).toFixed(1)} µs |`);
