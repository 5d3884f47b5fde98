// The page's logic, no framework: a source (a sample Chat Completions stream converted here by
// the library, or the Worker's own /v1/responses) → Responses SSE frames → a timeline with one
// lane per output item. Samples are paced frame by frame so the conversion can be watched.
import { ChatToResponsesStream } from "/lib/responses-bridge.js";

const SAMPLES = {
  text: { model: "gpt-4o-mini", input: "How does the bridge stream?" },
  "parallel-tools": {
    model: "qwen3-32b",
    input: "Weather and time in Paris?",
    tools: [
      { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string" } }, required: ["city"] } },
      { type: "function", name: "get_time", parameters: { type: "object", properties: { timezone: { type: "string" } }, required: ["timezone"] } },
    ],
  },
  reasoning: { model: "deepseek-reasoner", input: "How many r's are in strawberry?" },
  "upstream-failure": { model: "deepseek/deepseek-chat", input: "Summarise the report." },
};
const FRAME_DELAY_MS = 45;

const $ = (selector) => document.querySelector(selector);
function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) if (child != null) node.append(child);
  return node;
}

/** Splits SSE text into frames (`\n\n`-terminated); returns the frames and the unfinished rest. */
function frames(buffer) {
  const parts = buffer.split("\n\n");
  return { complete: parts.slice(0, -1), rest: parts.at(-1) };
}

/** Re-emits SSE bytes one frame at a time with a pause between frames, and shows each frame as it passes. */
function paced(onFrame) {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  const emit = async (frame, controller) => {
    onFrame(frame);
    controller.enqueue(encoder.encode(`${frame}\n\n`));
    await new Promise((r) => setTimeout(r, FRAME_DELAY_MS));
  };
  return new TransformStream({
    async transform(bytes, controller) {
      const { complete, rest } = frames(buffer + decoder.decode(bytes, { stream: true }));
      buffer = rest;
      for (const frame of complete) await emit(frame, controller);
    },
    async flush(controller) {
      if (buffer.trim()) await emit(buffer, controller);
    },
  });
}

/** Responses SSE text → event objects. The framing is the bridge's own (`event:` + `data:` per frame). */
function responsesEvents(onRaw) {
  let buffer = "";
  return new TransformStream({
    transform(text, controller) {
      const { complete, rest } = frames(buffer + text);
      buffer = rest;
      for (const frame of complete) {
        onRaw(frame);
        const data = frame.split("\n").find((line) => line.startsWith("data:"))?.slice(5).trim();
        if (data && data !== "[DONE]") controller.enqueue(JSON.parse(data));
      }
    },
  });
}

// ── the timeline ───────────────────────────────────────────────────────────

const KIND = { message: "message", reasoning: "reasoning", function_call: "function call", custom_tool_call: "custom tool call" };
const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

class Timeline {
  constructor() {
    this.lanes = new Map(); // "response" or output_index → lane
    this.start = performance.now();
    this.frames = 0;
    $("#lanes").replaceChildren();
    $("#terminal").hidden = true;
    $("#terminal").replaceChildren();
    $("#final").replaceChildren(el("p", { className: "muted", textContent: "Waiting for the terminal event…" }));
    $("#raw-in").textContent = "";
    $("#raw-out").textContent = "";
    $("#raw-count").textContent = "";
    this.lane("response", "response", "");
  }

  now() {
    return performance.now() - this.start;
  }

  lane(key, kind, detail) {
    let lane = this.lanes.get(key);
    if (lane) return lane;
    const name = el("span", { className: "kind", textContent: kind });
    const state = el("span", { className: "state", textContent: "open" });
    const label = el("div", { className: "lane-label" }, name, detail ? el("span", { className: "detail", textContent: detail }) : null, state);
    const bar = el("div", { className: "bar" });
    const track = el("div", { className: "track", ariaHidden: "true" }, bar);
    const content = el("div", { className: "lane-content" });
    const li = el("li", { className: `lane lane--${kind.replace(/ /g, "-")}` }, label, track, content);
    li.dataset.state = "open";
    $("#lanes").append(li);
    lane = { li, bar, track, state, content, opened: this.now(), closed: null, ticks: [], deltas: 0, text: "" };
    this.lanes.set(key, lane);
    return lane;
  }

  tick(lane, kind) {
    const mark = el("span", { className: `tick tick--${kind}` });
    lane.track.append(mark);
    lane.ticks.push({ mark, at: this.now() });
  }

  close(lane, status) {
    lane.closed = this.now();
    lane.li.dataset.state = status;
    lane.state.textContent = status;
  }

  /** Positions bars and ticks against the time elapsed so far (the scale grows as events arrive). */
  layout() {
    const total = Math.max(this.now(), 1);
    const pct = (t) => `${((t / total) * 100).toFixed(2)}%`;
    for (const lane of this.lanes.values()) {
      const end = lane.closed ?? total;
      lane.bar.style.left = pct(lane.opened);
      lane.bar.style.width = `max(3px, ${pct(end - lane.opened)})`;
      for (const { mark, at } of lane.ticks) mark.style.left = pct(at);
    }
  }

  event(e) {
    const response = this.lanes.get("response");
    if (e.type === "response.output_item.added") {
      const item = e.item;
      const detail = item.name ? `${item.namespace ? `${item.namespace}.` : ""}${item.name}` : "";
      const lane = this.lane(e.output_index, KIND[item.type] ?? item.type, detail);
      this.tick(lane, "other");
    } else if (e.type === "response.output_item.done") {
      const lane = this.lanes.get(e.output_index);
      if (lane) {
        this.tick(lane, "other");
        this.close(lane, e.item.status ?? "completed");
        if (!lane.text && e.item.arguments) lane.content.textContent = e.item.arguments;
      }
    } else if (typeof e.output_index === "number" && this.lanes.has(e.output_index)) {
      const lane = this.lanes.get(e.output_index);
      const isDelta = e.type.endsWith(".delta");
      const kind = !isDelta ? "other" : e.type.includes("reasoning") ? "reasoning" : e.type.includes("arguments") || e.type.includes("custom_tool_call_input") ? "arguments" : "text";
      this.tick(lane, kind);
      if (isDelta && typeof e.delta === "string") {
        lane.deltas++;
        lane.text += e.delta;
        lane.content.textContent = lane.text;
      }
    } else {
      this.tick(response, "other");
      if (TERMINAL.has(e.type)) this.finish(e.response);
    }
    this.layout();
  }

  raw(side, frame) {
    $(side).textContent += `${frame}\n\n`;
    if (side === "#raw-out") $("#raw-count").textContent = `(${++this.frames} out)`;
  }

  finish(response) {
    const lane = this.lanes.get("response");
    this.close(lane, response.status);
    const usage = response.usage;
    const facts = [["after", `${(this.now() / 1000).toFixed(2)} s`]];
    if (response.incomplete_details) facts.push(["reason", response.incomplete_details.reason]);
    if (usage) {
      facts.push(["input tokens", usage.input_tokens], ["output tokens", usage.output_tokens], ["total", usage.total_tokens]);
      if (usage.output_tokens_details?.reasoning_tokens) facts.push(["reasoning", usage.output_tokens_details.reasoning_tokens]);
      if (usage.input_tokens_details?.cached_tokens) facts.push(["cached", usage.input_tokens_details.cached_tokens]);
    } else facts.push(["usage", "not sent"]);
    const list = el("dl", {}, ...facts.map(([k, v]) => el("div", {}, el("dt", { textContent: k }), el("dd", { textContent: String(v) }))));
    const terminal = $("#terminal");
    const error = response.error ? el("p", { className: "terminal-error", textContent: `${response.error.code}: ${response.error.message}` }) : null;
    terminal.replaceChildren(...[el("span", { className: `badge badge--${response.status}`, textContent: `response.${response.status}` }), list, error].filter(Boolean));
    terminal.hidden = false;
    this.showOutput(response);
  }

  showOutput(response) {
    const parts = [];
    for (const item of response.output) {
      if (item.type === "message") {
        const text = item.content.map((c) => c.text ?? c.refusal ?? "").join("");
        parts.push(el("p", { className: "final-text", textContent: text }));
      } else if (item.type === "function_call") {
        parts.push(el("p", { className: "final-call" }, el("code", { textContent: `${item.name}(${item.arguments})` })));
      } else if (item.type === "custom_tool_call") {
        parts.push(el("p", { className: "final-call" }, el("code", { textContent: `${item.name}: ${item.input}` })));
      }
    }
    if (!parts.length) parts.push(el("p", { className: "muted", textContent: `No output (${response.status}).` }));
    $("#final").replaceChildren(...parts);
  }
}

// ── sources ────────────────────────────────────────────────────────────────

async function play(responsesBytes, timeline, label) {
  const status = $("#status");
  status.textContent = `${label}: streaming…`;
  let count = 0;
  await responsesBytes
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(responsesEvents((frame) => timeline.raw("#raw-out", frame)))
    .pipeTo(
      new WritableStream({
        write(e) {
          count++;
          timeline.event(e);
        },
      }),
    );
  const lanes = timeline.lanes.size - 1;
  status.textContent = `${label}: ${count} events, ${lanes} output item${lanes === 1 ? "" : "s"}, ${timeline.lanes.get("response").li.dataset.state}.`;
}

async function playSample(name) {
  const timeline = new Timeline();
  const request = { ...SAMPLES[name], stream: true };
  const upstream = await fetch(`/samples/${name}.sse`);
  const converted = upstream.body.pipeThrough(paced((frame) => timeline.raw("#raw-in", frame))).pipeThrough(new ChatToResponsesStream({ request }));
  await play(converted, timeline, `Sample “${name}”`);
}

async function sendPrompt(form) {
  const timeline = new Timeline();
  const data = new FormData(form);
  const request = { model: data.get("model"), input: data.get("prompt"), stream: true, store: false };
  timeline.raw("#raw-in", `POST /v1/responses\n${JSON.stringify(request, null, 2)}`);
  const headers = { "content-type": "application/json" };
  if (data.get("key")) headers.authorization = `Bearer ${data.get("key")}`;
  const response = await fetch("/v1/responses", { method: "POST", headers, body: JSON.stringify(request) });
  if (!response.ok || !response.headers.get("content-type")?.includes("text/event-stream")) {
    const body = await response.text();
    timeline.raw("#raw-out", `HTTP ${response.status}\n${body}`);
    let message = body;
    try {
      message = JSON.parse(body).error.message;
    } catch {}
    timeline.finish({ status: "failed", error: { code: `HTTP ${response.status}`, message }, output: [], usage: null });
    $("#status").textContent = `The Worker answered ${response.status}: ${message}`;
    return;
  }
  await play(response.body, timeline, `Prompt to ${request.model}`);
}

function guard(run) {
  return (event) => {
    event.preventDefault();
    const buttons = document.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    run(event.currentTarget)
      .catch((error) => ($("#status").textContent = `Failed: ${error.message}`))
      .finally(() => buttons.forEach((b) => (b.disabled = false)));
  };
}

$("#sample-form").addEventListener("submit", guard((form) => playSample(new FormData(form).get("sample"))));
$("#prompt-form").addEventListener("submit", guard(sendPrompt));
