import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// The `openai` SDK, with developer messages mid-conversation, through `wrangler dev` to an upstream whose chat
// template is strict (`…template…`: the scripted server answers 400 "System message must be at the beginning." /
// "…roles must alternate…" the way vLLM does for Qwen and Mistral templates). No configuration.
let stack: Stack;
let client: OpenAI;
beforeAll(async () => {
  stack = await startStack();
  client = new OpenAI({ apiKey: "sk-client", baseURL: stack.baseURL, maxRetries: 0 });
});
afterAll(() => stack?.stop());

type Sent = { model: string; messages: Array<{ role: string; content: unknown }> };
const sentTo = (model: string, from: number) => seen.requests.slice(from).map((r) => r.body as Sent).filter((b) => b.model === model);

const input: OpenAI.Responses.ResponseInput = [
  { role: "developer", content: "Answer in one sentence." },
  { role: "user", content: "Hello?" },
  { role: "assistant", content: "Hello." },
  { role: "developer", content: "From now on, be formal." },
  { role: "user", content: "Hello again?" },
];

describe("openai SDK → wrangler dev → an upstream with a strict chat template", () => {
  it("developer messages mid-conversation: answered (the shape learned from the upstream's 400), streamed and not, and strict from the first request afterwards", async () => {
    const model = "scripted-template-sdk";
    const from = seen.requests.length;
    const first = await client.responses.create({ model, instructions: "You are terse.", input });
    expect(first.output_text).toBe("Hello from the scripted upstream.");
    const [refused, accepted] = sentTo(model, from);
    expect(refused!.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "system", "user"]);
    expect(accepted!.messages).toEqual([
      { role: "system", content: "You are terse.\n\nAnswer in one sentence." },
      { role: "user", content: "Hello?" },
      { role: "assistant", content: "Hello." },
      { role: "user", content: "From now on, be formal.\n\nHello again?" },
    ]);

    const next = seen.requests.length;
    const stream = client.responses.stream({ model, instructions: "You are terse.", input: [...input, { role: "assistant", content: "Good day." }, { role: "developer", content: "Now in French." }, { role: "user", content: "Bonjour?" }] });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe("Hello from the scripted upstream.");
    const sent = sentTo(model, next);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "assistant", "user"]);
    expect(sent[0]!.messages.at(-1)!.content).toBe("Now in French.\n\nBonjour?");
  });

  it("a template with no system role (llama.cpp's 500 quoting the Jinja exception) is learned too; other errors pass unchanged", async () => {
    const ok = await client.responses.create({ model: "scripted-template-nosystem-sdk", instructions: "You are terse.", input });
    expect(ok.output_text).toBe("Hello from the scripted upstream.");
    await expect(client.responses.create({ model: "scripted-404", input: "hi" })).rejects.toMatchObject({ status: 404 });
  });
});
