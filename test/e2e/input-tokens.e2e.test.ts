import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// `client.responses.inputTokens.count(...)` (openai SDK 7.60) → wrangler dev → the scripted chat server, whose
// `scripted-count` model bills one prompt token per word of every message plus one per message.
let stack: Stack;
let client: OpenAI;

beforeAll(async () => {
  stack = await startStack();
  client = new OpenAI({ apiKey: "sk-client", baseURL: stack.baseURL, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.stop();
});

describe("openai SDK: responses.inputTokens.count", () => {
  it("counts what the upstream bills for the request, previous_response_id expanded", async () => {
    const alone = await client.responses.inputTokens.count({ model: "scripted-count", instructions: "Be brief.", input: "one two three" });
    expect(alone).toEqual({ object: "response.input_tokens", input_tokens: 7 });
    const last = seen.requests.at(-1)!;
    expect(last.url).toBe("/v1/chat/completions");
    expect(last.body).toMatchObject({ model: "scripted-count", max_tokens: 1 });
    const first = await client.responses.create({ model: "scripted-count", input: "remember the word periwinkle" });
    const chained = await client.responses.inputTokens.count({ model: "scripted-count", input: "and now?", previous_response_id: first.id });
    // "and now?" (1 + 2) + the stored turn: user (1 + 4) and the answer (1 + 5).
    expect(chained.input_tokens).toBe(3 + 5 + 6);
  });

  it("a bad request is the SDK's BadRequestError with OpenAI's error", async () => {
    const error = await client.responses.inputTokens.count({ model: "scripted-count", input: "x", previous_response_id: "resp_missing" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({ code: "previous_response_not_found", param: "previous_response_id" });
  });
});
