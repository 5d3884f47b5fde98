/**
 * The protocol invariants every Responses stream this project produces must
 * hold, whatever the upstream did. One checker for every test (unit,
 * property, soak, Worker, end-to-end): plain code that throws an `Error`
 * naming the first broken rule, so it is cheap enough for 10,000 generated
 * streams and runs anywhere (Node, workerd).
 *
 * - framing (when the raw text is given): `event: <type>\ndata: <json>\n\n`
 *   per event, LF only, SSE comments allowed, `data: [DONE]` last;
 * - `sequence_number` 0, 1, 2 …; `response.created`, `response.in_progress` first;
 * - exactly one terminal event (`completed`/`incomplete`/`failed`), last;
 *   `failed` follows an `error` event and carries `error`; `completed` has no open item;
 * - one item at a time: `added` … `done` pairs, `output_index` 0, 1, 2 …,
 *   every item event inside its item, unique ids with the type's prefix;
 * - deltas concatenate to their `done` values (text, refusal, reasoning,
 *   arguments, custom tool input), and those to the item in `output_item.done`;
 * - the terminal response's `output` equals the done items; required fields present;
 * - `obfuscation` on every delta event when `obfuscated` is true, on none when false.
 */
import type { OutputItem, ResponseResource, ResponseStreamEvent } from "../../src/index.ts";
import { requiredEventFields, requiredItemFields, requiredResponseFields } from "./spec-contract.ts";

export const TERMINAL_TYPES: ReadonlySet<string> = new Set(["response.completed", "response.incomplete", "response.failed"]);

const PREFIX: Record<string, string> = { message: "msg_", function_call: "fc_", reasoning: "rs_", custom_tool_call: "ctc_", compaction: "cmp_", tool_search_call: "tsc_" };

export interface InvariantOptions {
  /** Check that delta events carry `obfuscation` (true) or do not (false); undefined: either. */
  obfuscated?: boolean;
}

function fail(message: string): never {
  throw new Error(`protocol invariant broken: ${message}`);
}

function same(a: unknown, b: unknown, what: string): void {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  if (x !== y) fail(`${what}: ${x?.slice(0, 300)} !== ${y?.slice(0, 300)}`);
}

/** Parses our own SSE framing strictly; comments (`: …`) are allowed between frames and skipped. */
export function parseSseStrict(raw: string): ResponseStreamEvent[] {
  if (!raw.endsWith("data: [DONE]\n\n")) fail(`stream does not end with data: [DONE]: …${JSON.stringify(raw.slice(-120))}`);
  if (raw.includes("\r")) fail("CR in output: LF line ends only");
  const frames = raw.slice(0, -"data: [DONE]\n\n".length).split("\n\n");
  if (frames.pop() !== "") fail("last frame not terminated by a blank line");
  const events: ResponseStreamEvent[] = [];
  for (const frame of frames) {
    if (frame.startsWith(":")) {
      if (frame.includes("\n")) fail(`multi-line comment frame ${JSON.stringify(frame)}`);
      continue;
    }
    const nl = frame.indexOf("\n");
    if (nl < 0 || frame.indexOf("\n", nl + 1) >= 0) fail(`frame is not one event: and one data: line: ${frame.slice(0, 120)}`);
    const head = frame.slice(0, nl);
    const data = frame.slice(nl + 1);
    if (!head.startsWith("event: ") || !data.startsWith("data: ")) fail(`frame is not event:/data: ${frame.slice(0, 120)}`);
    const event = JSON.parse(data.slice(6)) as ResponseStreamEvent;
    if (head.slice(7) !== event.type) fail(`event: ${head.slice(7)} but type ${event.type}`);
    events.push(event);
  }
  return events;
}

interface OpenState {
  item: OutputItem;
  index: number;
  /** Concatenated deltas, by part key (`c0`, `s0`, `args`, `input`). */
  deltas: Map<string, string>;
  /** Done values, by the same keys. */
  dones: Map<string, string>;
}

function keyOf(e: Record<string, unknown>): string {
  if (typeof e["content_index"] === "number") return `c${e["content_index"]}`;
  if (typeof e["summary_index"] === "number") return `s${e["summary_index"]}`;
  return e["type"] === "response.custom_tool_call_input.delta" || e["type"] === "response.custom_tool_call_input.done" ? "input" : "args";
}

const DELTA_TYPES = new Set([
  "response.output_text.delta",
  "response.refusal.delta",
  "response.reasoning_summary_text.delta",
  "response.reasoning_text.delta",
  "response.function_call_arguments.delta",
  "response.custom_tool_call_input.delta",
]);
const DONE_VALUE: Record<string, string> = {
  "response.output_text.done": "text",
  "response.refusal.done": "refusal",
  "response.reasoning_summary_text.done": "text",
  "response.reasoning_text.done": "text",
  "response.function_call_arguments.done": "arguments",
  "response.custom_tool_call_input.done": "input",
};

/** The item's own final values, by the same keys the events use. */
function itemValues(item: OutputItem): Map<string, string> {
  const m = new Map<string, string>();
  if (item.type === "message") item.content.forEach((p, i) => m.set(`c${i}`, p.type === "output_text" ? p.text : p.refusal));
  else if (item.type === "reasoning") {
    item.summary.forEach((p, i) => m.set(`s${i}`, p.text));
    item.content?.forEach((p, i) => m.set(`c${i}`, p.text));
  } else if (item.type === "function_call") m.set("args", item.arguments);
  else if (item.type === "custom_tool_call") m.set("input", item.input);
  return m;
}

/**
 * Checks one produced stream. `raw` (the SSE text) adds the framing checks;
 * pass `null` for a stream of event objects (e.g. WebSocket frames).
 * Returns the terminal response.
 */
export function checkInvariants(raw: string | null, given?: ResponseStreamEvent[], options: InvariantOptions = {}): ResponseResource {
  const events = given ?? parseSseStrict(raw!);
  if (events.length < 3) fail(`only ${events.length} events`);
  if (events[0]!.type !== "response.created") fail(`first event ${events[0]!.type}`);
  // A background response (`background: true`) is `queued` first: `response.queued` comes between the two.
  const queued = events[1]!.type === "response.queued" ? 1 : 0;
  if (events[1 + queued]!.type !== "response.in_progress") fail(`second event ${events[1 + queued]!.type}`);
  const responseId = (events[0] as { response: ResponseResource }).response.id;
  if (!/^resp_./.test(responseId)) fail(`response id ${responseId}`);

  const ids = new Set<string>();
  const done: OutputItem[] = [];
  let open: OpenState | null = null;
  let sawError = false;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const rec = e as unknown as Record<string, unknown>;
    if (e.sequence_number !== i) fail(`sequence_number of #${i} ${e.type} is ${e.sequence_number}`);
    for (const f of requiredEventFields[e.type] ?? []) if (!(f in rec)) fail(`${e.type} lacks ${f}`);
    if (TERMINAL_TYPES.has(e.type) && i !== events.length - 1) fail(`terminal ${e.type} at #${i} is not last`);
    if ("response" in e) {
      if (e.response.id !== responseId) fail(`response id changed to ${e.response.id}`);
      for (const f of requiredResponseFields) if (!(f in e.response)) fail(`response lacks ${f}`);
    }
    if (e.type === "error") sawError = true;
    if (DELTA_TYPES.has(e.type) && options.obfuscated !== undefined) {
      const has = typeof rec["obfuscation"] === "string";
      if (has !== options.obfuscated) fail(`${e.type} #${i} ${has ? "has" : "lacks"} obfuscation`);
    }
    if (e.type === "response.output_item.added") {
      if (open) fail(`item ${e.item.id} added while ${open.item.id} is open`);
      if (e.output_index !== done.length) fail(`output_index ${e.output_index}, expected ${done.length}`);
      if (ids.has(e.item.id)) fail(`duplicate item id ${e.item.id}`);
      ids.add(e.item.id);
      if (!e.item.id.startsWith(PREFIX[e.item.type] ?? "?")) fail(`${e.item.type} id ${e.item.id}`);
      open = { item: e.item, index: e.output_index, deltas: new Map(), dones: new Map() };
    } else if (e.type === "response.output_item.done") {
      if (!open) fail(`output_item.done for ${e.item.id} without added`);
      if (e.output_index !== open.index || e.item.id !== open.item.id || e.item.type !== open.item.type) fail(`done ${e.item.id} does not match added ${open.item.id}`);
      if ("call_id" in e.item && e.item.call_id !== (open.item as { call_id: string }).call_id) fail(`call_id changed on ${e.item.id}`);
      for (const f of requiredItemFields[e.item.type] ?? []) if (!(f in e.item)) fail(`${e.item.type} lacks ${f}`);
      // What streamed is what the item holds.
      const values = itemValues(e.item);
      for (const [k, v] of open.deltas) if (values.get(k) !== v) fail(`deltas of ${e.item.id}/${k} ${JSON.stringify(v.slice(0, 80))} ≠ item ${JSON.stringify(values.get(k)?.slice(0, 80))}`);
      for (const [k, v] of open.dones) if (values.get(k) !== v) fail(`done value of ${e.item.id}/${k} ≠ item`);
      done.push(e.item);
      open = null;
    } else if (typeof rec["item_id"] === "string") {
      if (!open) fail(`${e.type} outside an open item`);
      if (rec["item_id"] !== open.item.id || rec["output_index"] !== open.index) fail(`${e.type} for ${String(rec["item_id"])} inside ${open.item.id}`);
      const key = keyOf(rec);
      if (DELTA_TYPES.has(e.type)) {
        if (typeof rec["delta"] !== "string") fail(`${e.type} delta is not a string`);
        if (open.dones.has(key)) fail(`${e.type} after its done`);
        open.deltas.set(key, (open.deltas.get(key) ?? "") + (rec["delta"] as string));
      } else if (DONE_VALUE[e.type]) {
        const value = rec[DONE_VALUE[e.type]!] as string;
        if ((open.deltas.get(key) ?? "") !== value) fail(`${e.type} ${JSON.stringify(value.slice(0, 80))} ≠ its deltas ${JSON.stringify((open.deltas.get(key) ?? "").slice(0, 80))}`);
        open.dones.set(key, value);
      }
    }
  }
  if (open) fail(`item ${open.item.id} left open at the end`);
  const last = events[events.length - 1]!;
  if (!TERMINAL_TYPES.has(last.type)) fail(`last event ${last.type} is not terminal`);
  const final = (last as { response: ResponseResource }).response;
  same(final.output, done, "terminal output ≠ done items");
  const status = { "response.completed": "completed", "response.incomplete": "incomplete", "response.failed": "failed" }[last.type as string];
  if (final.status !== status) fail(`${last.type} with status ${final.status}`);
  if (last.type === "response.failed") {
    if (!sawError) fail("response.failed without an error event");
    if (!final.error || typeof final.error.message !== "string" || !final.error.message) fail("response.failed without error.message");
  } else if (sawError) fail(`error event before ${last.type}`);
  if (final.usage) {
    const u = final.usage;
    for (const v of [u.input_tokens, u.output_tokens, u.total_tokens, u.input_tokens_details.cached_tokens, u.output_tokens_details.reasoning_tokens]) {
      if (!Number.isInteger(v)) fail(`usage value ${v} is not an integer`);
    }
  }
  return final;
}
