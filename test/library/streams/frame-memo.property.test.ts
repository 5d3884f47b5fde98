import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { chatToResponsesSse } from "../../../src/index.ts";
import { FrameMemo } from "../../../src/streams/frame-memo.ts";
import * as up from "../../fixtures/upstreams.ts";
import { assertProtocol, bytesOf, convertRaw, parseResponsesSse, splitAt, streamOf, testOptions } from "../../support/helpers.ts";

/**
 * The frame memo changes nothing: for any upstream and any way its bytes are
 * cut into reads, the stream writes the same bytes (same ids, same seeded
 * obfuscation) as with the memo switched off. The reference switches it off by
 * making every `match` miss, so the pump parses every read; the runs under
 * test count the hits, so a run that was meant to take the fast path is seen
 * to have taken it.
 */
const SEED = 20_261_125;

afterEach(() => {
  vi.restoreAllMocks();
});

/** Text pieces a model streams, with what is hard for a JSON string: quotes, backslashes, control characters, line and paragraph separators, astral and lone surrogates, think tags. */
const special = fc.constantFrom('"', "\\", '\\"', "\u0000", "\n", "\r", "\t", "\u001f", "\u007f", "\u2028", "\u2029", "é", "😀", "\ud83d", "\ude00", "<think>", "</think>", "\\u00e9", "/", "data: x\n\n", '"content":"');
const text = fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: "binary", maxLength: 6 }), fc.string({ unit: special, maxLength: 5 }));

const upstream = fc.record({
  /** As JSON.stringify writes it; with every non-ASCII character escaped (Python's json.dumps); with spaces after `:` and `,` (its default separators). */
  style: fc.constantFrom("compact", "compact", "compact", "ascii", "spaced"),
  /** OpenAI's key order, or llama.cpp's (choices first). */
  order: fc.constantFrom("openai", "llamacpp"),
  data: fc.constantFrom("data: ", "data: ", "data:"),
  end: fc.constantFrom("\n\n", "\n\n", "\n\n", "\n\n", "\r\n\r\n", "\r\n\n"),
  /** A first chunk with the role (OpenAI), the role in every chunk (Ollama), or none. */
  role: fc.constantFrom("first", "every", "none"),
  reasoningField: fc.constantFrom(null, "reasoning_content", "reasoning"),
  reasoning: fc.array(text, { maxLength: 6 }),
  content: fc.array(text, { maxLength: 12 }),
  /** vLLM's continuous usage: a usage object in every chunk. */
  continuousUsage: fc.constantFrom(false, false, false, true),
  logprobs: fc.constantFrom("absent", "null", "null", "null", "object"),
  tools: fc.array(fc.record({ name: fc.constantFrom("get_weather", "exec"), args: fc.array(text, { maxLength: 3 }) }), { maxLength: 2 }),
  ending: fc.constantFrom("stop", "length", "tool_calls", "error", "none"),
  usage: fc.boolean(),
  done: fc.boolean(),
  /** Chunk indices from which the envelope changes (`created` moves on, as with a slow model). */
  bumps: fc.array(fc.nat(20), { maxLength: 2 }),
  /** Frame indices before which a keep-alive comment arrives. */
  comments: fc.array(fc.nat(20), { maxLength: 2 }),
  thinkTags: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
});
type Upstream = typeof upstream extends fc.Arbitrary<infer U> ? U : never;

function spaced(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(spaced).join(", ")}]`;
  if (v !== null && typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${spaced(x)}`).join(", ")}}`;
  return JSON.stringify(v);
}

function serialize(u: Upstream, chunk: unknown): string {
  if (u.style === "spaced") return spaced(chunk);
  const json = JSON.stringify(chunk);
  return u.style === "ascii" ? json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`) : json;
}

/** One generated chunk: what it streams (a text field, or something else), for telling which frames share a shape. */
interface Planned {
  chunk: Record<string, unknown>;
  kind: string;
  created: number;
}

function plan(u: Upstream): Planned[] {
  const out: Planned[] = [];
  const add = (delta: Record<string, unknown>, kind: string, finish: string | null = null) => {
    const i = out.length;
    const created = 1_761_000_000 + u.bumps.filter((b) => b <= i).length;
    if (u.role === "every") delta = { role: "assistant", ...delta };
    const choice: Record<string, unknown> = u.order === "openai" ? { index: 0, delta } : { finish_reason: finish, index: 0, delta };
    if (u.logprobs === "null") choice["logprobs"] = null;
    if (u.logprobs === "object") choice["logprobs"] = { content: [{ token: "t", logprob: -0.5, bytes: [116], top_logprobs: [] }], refusal: null };
    if (u.order === "openai") choice["finish_reason"] = finish;
    const usage = u.continuousUsage ? { usage: { prompt_tokens: 5, completion_tokens: i, total_tokens: 5 + i } } : {};
    const chunk = u.order === "openai" ? { id: "chatcmpl-p", object: "chat.completion.chunk", created, model: "m", choices: [choice], ...usage } : { choices: [choice], created, id: "chatcmpl-p", model: "m", object: "chat.completion.chunk", ...usage };
    out.push({ chunk, kind, created });
  };
  const deepseek = u.reasoningField === "reasoning_content";
  if (u.role === "first") add({ role: "assistant", content: "" }, "role");
  if (u.reasoningField) for (const t of u.reasoning) add(deepseek ? { content: null, reasoning_content: t } : { reasoning: t }, u.reasoningField);
  for (const t of u.content) add(deepseek ? { content: t, reasoning_content: null } : { content: t }, "content");
  u.tools.forEach((tool, index) => {
    add({ tool_calls: [{ index, id: `call_${index}`, type: "function", function: { name: tool.name, arguments: "" } }] }, "tool");
    for (const a of tool.args) add({ tool_calls: [{ index, function: { arguments: a } }] }, "tool");
  });
  if (u.ending === "error") out.push({ chunk: { error: { message: "overloaded", code: 503 } }, kind: "error", created: 0 });
  else if (u.ending !== "none") add({}, "finish", u.ending);
  if (u.usage) out.push({ chunk: { id: "chatcmpl-p", object: "chat.completion.chunk", created: 1_761_000_000, model: "m", choices: [], usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } }, kind: "usage", created: 0 });
  return out;
}

function frames(u: Upstream, planned: Planned[]): string[] {
  const list = planned.map((p) => `${u.data}${serialize(u, p.chunk)}${u.end}`);
  for (const at of [...u.comments].sort((a, b) => b - a)) list.splice(Math.min(at, list.length), 0, `: keep-alive${u.end}`);
  if (u.done) list.push(`data: [DONE]${u.end}`);
  return list;
}

/**
 * Whether one frame per read must hit: two text frames in a row with the same
 * envelope, early enough that learning has not stopped, in a framing and a
 * shape the memo takes (one line, LF, no spaces around the text's key, no
 * nested values besides choices and delta).
 */
function mustHit(u: Upstream, planned: Planned[]): boolean {
  if (u.style === "spaced" || u.end !== "\n\n" || u.continuousUsage || u.logprobs === "object") return false;
  const textKinds = new Set(["content", "reasoning_content", "reasoning"]);
  for (let i = 1; i < Math.min(planned.length, 9); i++) {
    const [a, b] = [planned[i - 1]!, planned[i]!];
    if (textKinds.has(a.kind) && a.kind === b.kind && a.created === b.created) return true;
  }
  return false;
}

/**
 * Output of the stream over `parts`, one read each, and how many reads the memo turned into chunks.
 * `ChatToResponsesStream` by default; `reader`: `chatToResponsesSse`, which reads the upstream itself.
 */
async function run(parts: Uint8Array[], u: Pick<Upstream, "thinkTags">, memo: boolean, reader = false): Promise<{ raw: string; hits: number }> {
  const spy = vi.spyOn(FrameMemo.prototype, "match");
  if (!memo) spy.mockReturnValue(null);
  try {
    const options = testOptions({ thinkTags: u.thinkTags });
    const raw = reader ? await new Response(chatToResponsesSse(streamOf(parts), { ...options, idleTimeoutMs: 0 })).text() : await convertRaw(parts, options);
    return { raw, hits: spy.mock.results.filter((r) => r.type === "return" && r.value !== null).length };
  } finally {
    spy.mockRestore();
  }
}

describe("the frame memo changes no byte of the output", () => {
  it("generated upstreams, one frame per read, cut anywhere, two frames per read: the same bytes as without the memo", async () => {
    let hitRuns = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(upstream, async (u) => {
        const planned = plan(u);
        const list = frames(u, planned);
        const whole = bytesOf(list.join(""));
        // Reads as a fast upstream sends them, cut anywhere, and two frames at a time. Each is compared with the
        // same reads without the memo: where a keep-alive lands in the output follows the reads, memo or not.
        const splits = {
          perFrame: list.map(bytesOf),
          cut: splitAt(whole, u.cuts),
          pairs: list.flatMap((f, i) => (i % 2 ? [] : [bytesOf(f + (list[i + 1] ?? ""))])),
        };
        for (const [name, parts] of Object.entries(splits)) {
          const reference = await run(parts, u, false);
          expect(reference.hits).toBe(0);
          if (name === "perFrame") assertProtocol(reference.raw, parseResponsesSse(reference.raw), true);
          const fast = await run(parts, u, true);
          expect(fast.raw, name).toBe(reference.raw);
          if (name !== "perFrame") continue;
          if (mustHit(u, planned)) expect(fast.hits).toBeGreaterThan(0);
          runs++;
          if (fast.hits > 0) hitRuns++;
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
    // The generator exercises the fast path, not only the usual one (107 runs of 300 hit with this seed).
    expect(hitRuns).toBeGreaterThan(runs / 4);
  }, 120_000);

  const u = { thinkTags: false };
  const token = (t: string) => `data: ${JSON.stringify({ id: "c", created: 1, model: "m", choices: [{ index: 0, delta: { content: t }, finish_reason: null }] })}\n\n`;
  const stop = `data: ${JSON.stringify({ id: "c", created: 1, model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`;

  it.each([
    ["an unfinished data: line (the frame is read as its continuation: not JSON, failed)", 'data: {"choi'],
    ["an event: error line (the frame is its data: an error, failed)", "event: error\n"],
    ["a line ending in CR whose LF may follow", "data: {}\r"],
  ])("a learned frame read after %s is not taken by the memo", async (_name, pending) => {
    const parts = [token("a"), token("b"), pending, token("c"), token("d"), stop].map(bytesOf);
    const fast = await run(parts, u, true);
    expect(fast.raw).toBe((await run(parts, u, false)).raw);
    // "b" was a hit; "c" was parsed together with the held line, which failed the stream.
    expect(fast.hits).toBe(1);
  });

  it("a body that is not SSE (a chat completion to a stream request), in one read and a line per read", async () => {
    const body = JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "data: x" }, finish_reason: "stop" }] }, null, 1);
    for (const parts of [[body], body.split(/(?<=\n)/)].map((p) => p.map(bytesOf))) {
      const fast = await run(parts, u, true);
      expect(fast.raw).toBe((await run(parts, u, false)).raw);
      expect(fast.raw).toContain('"text":"data: x"');
    }
  });

  it("a UTF-8 character cut between two reads right after a learned frame's text", async () => {
    const body = [token("a"), token("b"), token("é😀c"), token("d"), stop].join("");
    const bytes = bytesOf(body);
    const reference = await run([bytes], u, false);
    // Every cut of the bytes into two reads, with the frames before it one per read.
    for (let cut = 1; cut < bytes.length; cut++) {
      const parts: Uint8Array[] = [];
      let at = 0;
      for (const f of body.split(/(?<=\n\n)/)) {
        const end = at + bytesOf(f).length;
        if (at < cut && cut < end) parts.push(bytes.subarray(at, cut), bytes.subarray(cut, end));
        else parts.push(bytes.subarray(at, end));
        at = end;
      }
      expect((await run(parts, u, true)).raw).toBe(reference.raw);
    }
  });
});

describe("the providers' documented streams, one frame per read, through both stream shells", () => {
  const fixtures = Object.entries(up).filter((e): e is [string, string] => typeof e[1] === "string");
  /** Streams with two text chunks of one shape in a row: the memo must have taken some. */
  const HIT = new Set(["openaiText", "deepseekReasoning", "vllmReasoning", "thinkTagsInContent"]);

  it.each(fixtures)("%s", async (name, text) => {
    const parts = text.split(/(?<=\n\n)/).map(bytesOf);
    // With think tags on, so that text the memo hands over still goes through the <think> splitter.
    for (const reader of [false, true]) {
      const fast = await run(parts, { thinkTags: true }, true, reader);
      expect(fast.raw).toBe((await run(parts, { thinkTags: true }, false, reader)).raw);
      if (HIT.has(name)) expect(fast.hits).toBeGreaterThan(0);
    }
  });
});
