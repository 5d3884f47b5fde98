import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatToResponsesStream, chatToResponsesSse, createResponsesReader, type MessageItem, type ResponseResource, type ResponseStreamEvent, type ResponsesReaderOptions } from "../../../src/index.ts";
import * as up from "../../fixtures/upstreams.ts";
import { bytesOf, deltaText, sse, streamOf, testOptions } from "../../support/helpers.ts";
import { faultyBody } from "../../support/faulty-upstream.ts";
import { checkInvariants, parseSseStrict } from "../../support/invariants.ts";

const text = (t: string, finish: string | null = null) => ({ id: "c", created: 1_761_000_000, model: "m", choices: [{ index: 0, delta: { content: t }, finish_reason: finish }] });
const frame = (c: unknown) => `data: ${JSON.stringify(c)}\n\n`;

function opts(extra: ResponsesReaderOptions = {}): ResponsesReaderOptions {
  return { ...testOptions(), ...extra };
}

async function run(body: ReadableStream<Uint8Array> | Response | null, options: ResponsesReaderOptions = opts()) {
  const raw = await new Response(chatToResponsesSse(body, options)).text();
  const events = parseSseStrict(raw);
  const final = checkInvariants(raw, events, { obfuscated: true });
  return { raw, events, final, types: events.map((e) => e.type) };
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
beforeEach(() => {
  unhandled.length = 0;
  process.on("unhandledRejection", onUnhandled);
});
afterEach(async () => {
  // Give stray rejections a turn to surface before checking none did.
  await new Promise((r) => setTimeout(r, 5));
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled).toEqual([]);
});

describe("chatToResponsesSse: the same output as the TransformStream for healthy upstreams", () => {
  it.each(Object.entries(up).filter((e): e is [string, string] => typeof e[1] === "string"))("%s", async (_name, fixture) => {
    const viaPipe = await new Response(streamOf([bytesOf(fixture)]).pipeThrough(new ChatToResponsesStream(testOptions()))).text();
    const viaPull = await run(streamOf([bytesOf(fixture)]));
    expect(viaPull.raw).toBe(viaPipe);
  });

  it("accepts the upstream Response itself", async () => {
    const r = await run(new Response(up.openaiText));
    expect(r.final.status).toBe("completed");
    expect(deltaText(r.events, "response.output_text.delta")).toBe("Hello, world!");
  });
});

describe("upstream failures become response.failed, with what arrived kept", () => {
  it("a reset mid-stream: the text that arrived, then error + response.failed naming the cause", async () => {
    const u = faultyBody([frame(text("Hello")), frame(text(", wor")), "data: {\"choi"], "reset");
    const r = await run(u.body);
    expect(deltaText(r.events, "response.output_text.delta")).toBe("Hello, wor");
    expect(r.types.slice(-2)).toEqual(["error", "response.failed"]);
    expect(r.final.error).toEqual({ code: "upstream_disconnected", message: expect.stringContaining("Network connection lost.") });
    expect((r.final.output[0] as MessageItem)).toMatchObject({ status: "incomplete", content: [{ text: "Hello, wor" }] });
  });

  it("a reset before any chunk still gives a whole failed response", async () => {
    const r = await run(faultyBody([], "reset", new Error("ECONNRESET")).body);
    expect(r.types).toEqual(["response.created", "response.in_progress", "error", "response.failed"]);
    expect(r.final.error?.message).toContain("ECONNRESET");
  });

  it("pipeThrough cannot do this (the documented limit of ChatToResponsesStream)", async () => {
    const u = faultyBody([frame(text("Hello"))], "reset");
    await expect(new Response(u.body.pipeThrough(new ChatToResponsesStream(testOptions()))).text()).rejects.toThrow();
  });

  it("a stalled upstream: idle timeout → response.failed naming it, upstream cancelled", async () => {
    const u = faultyBody([frame(text("Hel")), frame(text("lo"))], "stall");
    const ended: ResponseResource[] = [];
    const r = await run(u.body, opts({ idleTimeoutMs: 40, onEnd: (res) => ended.push(res) }));
    expect(deltaText(r.events, "response.output_text.delta")).toBe("Hello");
    expect(r.final.error?.code).toBe("upstream_idle_timeout");
    expect(r.final.error?.message).toMatch(/idle timeout/);
    expect(u.cancelled).toBe(true);
    expect(ended.map((e) => e.status)).toEqual(["failed"]);
  });

  it("a slow consumer is not an idle upstream: the watchdog only counts time spent waiting on the upstream", async () => {
    const u = faultyBody([frame(text("a")), frame(text("b")), frame(text("", "stop")), "data: [DONE]\n\n"]);
    const reader = chatToResponsesSse(u.body, opts({ idleTimeoutMs: 30 })).getReader();
    let raw = new TextDecoder().decode((await reader.read()).value);
    await new Promise((r) => setTimeout(r, 120));
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      raw += new TextDecoder().decode(value);
    }
    expect(checkInvariants(raw).status).toBe("completed");
  });

  it("no body at all", async () => {
    const r = await run(null);
    expect(r.final.error?.message).toBe("Upstream answered without a body.");
  });

  it("the watchdog is one timer, re-armed by time, not per read", async () => {
    const spy = vi.spyOn(globalThis, "setTimeout");
    try {
      const parts = Array.from({ length: 200 }, (_, i) => frame(text(`t${i}`)));
      const r = await run(faultyBody([...parts, frame(text("", "stop")), "data: [DONE]\n\n"]).body, opts({ idleTimeoutMs: 60_000 }));
      expect(r.final.status).toBe("completed");
      expect(spy.mock.calls.length).toBe(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("keep-alives", () => {
  it("upstream comments pass on as SSE comments, at most one per keepAliveMs, and the answer completes", async () => {
    let t = 0;
    const parts = [": keep-alive\n\n", ": keep-alive\n\n", ": OPENROUTER PROCESSING\n\n", frame(text("Hi")), ": keep-alive\n\n", frame(text("", "stop")), "data: [DONE]\n\n"];
    // Each upstream read advances the clock 2 s.
    const r = await run(faultyBody(parts).body, opts({ keepAliveMs: 5_000, clock: () => (t += 1_000) }));
    const comments = r.raw.split("\n\n").filter((f) => f.startsWith(":"));
    expect(comments.length).toBeGreaterThanOrEqual(1);
    expect(comments.length).toBeLessThan(4);
    expect(comments.every((c) => c === ": keep-alive")).toBe(true);
    expect(r.final.status).toBe("completed");
    expect(r.raw.startsWith(": keep-alive\n\n")).toBe(true);
  });
});

describe("the consumer cancelling", () => {
  it.each([0, 1, 2, 3])("after %i reads: upstream cancelled, onEnd gets the partial response as cancelled, no rejection", async (reads) => {
    const u = faultyBody([frame(text("a")), frame(text("b")), frame(text("c")), frame(text("d"))], "stall");
    const ended: ResponseResource[] = [];
    const stream = chatToResponsesSse(u.body, opts({ onEnd: (r) => ended.push(r) }));
    const reader = stream.getReader();
    for (let i = 0; i < reads; i++) await reader.read();
    await reader.cancel(new Error("client left"));
    expect(u.cancelled).toBe(true);
    expect(ended).toHaveLength(1);
    expect(ended[0]!.status).toBe("cancelled");
    if (reads > 0) expect(ended[0]!.output[0]).toMatchObject({ type: "message", status: "incomplete" });
  });

  it("while a read is pending", async () => {
    const u = faultyBody([frame(text("a"))], "stall");
    const reader = chatToResponsesSse(u.body, opts()).getReader();
    await reader.read();
    const pending = reader.read();
    await reader.cancel();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(u.cancelled).toBe(true);
  });

  it("reads at most one batch ahead of its consumer", async () => {
    const u = faultyBody(Array.from({ length: 20 }, (_, i) => frame(text(`t${i}`))), "stall");
    const reader = chatToResponsesSse(u.body, opts()).getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 5));
    expect(u.pulled).toBeLessThanOrEqual(2);
    await reader.cancel();
  });
});

describe("the bytes handed out", () => {
  it("each chunk keeps its bytes after later ones are written (batches share encoding blocks), across blocks and for a batch larger than one", async () => {
    const deltas = [...Array.from({ length: 300 }, (_, i) => `t${i} é😀`), "x".repeat(40_000), "end"];
    const reader = chatToResponsesSse(streamOf(deltas.map((t, i) => bytesOf(frame(text(t, i === deltas.length - 1 ? "stop" : null))))), opts()).getReader();
    const chunks: Array<[Uint8Array, Uint8Array]> = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push([r.value, r.value.slice()]);
    // Blocks are shared: some chunks are views into the same buffer as others.
    expect(new Set(chunks.map(([c]) => c.buffer)).size).toBeLessThan(chunks.length);
    for (const [chunk, copy] of chunks) expect(chunk).toEqual(copy);
    const raw = new TextDecoder().decode(Buffer.concat(chunks.map(([c]) => c)));
    const events = parseSseStrict(raw);
    checkInvariants(raw, events, { obfuscated: true });
    expect(deltaText(events, "response.output_text.delta")).toBe(deltas.join(""));
  });
});

describe("the reader core, as a WebSocket loop drives it", () => {
  it("every event as its own JSON text, the same as the SSE data lines, in order; onEnd once", async () => {
    const frames: string[] = [];
    const ended: ResponseResource[] = [];
    const reader = createResponsesReader(streamOf([bytesOf(up.deepseekReasoning)]), opts({ onEnd: (r) => ended.push(r) }));
    while (await reader.pull({ event: (_type, json) => frames.push(json) }));
    const events = frames.map((f) => JSON.parse(f) as ResponseStreamEvent);
    const final = checkInvariants(null, events, { obfuscated: true });
    const sseRun = await run(streamOf([bytesOf(up.deepseekReasoning)]));
    expect(frames).toEqual(sseRun.events.map((e) => JSON.stringify(e)));
    expect(ended).toEqual([final]);
    expect(reader.ended).toBe(true);
    expect(await reader.pull({ event: () => frames.push("more") })).toBe(false);
  });

  it("beforeFlush may amend items asynchronously before they leave", async () => {
    const frames: string[] = [];
    const reader = createResponsesReader(streamOf([bytesOf(up.deepseekReasoning)]), {
      ...opts(),
      async beforeFlush(pending) {
        await Promise.resolve();
        for (const e of pending) if (typeof e !== "string" && e.type === "response.output_item.done" && e.item.type === "reasoning") (e.item as { encrypted_content?: string }).encrypted_content = "sealed";
      },
    });
    while (await reader.pull({ event: (_t, json) => frames.push(json) }));
    const events = frames.map((f) => JSON.parse(f) as ResponseStreamEvent);
    const done = events.find((e) => e.type === "response.output_item.done" && e.item.type === "reasoning") as { item: { encrypted_content?: string } };
    expect(done.item.encrypted_content).toBe("sealed");
    expect((events.at(-1) as { response: ResponseResource }).response.output[0]).toMatchObject({ encrypted_content: "sealed" });
  });
  it("onEnd runs before the terminal event reaches the sink, so a host's store write is under way when the client sees the end", async () => {
    const order: string[] = [];
    const reader = createResponsesReader(streamOf([bytesOf(up.deepseekReasoning)]), opts({ onEnd: (r) => order.push(`onEnd ${r.status}`) }));
    while (await reader.pull({ event: (type) => order.push(type) }));
    expect(order.filter((o) => o.startsWith("onEnd"))).toEqual(["onEnd completed"]);
    expect(order.indexOf("onEnd completed")).toBeLessThan(order.indexOf("response.completed"));
  });

  it("a beforeFlush that rejects fails the response (error + response.failed), cancels the upstream and runs onEnd", async () => {
    let cancelled = false;
    const parts = [frame(text("a")), frame(text("b")), frame(text("", "stop")), "data: [DONE]\n\n"].map((p) => bytesOf(p));
    const upstream = new ReadableStream<Uint8Array>({
      pull(c) {
        const p = parts.shift();
        if (p) c.enqueue(p);
      },
      cancel() {
        cancelled = true;
      },
    });
    const ended: ResponseResource[] = [];
    const frames: string[] = [];
    let calls = 0;
    const reader = createResponsesReader(upstream, {
      ...opts({ onEnd: (r) => ended.push(r) }),
      async beforeFlush() {
        if (++calls === 2) throw new Error("sealing failed");
      },
    });
    while (await reader.pull({ event: (_t, json) => frames.push(json) }));
    const events = frames.map((f) => JSON.parse(f) as ResponseStreamEvent);
    checkInvariants(null, events, { obfuscated: true });
    expect(events.at(-1)).toMatchObject({ type: "response.failed", response: { status: "failed", error: { code: "server_error" } } });
    expect(JSON.stringify(events.find((e) => e.type === "error"))).toContain("sealing failed");
    expect(ended.map((r) => r.status)).toEqual(["failed"]);
    expect(cancelled).toBe(true);
  });
});

describe("coalescing (opt-in)", () => {
  it("joins the events of reads that arrive within the window into one write; off, one write per read", async () => {
    const parts = [...Array.from({ length: 30 }, (_, i) => frame(text(`t${i}`))), frame(text("", "stop")), "data: [DONE]\n\n"];
    const writes = async (coalesceMs: number) => {
      const reader = chatToResponsesSse(faultyBody(parts).body, opts({ coalesceMs })).getReader();
      let n = 0;
      let raw = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        n++;
        raw += new TextDecoder().decode(value);
      }
      checkInvariants(raw);
      return { n, raw };
    };
    const off = await writes(0);
    const on = await writes(1_000);
    expect(off.n).toBe(32);
    expect(on.n).toBeLessThan(5);
    expect(on.raw).toBe(off.raw);
  });
});

describe("obfuscation", () => {
  it("pads every delta with random-length text by default, differently per stream", async () => {
    const a = await run(streamOf([bytesOf(up.openaiText)]), { ...testOptions(), obfuscation: undefined });
    const b = await run(streamOf([bytesOf(up.openaiText)]), { ...testOptions(), obfuscation: undefined });
    const pads = (events: ResponseStreamEvent[]) => events.filter((e) => e.type.endsWith(".delta")).map((e) => (e as { obfuscation?: string }).obfuscation);
    expect(pads(a.events).every((p) => typeof p === "string" && /^[A-Za-z0-9]{1,32}$/.test(p))).toBe(true);
    expect(pads(a.events)).not.toEqual(pads(b.events));
  });

  it("is off with the request's stream_options.include_obfuscation: false, and deterministic with a seed", async () => {
    const raw = await new Response(chatToResponsesSse(streamOf([bytesOf(up.openaiToolCallSplit)]), { ...testOptions(), request: { model: "m", stream_options: { include_obfuscation: false } } })).text();
    checkInvariants(raw, undefined, { obfuscated: false });
    const seeded = async () => (await run(streamOf([bytesOf(up.openaiToolCallSplit)]), { ...testOptions(), obfuscation: { seed: 42 } })).raw;
    expect(await seeded()).toBe(await seeded());
  });

  it("lengths spread over the whole range", async () => {
    const parts = Array.from({ length: 400 }, (_, i) => frame(text(`${i}`)));
    const r = await run(faultyBody([...parts, frame(text("", "stop"))]).body, { ...testOptions(), obfuscation: { seed: 3 } });
    const lengths = new Set(r.events.filter((e) => e.type === "response.output_text.delta").map((e) => (e as { obfuscation?: string }).obfuscation!.length));
    expect(lengths.size).toBeGreaterThan(25);
  });
});


describe("the issue's list of upstream behaviours, one by one", () => {
  const chunk = (delta: unknown, finish: string | null = null) => ({ id: "c", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] });
  const stop = frame(chunk({}, "stop"));
  const cases: Array<[string, Array<string | Uint8Array>, string, string?]> = [
    ["malformed JSON in data:", [frame(chunk({ content: "a" })), "data: {nope\n\n"], "failed", "a"],
    ["non-chunk JSON", [frame(chunk({ content: "a" })), 'data: {"hello":"world"}\n\n', stop, "data: [DONE]\n\n"], "completed", "a"],
    ["nulls where objects belong", ['data: {"choices":[{"index":0,"delta":null}]}\n\n', 'data: {"choices":[null]}\n\n', frame(chunk({ content: "a" })), stop], "completed", "a"],
    ["missing choices", ['data: {"id":"x"}\n\n', frame(chunk({ content: "a" })), stop], "completed", "a"],
    ["non-string content", [frame(chunk({ content: 42 })), frame(chunk({ content: { text: "x" } })), frame(chunk({ content: "a" })), stop], "completed", "a"],
    ["tool-call deltas that never name the function", [frame(chunk({ tool_calls: [{ index: 0, id: "call_1", function: { arguments: '{"a":1}' } }] })), frame(chunk({}, "tool_calls"))], "completed"],
    ["content after finish_reason", [frame(chunk({ content: "a" })), stop, frame(chunk({ content: "b" })), "data: [DONE]\n\n"], "completed", "ab"],
    ["two [DONE]s", [frame(chunk({ content: "a" })), stop, "data: [DONE]\n\n", "data: [DONE]\n\n"], "completed", "a"],
    ["usage first", ['data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\n\n', frame(chunk({ content: "a" })), stop], "completed", "a"],
    ["a 200 that is HTML", ["<html><body>502 Bad Gateway</body></html>"], "failed"],
    ["a 200 that is a JSON error", ['{"error":{"message":"model overloaded","code":503}}'], "failed"],
    ["an empty body", [], "failed"],
    ["a body cut mid-line", [frame(chunk({ content: "a" })), 'data: {"choices":[{"index":0,"delta":{"content":"b'], "failed", "a"],
    ["one giant chunk", [Array.from({ length: 2_000 }, (_, i) => frame(chunk({ content: `${i % 10}` }))).join("") + stop], "completed", Array.from({ length: 2_000 }, (_, i) => `${i % 10}`).join("")],
    ["one byte at a time", Array.from(bytesOf(frame(chunk({ content: "héllo 😀" })) + stop), (b) => new Uint8Array([b])), "completed", "héllo 😀"],
    ["a single event of several megabytes", [frame(chunk({ content: "x".repeat(5 * 1024 * 1024) })), stop], "completed", "x".repeat(5 * 1024 * 1024)],
  ];
  it.each(cases)("%s", async (_name, parts, status, text) => {
    const r = await run(faultyBody(parts).body);
    expect(r.final.status).toBe(status);
    if (text !== undefined) expect(deltaText(r.events, "response.output_text.delta")).toBe(text);
    if (status === "failed") expect(r.final.error?.message).toBeTruthy();
  });
});
