import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ChatContentPart, type ChatMessage, shapeMessages, type TemplateShape, toChatRequest } from "../../../src/index.ts";
import { codexRequest } from "../../fixtures/requests.ts";

const call = (id: string, name = "exec") => ({ id, type: "function" as const, function: { name, arguments: "{}" } });
const image: ChatContentPart = { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } };

describe("template shape: join (always)", () => {
  it("joins consecutive user, system and developer text; leaves assistant and tool messages alone", () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "a" },
      { role: "system", content: "b" },
      { role: "user", content: "<environment_context/>" },
      { role: "user", content: "the task" },
      { role: "assistant", content: null, tool_calls: [call("c1")] },
      { role: "tool", tool_call_id: "c1", content: "out" },
      { role: "assistant", content: "done" },
      { role: "assistant", content: "really" },
    ];
    expect(shapeMessages(messages)).toEqual([
      { role: "system", content: "a\n\nb" },
      { role: "user", content: "<environment_context/>\n\nthe task" },
      messages[4],
      messages[5],
      messages[6],
      messages[7],
    ]);
  });

  it("keeps images in order when joining user messages, and never changes its input", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "look" },
      { role: "user", content: [{ type: "text", text: "at" }, image] },
      { role: "user", content: "this" },
    ];
    const copy = structuredClone(messages);
    expect(shapeMessages(messages)).toEqual([{ role: "user", content: [{ type: "text", text: "look" }, { type: "text", text: "at" }, image, { type: "text", text: "this" }] }]);
    expect(messages).toEqual(copy);
  });

  it("does not join system with developer (different roles, when the upstream takes `developer`)", () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "s" },
      { role: "developer", content: "d" },
    ];
    expect(shapeMessages(messages)).toEqual(messages);
  });
});

describe("template shape: strict", () => {
  it("one leading system message; later developer text joins the next user turn", () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "instructions" },
      { role: "developer", content: "<permissions/>" },
      { role: "user", content: "env" },
      { role: "user", content: "task" },
      { role: "assistant", content: "ok" },
      { role: "developer", content: "<model_switch/>" },
      { role: "user", content: "next" },
    ];
    expect(shapeMessages(messages, "strict")).toEqual([
      { role: "system", content: "instructions\n\n<permissions/>" },
      { role: "user", content: "env\n\ntask" },
      { role: "assistant", content: "ok" },
      { role: "user", content: "<model_switch/>\n\nnext" },
    ]);
  });

  it("a note after the last turn stays at its place as a user turn; one before an assistant turn too", () => {
    expect(
      shapeMessages(
        [
          { role: "user", content: "q" },
          { role: "assistant", content: "a" },
          { role: "system", content: "note" },
          { role: "assistant", content: "b" },
          { role: "system", content: "end" },
        ],
        "strict",
      ),
    ).toEqual([
      { role: "user", content: "q" },
      { role: "assistant", content: "a" },
      { role: "user", content: "note" },
      { role: "assistant", content: "b" },
      { role: "user", content: "end" },
    ]);
  });

  it("tool results stay right after their call; a note between them moves after the results", () => {
    const messages: ChatMessage[] = [
      { role: "user", content: "run it" },
      { role: "assistant", content: null, tool_calls: [call("c1"), call("c2")] },
      { role: "tool", tool_call_id: "c1", content: "one" },
      { role: "developer", content: "approved" },
      { role: "tool", tool_call_id: "c2", content: "two" },
      { role: "assistant", content: "both ran" },
    ];
    expect(shapeMessages(messages, "strict")).toEqual([messages[0], messages[1], messages[2], messages[4], { role: "user", content: "approved" }, messages[5]]);
  });

  it("consecutive assistant messages become one turn: text, reasoning and tool calls in order", () => {
    expect(
      shapeMessages(
        [
          { role: "user", content: "go" },
          { role: "assistant", content: "first", reasoning_content: "r1" },
          { role: "assistant", content: null, reasoning_content: "r2", tool_calls: [call("c1")] },
          { role: "tool", tool_call_id: "c1", content: "x" },
        ],
        "strict",
      ),
    ).toEqual([
      { role: "user", content: "go" },
      { role: "assistant", content: "first", reasoning_content: "r1r2", tool_calls: [call("c1")] },
      { role: "tool", tool_call_id: "c1", content: "x" },
    ]);
  });

  it("a conversation that starts with the assistant gets a user turn first", () => {
    expect(
      shapeMessages(
        [
          { role: "system", content: "s" },
          { role: "assistant", content: "Hello, how can I help?" },
          { role: "user", content: "hi" },
        ],
        "strict",
      ),
    ).toEqual([
      { role: "system", content: "s" },
      { role: "user", content: "(continued)" },
      { role: "assistant", content: "Hello, how can I help?" },
      { role: "user", content: "hi" },
    ]);
  });

  it("no-system: the system text heads the first user turn", () => {
    expect(
      shapeMessages(
        [
          { role: "system", content: "s" },
          { role: "developer", content: "d" },
          { role: "user", content: [{ type: "text", text: "hi" }, image] },
        ],
        "no-system",
      ),
    ).toEqual([{ role: "user", content: [{ type: "text", text: "s\n\nd" }, { type: "text", text: "hi" }, image] }]);
    expect(shapeMessages([{ role: "system", content: "only" }], "no-system")).toEqual([{ role: "user", content: "only" }]);
  });

  it("a real Codex request: toChatRequest with `template: \"strict\"`", () => {
    const { request } = toChatRequest(codexRequest, { template: "strict" });
    expect(request.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
  });
});

// ---- the property: any conversation, any shape ----

type Segment = ChatMessage[];

/** Conversations as clients send them: text turns, system notes anywhere, tool calls with their results (and images). */
function conversation(): fc.Arbitrary<ChatMessage[]> {
  const text = fc.string({ minLength: 1, maxLength: 6 }).map((s) => `«${s}»`);
  let next = 0;
  const segment: fc.Arbitrary<Segment> = fc.oneof(
    text.map((t): Segment => [{ role: "system", content: t }]),
    text.map((t): Segment => [{ role: "developer", content: t }]),
    text.map((t): Segment => [{ role: "user", content: t }]),
    text.map((t): Segment => [{ role: "user", content: [{ type: "text", text: t }, image] }]),
    text.map((t): Segment => [{ role: "assistant", content: t }]),
    fc.tuple(fc.option(text), fc.integer({ min: 1, max: 3 }), fc.array(text, { minLength: 3, maxLength: 3 }), fc.option(text), fc.boolean()).map(([said, n, outs, note, images]): Segment => {
      const ids = Array.from({ length: n }, () => `c${next++}`);
      const tools: ChatMessage[] = ids.map((id, i) => ({ role: "tool", tool_call_id: id, content: outs[i]! }));
      // A developer note between the results (a permission change mid-turn).
      if (note !== null) tools.splice(1, 0, { role: "developer", content: note });
      const tail: ChatMessage[] = images ? [{ role: "user", content: [{ type: "text", text: "Images returned by the tool call above:" }, image] }] : [];
      return [{ role: "assistant", content: said, tool_calls: ids.map((id) => call(id)) }, ...tools, ...tail];
    }),
  );
  return fc.array(segment, { maxLength: 12 }).map((segments) => segments.flat());
}

function texts(messages: ChatMessage[]): string[] {
  const all: string[] = [];
  for (const m of messages) {
    const c = m.content;
    if (typeof c === "string") all.push(...(c.match(/«[^»]*»/g) ?? []));
    else if (Array.isArray(c)) for (const p of c) if (p.type === "text") all.push(...(p.text.match(/«[^»]*»/g) ?? []));
  }
  return all;
}

const callIds = (messages: ChatMessage[]) => messages.flatMap((m) => (m.role === "assistant" ? (m.tool_calls ?? []).map((c) => c.id) : []));
const resultIds = (messages: ChatMessage[]) => messages.flatMap((m) => (m.role === "tool" ? [m.tool_call_id] : []));
const imageCount = (messages: ChatMessage[]) => messages.reduce((n, m) => n + (Array.isArray(m.content) ? m.content.filter((p) => p.type === "image_url").length : 0), 0);

/** What a strict template accepts (Mistral's and Qwen's rules): see `TemplateShape`. */
function checkStrict(out: ChatMessage[], shape: TemplateShape): void {
  const systems = out.filter((m) => m.role === "system" || m.role === "developer");
  if (shape === "no-system") expect(systems).toEqual([]);
  else expect(systems.length).toBeLessThanOrEqual(1);
  if (systems.length) expect(out[0]!.role).toBe("system");
  const turns = out.filter((m) => m.role !== "system");
  if (turns.length) expect(turns[0]!.role).toBe("user");
  let prev: ChatMessage | null = null;
  let owner: ChatMessage | null = null;
  let sinceTool = false;
  for (const m of turns) {
    if (m.role === "tool") {
      // Right after the assistant message that called it (or its other results), and one of its calls.
      expect(prev?.role === "tool" || (prev?.role === "assistant" && !!prev.tool_calls?.length)).toBe(true);
      expect(owner?.role === "assistant" && owner.tool_calls?.some((c) => c.id === m.tool_call_id)).toBe(true);
      sinceTool = true;
    } else {
      const last = prev?.role === "tool" ? owner : prev;
      // Roles alternate; an assistant turn may go on after its tool results.
      if (last) expect(last.role !== m.role || (m.role === "assistant" && sinceTool)).toBe(true);
      if (m.role === "assistant") owner = m;
      sinceTool = false;
    }
    prev = m;
  }
}

describe("template shape: property (seeded)", () => {
  it("every shape keeps all text, tool calls, results and images; strict shapes are what strict templates accept; shaping twice changes nothing", { timeout: 30_000 }, () => {
    fc.assert(
      fc.property(conversation(), fc.constantFrom<TemplateShape>("join", "strict", "no-system"), (messages, shape) => {
        const out = shapeMessages(messages, shape);
        expect(texts(out).sort()).toEqual(texts(messages).sort());
        expect(callIds(out)).toEqual(callIds(messages));
        expect(resultIds(out)).toEqual(resultIds(messages));
        expect(imageCount(out)).toBe(imageCount(messages));
        if (shape !== "join") checkStrict(out, shape);
        else for (let i = 1; i < out.length; i++) if (out[i]!.role !== "assistant" && out[i]!.role !== "tool") expect(out[i]!.role).not.toBe(out[i - 1]!.role);
        expect(shapeMessages(out, shape)).toEqual(out);
      }),
      { seed: 18_2, numRuns: 2_000 },
    );
  });
});
