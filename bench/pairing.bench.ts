/**
 * `node bench/pairing.bench.ts`: what the tool-call pairing check (`checkToolPairing`) costs per request, on a long
 * Codex-like conversation (user messages, reasoning, calls and their outputs), next to `JSON.parse` of the same
 * request body, which the bridge pays on every request anyway. Prints Markdown for bench/pairing.md.
 */
import { measure } from "mitata";
import { checkToolPairing } from "../src/index.ts";

function conversation(turns: number): unknown[] {
  const items: unknown[] = [];
  for (let t = 0; t < turns; t++) {
    items.push({ type: "message", role: "user", content: [{ type: "input_text", text: `Step ${t}: run the tests and fix what fails.` }] });
    items.push({ type: "reasoning", id: `rs_${t}`, summary: [{ type: "summary_text", text: "Run them first." }] });
    for (let c = 0; c < 4; c++) items.push({ type: "function_call", call_id: `call_${t}_${c}`, name: "exec_command", arguments: '{"cmd":"npm test"}' });
    for (let c = 3; c >= 0; c--) items.push({ type: "function_call_output", call_id: `call_${t}_${c}`, output: "Process exited with code 0\nOutput:\n".padEnd(400, ".") });
    items.push({ type: "message", role: "assistant", content: [{ type: "output_text", text: "All green." }] });
  }
  return items;
}

const rows: string[] = ["| input items | checkToolPairing | JSON.parse of the body | ratio |", "| --- | --- | --- | --- |"];
for (const turns of [10, 100, 1_000]) {
  const items = conversation(turns);
  const body = JSON.stringify({ model: "gpt-5.5", input: items });
  const check = await measure(() => checkToolPairing(items));
  const parse = await measure(() => JSON.parse(body));
  const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;
  rows.push(`| ${items.length} | ${us(check.avg)} | ${us(parse.avg)} | ${(check.avg / parse.avg).toFixed(3)} |`);
}
console.log(rows.join("\n"));
