import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { COMPACTION_INSTRUCTIONS } from "../../src/server.ts";
import { checkInvariants } from "../support/invariants.ts";
import { SCRIPTED_KEY } from "../support/scripted-upstream.ts";
import type { Fetch } from "../../worker/router.ts";
import { events, post, resetSeen, seen, withEnv } from "./bridge.ts";
import { connectWs } from "./ws-client.ts";

// Server-side compaction: `context_management: [{ type: "compaction", compact_threshold }]` on create. Over the
// threshold the upstream writes a summary, the turn runs on it, and the response's output starts with the item.
// `scripted-count` bills one prompt token per word of every message (plus one per message).

beforeEach(resetSeen);

type Msg = { role: string; content: unknown };
type Up = { messages: Msg[]; max_tokens?: number; stream?: boolean; tool_choice?: string; context_management?: unknown };
type Item = { type: string; id?: string; encrypted_content?: string; role?: string; content?: unknown };
type Resp = { id: string; status: string; store: boolean; output: Item[]; previous_response_id?: string | null };

const words = (n: number, w = "alpha") => Array.from({ length: n }, () => w).join(" ");
/** 3 earlier turns of 40 words each: about 250 tokens. */
const HISTORY = [
  { role: "user", content: `First question: ${words(40)}` },
  { type: "message", role: "assistant", content: [{ type: "output_text", text: `First answer: ${words(40, "beta")}` }] },
  { role: "user", content: `Second question: ${words(40, "gamma")}` },
  { type: "message", role: "assistant", content: [{ type: "output_text", text: `Second answer: ${words(40, "delta")}` }] },
];
const ASK = { role: "user", content: "What is the code word?" };
const CM = (n: number) => [{ type: "compaction", compact_threshold: n }];
const text = (c: unknown) => (typeof c === "string" ? c : JSON.stringify(c));
const upstream = async () => (await seen()).requests.map((r) => r.body as unknown as Up);

/** The three upstream calls of a compacting turn: the exact count, the summary, the turn on the summary. */
async function expectCompacted(stream: boolean) {
  const [count, summary, turn, ...more] = await upstream();
  expect(more).toHaveLength(0);
  expect(count!.max_tokens).toBe(1);
  expect(count!.stream).toBeUndefined();
  expect(count!.messages).toHaveLength(5);
  expect(summary!.messages[0]).toEqual({ role: "system", content: COMPACTION_INSTRUCTIONS });
  // The summary covers the conversation before the running turn, not the turn itself.
  expect(summary!.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "assistant", "user"]);
  expect(text(summary!.messages[3]!.content)).toContain("gamma");
  expect(text(summary!.messages.at(-1)!.content)).toMatch(/summary/i);
  expect(text(summary!.messages.at(-1)!.content)).not.toContain("code word");
  // The turn runs on the summary (the upstream's text) and the running turn's own items, nothing earlier.
  expect(turn!.stream ?? false).toBe(stream);
  // (Consecutive user messages go upstream as one, joined by a blank line.)
  expect(turn!.messages.map((m) => m.role)).toEqual(["user"]);
  expect(text(turn!.messages[0]!.content)).toMatch(/^Summary of this conversation up to the current turn[^\n]*\n\nHello from the scripted upstream\.\n\nWhat is the code word\?$/);
  expect(JSON.stringify(turn)).not.toMatch(/alpha|gamma|context_management/);
}

function expectItemFirst(output: Item[]) {
  expect(output.map((i) => i.type)).toEqual(["compaction", "message"]);
  expect(output[0]!.id).toMatch(/^cmp_/);
  expect(output[0]!.encrypted_content).toMatch(/^rb1\./);
  expect(output[0]!.encrypted_content).not.toContain("scripted");
}

describe("context_management compaction", () => {
  it("below the threshold by the estimate: nothing changes, no extra upstream call", async () => {
    const res = await post("/v1/responses", { model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100_000) });
    const body = (await res.json()) as Resp;
    expect(body.output.map((i) => i.type)).toEqual(["message"]);
    const calls = await upstream();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.messages).toHaveLength(5);
    expect(calls[0]!).not.toHaveProperty("context_management");
  });

  it("over the threshold by the estimate but under it when counted: one count call, no compaction", async () => {
    // ~210 bytes (estimated 65 tokens), counted 14.
    const long = words(5, "supercalifragilistic");
    const input = [{ role: "user", content: long }, { type: "message", role: "assistant", content: [{ type: "output_text", text: "ok" }] }, { role: "user", content: long }];
    const res = await post("/v1/responses", { model: "scripted-count", input, context_management: CM(50) });
    expect(((await res.json()) as Resp).output.map((i) => i.type)).toEqual(["message"]);
    const calls = await upstream();
    expect(calls.map((c) => c.max_tokens)).toEqual([1, undefined]);
  });

  it("an image weighs 1,000 tokens in the estimate: a short conversation holding one is counted exactly", async () => {
    const input = [
      { role: "user", content: [{ type: "input_text", text: "Look:" }, { type: "input_image", image_url: "https://example.com/cat.png" }] },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "A cat." }] },
      { role: "user", content: "And now?" },
    ];
    await post("/v1/responses", { model: "scripted-count", input, context_management: CM(500) });
    expect((await upstream()).map((c) => c.max_tokens)).toEqual([1, undefined]);
    await resetSeen();
    // The same without the image: under the threshold by the estimate, no count.
    await post("/v1/responses", { model: "scripted-count", input: [{ role: "user", content: "Look:" }, ...input.slice(1)], context_management: CM(500) });
    expect((await upstream()).map((c) => c.max_tokens)).toEqual([undefined]);
  });

  it("SSE over the threshold: the compaction item streams first (output_index 0), then the turn's own output", async () => {
    const res = await post("/v1/responses", { model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100), stream: true });
    expect(res.status).toBe(200);
    const raw = await res.text();
    const list = events(raw);
    checkInvariants(raw);
    expect(list.map((e) => e.type).slice(0, 5)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.output_item.done", "response.output_item.added"]);
    expect(list[2]).toMatchObject({ output_index: 0, item: { type: "compaction" } });
    expect(list[4]).toMatchObject({ output_index: 1, item: { type: "message" } });
    const done = list.at(-1) as unknown as { type: string; response: Resp };
    expect(done.type).toBe("response.completed");
    expectItemFirst(done.response.output);
    await expectCompacted(true);
  });

  it("JSON, stateless: the next turn carries the item; everything before it is dropped, below the threshold again", async () => {
    const res = await post("/v1/responses", { model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100), store: false });
    const first = (await res.json()) as Resp;
    expectItemFirst(first.output);
    await expectCompacted(false);
    await resetSeen();
    // As the AI SDK sends it: the whole input again, the output appended, then the next message.
    const next = await post("/v1/responses", { model: "scripted-count", input: [...HISTORY, ASK, ...first.output, { role: "user", content: "And the next step?" }], context_management: CM(100), store: false });
    expect(((await next.json()) as Resp).output.map((i) => i.type)).toEqual(["message"]);
    const calls = await upstream();
    const turn = calls.at(-1)!;
    expect(calls.length).toBeLessThanOrEqual(2);
    expect(turn.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(text(turn.messages[0]!.content)).toMatch(/^Summary of this conversation up to the current turn.*What is the code word\?$/s);
    expect(JSON.stringify(turn)).not.toMatch(/alpha|gamma/);
  });

  it("stored: previous_response_id continues from the compacted turn, and the compaction item resolves by item_reference", async () => {
    const first = (await (await post("/v1/responses", { model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100) })).json()) as Resp;
    expectItemFirst(first.output);
    expect(first.store).toBe(true);
    await resetSeen();
    const next = await post("/v1/responses", { model: "scripted-count", previous_response_id: first.id, input: "And the next step?", context_management: CM(100) });
    const body = (await next.json()) as Resp;
    expect(body.previous_response_id).toBe(first.id);
    const turn = (await upstream()).at(-1)!;
    expect(turn.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(text(turn.messages[0]!.content)).toMatch(/^Summary of this conversation up to the current turn.*What is the code word\?$/s);
    expect(JSON.stringify(turn)).not.toMatch(/alpha|gamma/);
    // The AI SDK with store on refers to the item by id.
    await resetSeen();
    const referenced = await post("/v1/responses", { model: "scripted-count", input: [...HISTORY, ASK, { type: "item_reference", id: first.output[0]!.id }, { role: "user", content: "Third?" }] });
    expect(referenced.status).toBe(200);
    const third = (await upstream()).at(-1)!;
    expect(third.messages.map((m) => m.role)).toEqual(["user"]);
    expect(text(third.messages[0]!.content)).toMatch(/^Summary of this conversation up to the current turn.*What is the code word\?\n\nThird\?$/s);
  });

  it("stored and in a conversation, the turn keeps what the client sent: its own items, then the output (one compaction item)", async () => {
    const get = async (path: string) => (await exports.default.fetch(`http://bridge.test${path}`)).json() as Promise<{ data: Item[] }>;
    // Stored: input_items lists the request's input, not the compaction item that stood in for it upstream.
    const first = (await (await post("/v1/responses", { model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100) })).json()) as Resp;
    expectItemFirst(first.output);
    const listed = (await get(`/v1/responses/${first.id}/input_items?order=asc`)).data;
    expect(listed.map((i) => [i.type, i.role])).toEqual([["message", "user"], ["message", "assistant"], ["message", "user"], ["message", "assistant"], ["message", "user"]]);
    expect(JSON.stringify(listed.at(-1))).toContain("What is the code word?");
    // A conversation gains the user's message and the output: the compaction item once.
    const conv = (await (await post("/v1/conversations", { items: HISTORY })).json()) as { id: string };
    await resetSeen();
    const turn = (await (await post("/v1/responses", { model: "scripted-count", conversation: conv.id, input: "What is the code word?", context_management: CM(100) })).json()) as Resp;
    expectItemFirst(turn.output);
    const items = (await get(`/v1/conversations/${conv.id}/items?order=asc`)).data;
    expect(items.map((i) => i.type)).toEqual(["message", "message", "message", "message", "message", "compaction", "message"]);
    expect(JSON.stringify(items[4])).toContain("What is the code word?");
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);
    expect(items[5]!.id).toBe(turn.output[0]!.id);
    // The next turn in the conversation runs on the summary, the turn it kept, the answer and the new message.
    await resetSeen();
    expect((await post("/v1/responses", { model: "scripted-count", conversation: conv.id, input: "And the next step?", context_management: CM(100) })).status).toBe(200);
    const next = (await upstream()).at(-1)!;
    expect(next.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(text(next.messages[0]!.content)).toMatch(/^Summary of this conversation up to the current turn.*What is the code word\?$/s);
    expect(JSON.stringify(next)).not.toMatch(/alpha|gamma/);
  });

  it("WebSocket: the item first in the frames and the response; the next frame continues on it", async () => {
    const client = await connectWs();
    client.create({ model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100) });
    const frames = await client.turn();
    expect(frames.map((f) => f.type).slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.output_item.done"]);
    expect(frames[2]).toMatchObject({ output_index: 0, item: { type: "compaction" } });
    const last = frames.at(-1)!;
    expect(last.type).toBe("response.completed");
    expectItemFirst(last.response!.output as Item[]);
    await expectCompacted(true);
    await resetSeen();
    client.create({ model: "scripted-count", previous_response_id: last.response!.id, input: "And the next step?", store: false });
    expect((await client.turn()).at(-1)!.type).toBe("response.completed");
    const turn = (await upstream()).at(-1)!;
    expect(turn.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(JSON.stringify(turn)).not.toMatch(/alpha|gamma/);
    client.ws.close();
  });

  it("a running turn that alone is over the threshold, on an already compacted history: no count, no summary of the summary", async () => {
    const first = (await (await post("/v1/responses", { model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100), store: false })).json()) as Resp;
    expectItemFirst(first.output);
    await resetSeen();
    // The same turn goes on with a tool's long output, the history before the item dropped as OpenAI suggests.
    const tools = [{ type: "function", name: "lookup", parameters: { type: "object", properties: {} } }];
    const call = { type: "function_call", call_id: "call_1", name: "lookup", arguments: "{}" };
    const output = { type: "function_call_output", call_id: "call_1", output: words(200, "omega") };
    const next = await post("/v1/responses", { model: "scripted-count", input: [first.output[0], call, output], tools, context_management: CM(100), store: false });
    expect(next.status).toBe(200);
    expect(((await next.json()) as Resp).output.map((i) => i.type)).not.toContain("compaction");
    // The turn alone: the history before it is one summary already, so there is nothing to compact.
    const calls = await upstream();
    expect(calls.map((c) => c.max_tokens)).toEqual([undefined]);
    expect(calls[0]!.messages[0]!.content).not.toBe(COMPACTION_INSTRUCTIONS);
    expect(JSON.stringify(calls[0])).toContain("omega");
  });

  it("bad context_management is OpenAI's 400 naming the field, before any upstream call", async () => {
    for (const [cm, param] of [
      [{ type: "compaction" }, "context_management"],
      [[{ type: "truncate", compact_threshold: 5 }], "context_management[0].type"],
      [[{ type: "compaction" }], "context_management[0].compact_threshold"],
      [[{ type: "compaction", compact_threshold: -3 }], "context_management[0].compact_threshold"],
    ] as const) {
      const res = await post("/v1/responses", { model: "scripted-count", input: "hi", context_management: cm });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string; type: string } }).error).toMatchObject({ type: "invalid_request_error", param });
    }
    expect(await upstream()).toHaveLength(0);
  });

  it("without a key to seal the summary with: 400 compaction_unavailable before any upstream call", async () => {
    const anonymous = withEnv({ ALLOW_ANONYMOUS: "true" });
    const res = await anonymous("/v1/responses", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100) }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("compaction_unavailable");
    expect(await upstream()).toHaveLength(0);
  });

  it("an input the model refuses to count because it exceeds its context is compacted, not refused", async () => {
    // As vLLM answers a prompt longer than the model's window (OpenAI's own words and code are recognised too).
    const tooLong = Response.json({ object: "error", message: "This model's maximum context length is 200 tokens. However, you requested 260 tokens (259 in the messages, 1 in the completion).", type: "BadRequestError", param: null, code: 400 }, { status: 400 });
    const fetchUpstream: Fetch = async (input, init) => {
      const body = JSON.parse(String(init?.body ?? "{}")) as Up;
      // The whole conversation is too long for this model; the summary request and the compacted turn fit.
      if (JSON.stringify(body.messages).includes("gamma") && body.messages[0]?.content !== COMPACTION_INSTRUCTIONS) return tooLong.clone();
      return fetch(input, init);
    };
    const call = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY }, fetchUpstream);
    const res = await call("/v1/responses", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(180), store: false }) });
    expect(res.status).toBe(200);
    expectItemFirst(((await res.json()) as Resp).output);
    // The refused count never reached the scripted upstream; the summary and the compacted turn did.
    const calls = await upstream();
    expect(calls.map((c) => c.messages[0]!.content === COMPACTION_INSTRUCTIONS)).toEqual([true, false]);
    expect(JSON.stringify(calls[1])).not.toMatch(/alpha|gamma/);
    // Any other refusal of the count is the client's error, as it would be for the turn.
    await resetSeen();
    const refusing = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY }, async () => Response.json({ error: { message: "Invalid value for 'temperature'.", type: "invalid_request_error", param: "temperature", code: null } }, { status: 400 }));
    const refused = await refusing("/v1/responses", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(180) }) });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("temperature");
  });

  describe("an upstream that fails the summary call: a typed error, never a turn on a lost history", () => {
    /** The scripted upstream, but the summary request (COMPACTION_INSTRUCTIONS' system message) gets `answer`. */
    const failing = (answer: () => Response): Fetch => async (input, init) => {
      const body = JSON.parse(String(init?.body ?? "{}")) as Up;
      if (body.messages?.[0]?.content === COMPACTION_INSTRUCTIONS) return answer();
      return fetch(input, init);
    };
    const cases: Array<[string, () => Response, number, string | null]> = [
      ["a 500 with OpenAI's error", () => Response.json({ error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } }, { status: 500 }), 500, null],
      ["a 200 without choices", () => Response.json({ id: "chatcmpl-x", object: "chat.completion", created: 1, model: "m", choices: [] }), 502, "server_error"],
      ["a 200 with an empty summary", () => Response.json({ id: "chatcmpl-x", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "" }, finish_reason: "stop" }] }), 502, "compaction_failed"],
      ["a 200 that is not JSON", () => new Response("<html>oops</html>", { headers: { "content-type": "text/html" } }), 502, "compaction_failed"],
    ];
    for (const [what, answer, status, code] of cases) {
      it(`${what}: the request's own error over SSE, JSON and the WebSocket; the turn never runs`, async () => {
        const call = withEnv({ UPSTREAM_API_KEY: SCRIPTED_KEY }, failing(answer));
        for (const stream of [true, false]) {
          await resetSeen();
          const res = await call("/v1/responses", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100), stream }) });
          expect(res.status).toBe(status);
          const error = ((await res.json()) as { error: { type: string; code: string | null; message: string } }).error;
          expect(error.message).toBeTruthy();
          if (code) expect(error).toMatchObject({ type: "upstream_error", code });
          // Only the exact count reached the scripted upstream (the summary was answered above): no turn ran.
          expect((await upstream()).map((c) => c.max_tokens)).toEqual([1]);
        }
        const client = await connectWs((init) => call("/v1/responses", init));
        client.create({ model: "scripted-count", input: [...HISTORY, ASK], context_management: CM(100) });
        const frames = await client.turn();
        expect(frames.map((f) => f.type)).toEqual(["error"]);
        expect(frames[0]).toMatchObject({ status, ...(code ? { error: { code } } : {}) });
        client.ws.close();
      });
    }
  });
});

