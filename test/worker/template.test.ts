import { beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../worker/env.ts";
import { templateShapeAskedFor } from "../../worker/run/template-retry.ts";
import { TEMPLATE_ALTERNATE, TEMPLATE_NO_SYSTEM, TEMPLATE_SYSTEM_FIRST } from "../support/scripted-upstream.ts";
import { events, withEnv } from "./bridge.ts";

// The scripted upstream plays a strict chat template for models named `…template…` (vLLM: 400 with the
// template's words) and one without a system role for `…template-nosystem…` (llama.cpp: 500 quoting the
// Jinja exception). Each test uses its own model name: what the Worker learns is per upstream and model.

type Message = { role: string; content?: unknown; tool_calls?: Array<{ id: string }>; tool_call_id?: string };

let sent: Message[][] = [];
function bridge(env: Partial<Env> = {}) {
  return withEnv(env, async (input, init) => {
    sent.push((JSON.parse(String(init?.body)) as { messages: Message[] }).messages);
    return fetch(input, init);
  });
}
beforeEach(() => {
  sent = [];
});

/** What Codex sends: instructions, its permissions as a developer message, environment context and task as two user messages; later a model-switch developer message mid-conversation. */
const codexLike = [
  { role: "developer", content: [{ type: "input_text", text: "<permissions instructions>…</permissions instructions>" }] },
  { role: "user", content: [{ type: "input_text", text: "<environment_context>…</environment_context>" }] },
  { role: "user", content: [{ type: "input_text", text: "Say hello" }] },
  { type: "message", role: "assistant", content: [{ type: "output_text", text: "Hello." }] },
  { role: "developer", content: [{ type: "input_text", text: "<model_switch>now another model</model_switch>" }] },
  { role: "user", content: [{ type: "input_text", text: "Again" }] },
];

async function run(call: ReturnType<typeof bridge>, model: string, input: unknown[], stream = true) {
  const res = await call("/v1/responses", { method: "POST", body: JSON.stringify({ model, instructions: "You are Codex.", input, stream }) });
  const text = await res.text();
  return { status: res.status, text, terminal: res.status === 200 && stream ? events(text).at(-1) : undefined };
}

const roles = (messages: Message[]) => messages.map((m) => m.role);

describe("strict chat templates, learned from the upstream's error", () => {
  it("reads the words real templates use, at the statuses real servers send them", () => {
    expect(templateShapeAskedFor(400, TEMPLATE_SYSTEM_FIRST, "join")).toBe("strict");
    expect(templateShapeAskedFor(400, "Conversation roles must alternate user/assistant/user/assistant/...", "join")).toBe("strict");
    expect(templateShapeAskedFor(500, "\n------------\nWhile executing CallExpression at line 189, column 32 in source:\n...\nError: Jinja Exception: After the optional system message, conversation roles must alternate user and assistant roles except for tool calls and results.", "join")).toBe("strict");
    expect(templateShapeAskedFor(500, "Jinja Exception: Only user, assistant and tool roles are supported, got system.", "join")).toBe("no-system");
    expect(templateShapeAskedFor(500, TEMPLATE_NO_SYSTEM, "strict")).toBe("no-system");
    expect(templateShapeAskedFor(400, "System role not supported", "join")).toBe("no-system");
    // Nothing more to try, or nothing to do with templates.
    expect(templateShapeAskedFor(400, TEMPLATE_ALTERNATE, "strict")).toBeNull();
    expect(templateShapeAskedFor(500, TEMPLATE_NO_SYSTEM, "no-system")).toBeNull();
    expect(templateShapeAskedFor(400, "Invalid value for 'temperature'.", "join")).toBeNull();
    expect(templateShapeAskedFor(401, TEMPLATE_SYSTEM_FIRST, "join")).toBeNull();
  });

  it("a Codex-shaped conversation: refused once, sent again strict, and strict from the first request after that", async () => {
    const call = bridge();
    const first = await run(call, "scripted-template-learn", codexLike);
    expect(first.status, first.text).toBe(200);
    expect(first.terminal).toMatchObject({ type: "response.completed" });
    expect(sent.length).toBe(2);
    // Always: same-role neighbours joined (instructions + permissions; environment + task). Still a system message mid-way.
    expect(roles(sent[0]!)).toEqual(["system", "user", "assistant", "system", "user"]);
    expect(sent[0]![1]!.content).toBe("<environment_context>…</environment_context>\n\nSay hello");
    // Then strict: the model-switch note heads the next user turn.
    expect(sent[1]).toEqual([
      { role: "system", content: "You are Codex.\n\n<permissions instructions>…</permissions instructions>" },
      { role: "user", content: "<environment_context>…</environment_context>\n\nSay hello" },
      { role: "assistant", content: "Hello." },
      { role: "user", content: "<model_switch>now another model</model_switch>\n\nAgain" },
    ]);
    sent = [];
    const second = await run(call, "scripted-template-learn", codexLike, false);
    expect(second.status, second.text).toBe(200);
    expect(sent.length).toBe(1);
    expect(roles(sent[0]!)).toEqual(["system", "user", "assistant", "user"]);
  });

  it("a tool loop with a developer message between the call and its output: results stay with their call", async () => {
    const call = bridge();
    const input = [
      { role: "user", content: "Weather?" },
      { type: "function_call", call_id: "c1", name: "get_weather", arguments: '{"city":"Paris"}' },
      { role: "developer", content: "Approved by the user." },
      { type: "function_call_output", call_id: "c1", output: "18C" },
    ];
    const res = await run(call, "scripted-template-tools", input);
    expect(res.status, res.text).toBe(200);
    expect(res.terminal).toMatchObject({ type: "response.completed", response: { output: [{ type: "message" }] } });
    expect(sent.length).toBe(2);
    expect(roles(sent[1]!)).toEqual(["system", "user", "assistant", "tool", "user"]);
    expect(sent[1]![4]).toEqual({ role: "user", content: "Approved by the user." });
  });

  it("a template with no system role (llama.cpp's 500): the system text heads the first user turn", async () => {
    const call = bridge();
    const res = await run(call, "scripted-template-nosystem-learn", codexLike);
    expect(res.status, res.text).toBe(200);
    // join (refused: a system role), then no-system at once: the error said which.
    expect(sent.length).toBe(2);
    expect(roles(sent[1]!)).toEqual(["user", "assistant", "user"]);
    expect(sent[1]![0]!.content).toBe("You are Codex.\n\n<permissions instructions>…</permissions instructions>\n\n<environment_context>…</environment_context>\n\nSay hello");
  });

  it("MODEL_MAP's `template` sends that shape from the first request, and an error it cannot fix reaches the client", async () => {
    const call = bridge({ MODEL_MAP: JSON.stringify({ local: { model: "scripted-template-configured", template: "strict" }, bare: { model: "scripted-template-nosystem-configured", template: "strict" } }) });
    const ok = await run(call, "local", codexLike);
    expect(ok.status, ok.text).toBe(200);
    expect(sent.length).toBe(1);
    expect(roles(sent[0]!)).toEqual(["system", "user", "assistant", "user"]);
    sent = [];
    // Configured: nothing is learned, so the template's own words come back.
    const refused = await run(call, "bare", codexLike);
    expect(refused.status).toBe(500);
    expect(refused.text).toContain(TEMPLATE_NO_SYSTEM);
    expect(sent.length).toBe(1);
  });

  it("a MODEL_MAP `template` that is not a shape is a configuration error naming it", async () => {
    expect(() => bridge({ MODEL_MAP: JSON.stringify({ local: { model: "m", template: "chatml" } }) })).toThrow(/MODEL_MAP\["local"\]\.template must be one of auto, strict, no-system; got "chatml"/);
  });
});
