import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { MemoryConversationStore, MemoryResponseStore } from "../../src/server.ts";
import type { Platform } from "../../worker/router.ts";
import { asksForThoughtSignature, isGoogleEndpoint, STAND_IN_SIGNATURE, withStandInSignatures } from "../../worker/run/signature-retry.ts";
import { asksForThinkingBlocks } from "../../worker/run/thinking-retry.ts";
import { scriptedGemini } from "../support/scripted-gemini.ts";
import { scriptedOpenRouter } from "../support/scripted-openrouter.ts";
import type { ChatBodyIn } from "../support/scripted-provider.ts";
import { withEnv } from "./bridge.ts";

// The openai SDK's manual tool loop through the Worker to scripted providers that need their state
// back: Gemini 3's thought signatures, OpenRouter's signed reasoning_details (Anthropic models).

type Input = OpenAI.Responses.ResponseInputItem;
const weather = (name: string): OpenAI.Responses.FunctionTool => ({ type: "function", name, strict: false, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } });
const tools = [weather("get_weather"), weather("get_forecast")];

function client(handler: (r: Request) => Promise<Response>, platform: Platform = {}): OpenAI {
  const call = withEnv({}, (input, init) => handler(new Request(input, init)), platform);
  return new OpenAI({ apiKey: "sk-client", baseURL: "http://bridge.test/v1", maxRetries: 0, fetch: (input, init) => call(new URL(String(input)).pathname, init) });
}

async function create(sdk: OpenAI, body: OpenAI.Responses.ResponseCreateParamsNonStreaming, stream: boolean): Promise<OpenAI.Responses.Response> {
  if (!stream) return sdk.responses.create(body);
  return sdk.responses.stream(body as Parameters<typeof sdk.responses.stream>[0]).finalResponse();
}

/**
 * The documented manual loop: run each function call, send its output back, until the model answers.
 * Stateless: the whole conversation each time (`store: false`, output items passed back as they came;
 * `keep` filters them, for a client that drops some). Stateful: `previous_response_id` and the outputs only.
 */
async function toolLoop(sdk: OpenAI, model: string, mode: "stateful" | "stateless", stream: boolean, keep: (item: OpenAI.Responses.ResponseOutputItem) => boolean = () => true): Promise<string> {
  let input: Input[] = [{ role: "user", content: "Weather in Paris?" }];
  let previous: string | undefined;
  for (let step = 0; step < 4; step++) {
    const r = await create(sdk, { model, tools, input, ...(mode === "stateless" ? { store: false } : { previous_response_id: previous ?? null }) }, stream);
    const calls = r.output.filter((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call");
    if (!calls.length) return r.output_text;
    const outputs: Input[] = calls.map((c) => ({ type: "function_call_output", call_id: c.call_id, output: `18C in ${(JSON.parse(c.arguments) as { city: string }).city}` }));
    if (mode === "stateless") input = [...input, ...(r.output.filter(keep) as Input[]), ...outputs];
    else {
      previous = r.id;
      input = outputs;
    }
  }
  throw new Error("the loop did not end");
}

const assistants = (body: ChatBodyIn) => (body.messages ?? []).filter((m) => m.role === "assistant");

for (const stream of [true, false]) {
  const how = stream ? "streamed" : "JSON";
  describe(`Gemini 3 thought signatures (${how})`, () => {
    for (const mode of ["stateful", "stateless"] as const) {
      it(`the openai SDK's ${mode} tool loop completes, each signature back on its call, unchanged`, async () => {
        const gemini = scriptedGemini({ refuseFields: true });
        const store = new MemoryResponseStore();
        const text = await toolLoop(client(gemini.handler, { storeFor: () => store }), "gemini-3-pro-preview", mode, stream);
        expect(gemini.refusals).toEqual([]);
        expect(text).toBe("The tool said: 18C in Paris");
        expect(gemini.requests).toHaveLength(2);
        const call = assistants(gemini.requests[1]!)[0]!.tool_calls![0]!;
        expect(call.id).toBe("function-call-1-0");
        expect(call.extra_content?.google?.thought_signature).toMatch(/^gemini-sig-1-/);
      });
    }

    it("a signed text answer: its signature back on that assistant message in the next turn", async () => {
      const gemini = scriptedGemini({ refuseFields: true });
      const sdk = client(gemini.handler);
      const first = await create(sdk, { model: "gemini-3-pro-preview", input: "Hello", store: false }, stream);
      expect(first.output.map((o) => o.type)).toEqual(["message", "reasoning"]);
      expect(JSON.stringify(first)).not.toContain("gemini-text-sig");
      await create(sdk, { model: "gemini-3-pro-preview", store: false, input: [{ role: "user", content: "Hello" }, ...(first.output as Input[]), { role: "user", content: "Again" }] }, stream);
      expect(assistants(gemini.requests[1]!)).toEqual([{ role: "assistant", content: "Hello from the scripted provider.", extra_content: { google: { thought_signature: "gemini-text-sig-1" } } }]);
    });

    for (const mode of ["stateful", "stateless"] as const) {
      it(`two steps in one turn (${mode}): each step's signature back on its own call`, async () => {
        const gemini = scriptedGemini({ refuseFields: true });
        const store = new MemoryResponseStore();
        expect(await toolLoop(client(gemini.handler, { storeFor: () => store }), "gemini-3-pro-preview-twice", mode, stream)).toBe("The tool said: 18C in Paris");
        expect(gemini.refusals).toEqual([]);
        expect(gemini.requests).toHaveLength(3);
        const signatures = assistants(gemini.requests[2]!).map((m) => m.tool_calls![0]!.extra_content?.google?.thought_signature);
        expect(signatures).toEqual([expect.stringMatching(/^gemini-sig-1-/), expect.stringMatching(/^gemini-sig-2-/)]);
      });
    }

    it("parallel calls: the signature goes back on the first call only, as it came", async () => {
      const gemini = scriptedGemini({ refuseFields: true });
      expect(await toolLoop(client(gemini.handler), "gemini-3-pro-preview-parallel", "stateless", stream)).toBe("The tool said: 18C in Paris");
      const calls = assistants(gemini.requests[1]!)[0]!.tool_calls!;
      expect(calls.map((c) => typeof c.extra_content?.google?.thought_signature)).toEqual(["string", "undefined"]);
    });

    it("a history without its signatures (a client that drops reasoning items) gets Google's stand-in after Google asks, once per upstream", async () => {
      const gemini = scriptedGemini({ refuseFields: true });
      const model = `gemini-3-flash-preview-unsigned-${how}`;
      const sdk = client(gemini.handler);
      expect(await toolLoop(sdk, model, "stateless", stream, (i) => i.type !== "reasoning")).toBe("The tool said: 18C in Paris");
      expect(gemini.refusals).toHaveLength(1);
      expect(gemini.refusals[0]).toMatch(/^Function call is missing a thought_signature in functionCall parts\./);
      expect(assistants(gemini.requests[2]!)[0]!.tool_calls![0]!.extra_content).toEqual({ google: { thought_signature: STAND_IN_SIGNATURE } });
      // Learned: the next loop to that upstream sends the stand-in the first time.
      expect(await toolLoop(sdk, model, "stateless", stream, (i) => i.type !== "reasoning")).toBe("The tool said: 18C in Paris");
      expect(gemini.refusals).toHaveLength(1);
    });
  });

  describe(`OpenRouter's Anthropic models: signed reasoning_details (${how})`, () => {
    for (const mode of ["stateful", "stateless"] as const) {
      it(`the openai SDK's ${mode} tool loop completes, the entries back whole on the tool call's message`, async () => {
        const openrouter = scriptedOpenRouter();
        const store = new MemoryResponseStore();
        const text = await toolLoop(client(openrouter.handler, { storeFor: () => store }), "anthropic/claude-sonnet-4.5", mode, stream);
        expect(openrouter.refusals).toEqual([]);
        expect(text).toBe("The tool said: 18C in Paris");
        const back = assistants(openrouter.requests[1]!)[0]!;
        expect(back.reasoning_details).toEqual([
          { type: "reasoning.text", text: "Turn 1: the user wants the weather.", signature: expect.stringMatching(/^or-sig-1-/), id: null, format: "anthropic-claude-v1", index: 0 },
          { type: "reasoning.encrypted", data: expect.stringMatching(/^redacted-1-/), id: null, format: "anthropic-claude-v1", index: 1 },
        ]);
        expect(back).not.toHaveProperty("reasoning");
      });
    }

    it("without the reasoning items Anthropic's refusal is answered as it documents: that one request without thinking", async () => {
      const openrouter = scriptedOpenRouter();
      const sdk = client(openrouter.handler);
      expect(await toolLoop(sdk, "anthropic/claude-sonnet-4.5", "stateless", stream, (i) => i.type !== "reasoning")).toBe("The tool said: 18C in Paris");
      expect(openrouter.refusals).toHaveLength(1);
      expect(openrouter.refusals[0]).toMatch(/^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`/);
      expect(openrouter.requests.map((r) => r.reasoning)).toEqual([undefined, undefined, { enabled: false }]);
      expect(openrouter.requests[2]).not.toHaveProperty("reasoning_effort");
    });

    it("the client is told when a request went without thinking", async () => {
      const openrouter = scriptedOpenRouter();
      const sdk = client(openrouter.handler);
      const first = await sdk.responses.create({ model: "anthropic/claude-sonnet-4.5", tools, input: "Weather?", store: false, reasoning: { effort: "high" } });
      const call = first.output.find((o) => o.type === "function_call")!;
      const body = { model: "anthropic/claude-sonnet-4.5", tools, store: false, stream, reasoning: { effort: "high" as const }, input: [{ role: "user" as const, content: "Weather?" }, call, { type: "function_call_output" as const, call_id: call.call_id, output: "18C" }] };
      const { response } = await (stream ? sdk.responses.create({ ...body, stream: true }) : sdk.responses.create({ ...body, stream: false })).withResponse();
      expect(response.headers.get("x-responses-bridge-thinking")).toMatch(/^off: /);
      expect(openrouter.requests[0]!.reasoning_effort).toBe("high");
      expect(openrouter.requests.at(-1)).not.toHaveProperty("reasoning_effort");
    });

    it("reasoning_details changed on the way are refused by the provider, never retried into a success", async () => {
      const openrouter = scriptedOpenRouter();
      const sdk = client(openrouter.handler);
      const first = await create(sdk, { model: "anthropic/claude-sonnet-4.5", tools, input: "Weather?", store: false, include: ["reasoning.encrypted_content"] }, stream);
      const tampered = first.output.map((o) => (o.type === "reasoning" ? { ...o, encrypted_content: `${o.encrypted_content!.slice(0, -4)}AAAA` } : o));
      const call = first.output.find((o) => o.type === "function_call")!;
      const error = await create(sdk, { model: "anthropic/claude-sonnet-4.5", tools, store: false, input: [{ role: "user", content: "Weather?" }, ...(tampered as Input[]), { type: "function_call_output", call_id: call.call_id, output: "18C" }] }, stream).catch((e: unknown) => e);
      // A token that does not open is dropped (never sent upstream): the history lacks the blocks, and thinking goes off for that request.
      expect(error).not.toBeInstanceOf(Error);
      expect(openrouter.requests.at(-1)!.reasoning).toEqual({ enabled: false });
      expect(JSON.stringify(openrouter.requests.slice(1))).not.toContain("or-sig-");
    });
  });
}

describe("the thinking fallback behind another gateway", () => {
  it("behind another gateway (LiteLLM's envelope), thinking goes off by leaving out the effort, with no `reasoning` field it was never sent", async () => {
    const seen: ChatBodyIn[] = [];
    const litellm = async (r: Request) => {
      const body = (await r.json()) as ChatBodyIn & Record<string, unknown>;
      seen.push(body);
      if ("reasoning" in body) return Response.json({ error: { message: "litellm.BadRequestError: AnthropicException - reasoning: Extra inputs are not permitted", type: null, param: null, code: "400" } }, { status: 400 });
      const last = body.messages?.at(-1);
      if (last?.role !== "tool") return Response.json({ id: "c1", object: "chat.completion", created: 1, model: "claude", choices: [{ index: 0, finish_reason: "tool_calls", message: { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] } }] });
      if ("reasoning_effort" in body) {
        const raw = JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block." } });
        return Response.json({ error: { message: `litellm.BadRequestError: AnthropicException - ${raw}`, type: null, param: null, code: "400" } }, { status: 400 });
      }
      return Response.json({ id: "c2", object: "chat.completion", created: 1, model: "claude", choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "18C in Paris." } }] });
    };
    const sdk = client(litellm);
    const first = await sdk.responses.create({ model: "claude-sonnet-4-5", tools, input: "Weather?", store: false, reasoning: { effort: "high" } });
    const call = first.output.find((o) => o.type === "function_call")!;
    const second = await sdk.responses.create({ model: "claude-sonnet-4-5", tools, store: false, reasoning: { effort: "high" }, input: [{ role: "user", content: "Weather?" }, call, { type: "function_call_output", call_id: call.call_id, output: "18C" }] });
    expect(second.output_text).toBe("18C in Paris.");
    expect(seen.map((b) => ["reasoning_effort" in b, "reasoning" in b])).toEqual([[true, false], [true, false], [false, false]]);
  });
});

describe("item_reference (the AI SDK's way with store: true)", () => {
  it("references to the stored reasoning item and call bring the signature back", async () => {
    const gemini = scriptedGemini({ refuseFields: true });
    const store = new MemoryResponseStore();
    const sdk = client(gemini.handler, { storeFor: () => store });
    const first = await sdk.responses.create({ model: "gemini-3-pro-preview", tools, input: "Weather in Paris?" });
    const refs = first.output.map((o) => ({ type: "item_reference" as const, id: o.id! }));
    const call = first.output.find((o) => o.type === "function_call")!;
    const second = await sdk.responses.create({ model: "gemini-3-pro-preview", tools, input: [{ role: "user", content: "Weather in Paris?" }, ...refs, { type: "function_call_output", call_id: call.call_id, output: "18C" }] });
    expect(gemini.refusals).toEqual([]);
    expect(second.output_text).toBe("The tool said: 18C");
    expect(assistants(gemini.requests[1]!)[0]!.tool_calls![0]!.extra_content?.google?.thought_signature).toMatch(/^gemini-sig-1-/);
  });
});

describe("conversation (the Conversations API)", () => {
  it("a Gemini tool loop through `conversation` carries each step's signature back on its call", async () => {
    const gemini = scriptedGemini({ refuseFields: true });
    const store = new MemoryResponseStore();
    const conversations = new MemoryConversationStore();
    const sdk = client(gemini.handler, { storeFor: () => store, conversationsFor: () => conversations });
    const conversation = await sdk.conversations.create();
    const model = "gemini-3-pro-preview-twice";
    let input: Input[] = [{ role: "user", content: "Weather in Paris?" }];
    let text = "";
    for (let step = 0; step < 4 && !text; step++) {
      const r = await sdk.responses.create({ model, tools, conversation: conversation.id, input });
      const calls = r.output.filter((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call");
      if (!calls.length) text = r.output_text;
      input = calls.map((c) => ({ type: "function_call_output", call_id: c.call_id, output: `18C in ${(JSON.parse(c.arguments) as { city: string }).city}` }));
    }
    expect(text).toBe("The tool said: 18C in Paris");
    expect(gemini.refusals).toEqual([]);
    expect(gemini.requests).toHaveLength(3);
    const signatures = assistants(gemini.requests[2]!).map((m) => m.tool_calls![0]!.extra_content?.google?.thought_signature);
    expect(signatures).toEqual([expect.stringMatching(/^gemini-sig-1-/), expect.stringMatching(/^gemini-sig-2-/)]);
    // The conversation lists the sealed token, never the signature in the clear.
    const items = await sdk.conversations.items.list(conversation.id);
    expect(JSON.stringify(items.data)).not.toContain("gemini-sig-");
  });
});

describe("server-side compaction (context_management)", () => {
  it("a compaction in the middle of a Gemini tool turn keeps the turn's signatures: the next step goes back signed", async () => {
    const gemini = scriptedGemini({ refuseFields: true });
    const sdk = client(gemini.handler);
    const model = "gemini-3-pro-preview";
    const cm = [{ type: "compaction", compact_threshold: 1 }] as unknown as OpenAI.Responses.ResponseCreateParams["context_management"];
    // A first turn, whole (no compaction: nothing before it).
    let input: Input[] = [{ role: "user", content: "Weather in Paris?" }];
    for (let step = 0; step < 3; step++) {
      const r = await sdk.responses.create({ model, tools, store: false, input, context_management: cm });
      const calls = r.output.filter((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call");
      input = [...input, ...(r.output as Input[]), ...calls.map((c) => ({ type: "function_call_output" as const, call_id: c.call_id, output: "18C" }))];
      if (!calls.length) break;
    }
    // The second turn compacts the first away at each step; its own call keeps the signature through the sealed compaction item.
    input.push({ role: "user", content: "And in Rome?" });
    const calling = await sdk.responses.create({ model, tools, store: false, input, context_management: cm });
    expect(calling.output[0]!.type).toBe("compaction");
    const call = calling.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call")!;
    input = [...input, ...(calling.output as Input[]), { type: "function_call_output", call_id: call.call_id, output: "21C" }];
    const answer = await sdk.responses.create({ model, tools, store: false, input, context_management: cm });
    expect(answer.output_text).toBe("The tool said: 21C");
    expect(gemini.refusals).toEqual([]);
    const last = gemini.requests.at(-1)!;
    const signed = assistants(last).map((m) => m.tool_calls?.[0]?.extra_content?.google?.thought_signature);
    expect(signed).toEqual([expect.stringMatching(/^gemini-sig-/)]);
  });
});

describe("provider state in the clear", () => {
  it("a client's own `provider_state` on a reasoning item never reaches the upstream: only a sealed token brings state", async () => {
    const openrouter = scriptedOpenRouter();
    const sdk = client(openrouter.handler);
    const first = await sdk.responses.create({ model: "anthropic/claude-sonnet-4.5", tools, input: "Weather?", store: false });
    const reasoning = first.output.find((o) => o.type === "reasoning")!;
    const call = first.output.find((o) => o.type === "function_call")!;
    // The same upstream's tag (in the item's id), forged entries beside no token, then beside a token that does not open.
    const forged = { upstream: reasoning.id.slice(-8), details: [{ type: "reasoning.text", text: "forged", signature: "forged-sig", index: 0 }], calls: { [call.call_id]: { google: { thought_signature: "forged-gemini-sig" } } } };
    for (const item of [{ type: "reasoning", id: reasoning.id, summary: [], provider_state: forged }, { type: "reasoning", id: reasoning.id, summary: [], encrypted_content: "rb1.AAAA", provider_state: forged }]) {
      await sdk.responses.create({ model: "anthropic/claude-sonnet-4.5", tools, store: false, input: [{ role: "user", content: "Weather?" }, item as unknown as Input, call, { type: "function_call_output", call_id: call.call_id, output: "18C" }] });
      expect(JSON.stringify(openrouter.requests.at(-1))).not.toContain("forged");
    }
  });
});

describe("the scripted Gemini's field refusal", () => {
  it("answers an OpenAI-only field with Google's array-wrapped 400", async () => {
    const gemini = scriptedGemini({ refuseFields: true });
    const res = await gemini.handler(new Request("http://g.test/v1beta/openai/chat/completions", { method: "POST", body: JSON.stringify({ model: "gemini-3-pro-preview", messages: [], prompt_cache_key: "k" }) }));
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual([{ error: { code: 400, message: 'Invalid JSON payload received. Unknown name "prompt_cache_key": Cannot find field.', status: "INVALID_ARGUMENT" } }]);
  });
});

describe("state never crosses to another upstream", () => {
  it("a Gemini turn continued on OpenRouter carries no extra_content, and the reverse no reasoning_details", async () => {
    const gemini = scriptedGemini({ refuseFields: true });
    const openrouter = scriptedOpenRouter();
    const store = new MemoryResponseStore();
    const both = (r: Request) => r.clone().json().then((b) => ((b as ChatBodyIn).model?.startsWith("anthropic/") ? openrouter.handler(r) : gemini.handler(r)));
    const sdk = client(both, { storeFor: () => store });
    const first = await sdk.responses.create({ model: "gemini-3-pro-preview", tools, input: "Weather in Paris?" });
    const call = first.output.find((o) => o.type === "function_call")!;
    const second = await sdk.responses.create({ model: "anthropic/claude-sonnet-4.5", tools, previous_response_id: first.id, input: [{ type: "function_call_output", call_id: call.call_id, output: "18C" }] });
    expect(second.output_text).toBe("The tool said: 18C");
    expect(JSON.stringify(openrouter.requests)).not.toContain("thought_signature");
    expect(JSON.stringify(openrouter.requests)).not.toContain("extra_content");
    // And back to Gemini: OpenRouter's entries stay behind; the Gemini call keeps its own signature.
    const third = await sdk.responses.create({ model: "gemini-3-pro-preview", tools, previous_response_id: second.id, input: "And in Rome?" });
    expect(third.status).toBe("completed");
    expect(JSON.stringify(gemini.requests.at(-1))).not.toContain("reasoning_details");
    expect(gemini.refusals).toEqual([]);
  });
});

describe("Anthropic's words for missing thinking blocks", () => {
  it("are recognised as Anthropic writes them and as gateways relay them, for a call and for text before a call", () => {
    const raw = (found: string, q: string) => JSON.stringify({ error: { message: "Provider returned error", code: 400, metadata: { raw: JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: `messages.1.content.0.type: Expected ${q}thinking${q} or ${q}redacted_thinking${q}, but found ${q}${found}${q}. When thinking is enabled, a final assistant message must start with a thinking block.` } }), provider_name: "Anthropic" } } });
    for (const q of ["`", "'"]) for (const found of ["tool_use", "text"]) expect(asksForThinkingBlocks(400, raw(found, q))).toBe(true);
    expect(asksForThinkingBlocks(400, raw("image", "`"))).toBe(false);
    expect(asksForThinkingBlocks(500, raw("tool_use", "`"))).toBe(false);
    expect(asksForThinkingBlocks(400, JSON.stringify({ error: { message: "messages.1.content.0: Invalid `signature` in `thinking` block." } }))).toBe(false);
  });
});

describe("Gemini's words and Google's stand-in", () => {
  it("recognises the refusal in Google's array body, and nothing else", () => {
    const body = JSON.stringify([{ error: { code: 400, message: "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly …", status: "INVALID_ARGUMENT" } }]);
    expect(asksForThoughtSignature(400, body)).toBe(true);
    expect(asksForThoughtSignature(500, body)).toBe(false);
    expect(asksForThoughtSignature(400, '[{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \\"prompt_cache_key\\": Cannot find field."}}]')).toBe(false);
  });

  it("Google's endpoints get the stand-in up front; others only once they asked", () => {
    expect(isGoogleEndpoint("https://generativelanguage.googleapis.com/v1beta/openai")).toBe(true);
    expect(isGoogleEndpoint("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/endpoints/openapi")).toBe(true);
    expect(isGoogleEndpoint("https://openrouter.ai/api/v1")).toBe(false);
    expect(isGoogleEndpoint("https://evil.example/generativelanguage.googleapis.com/")).toBe(false);
  });

  it("the stand-in goes on the first call of each unsigned step only; signed steps and other messages stay as they are", () => {
    const signed = { id: "a", type: "function" as const, function: { name: "f", arguments: "{}" }, extra_content: { google: { thought_signature: "real" } } };
    const bare = (id: string) => ({ id, type: "function" as const, function: { name: "f", arguments: "{}" } });
    const out = withStandInSignatures([
      { role: "user", content: "hi" },
      { role: "assistant", content: null, tool_calls: [signed, bare("b")] },
      { role: "assistant", content: null, tool_calls: [bare("c"), bare("d")] },
    ]);
    const calls = out.flatMap((m) => (m.role === "assistant" ? m.tool_calls! : []));
    expect(calls.map((c) => c.extra_content?.["google"])).toEqual([{ thought_signature: "real" }, undefined, { thought_signature: STAND_IN_SIGNATURE }, undefined]);
    // Vertex AI's name for the same signature counts as signed.
    const vertex = withStandInSignatures([{ role: "assistant", content: null, tool_calls: [{ ...bare("e"), extra_content: { vertex: { thought_signature: "v" } } }] }]);
    expect(vertex[0]).toEqual({ role: "assistant", content: null, tool_calls: [{ ...bare("e"), extra_content: { vertex: { thought_signature: "v" } } }] });
  });
});
