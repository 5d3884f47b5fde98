import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { ChatToResponsesStream, type ResponsesRequest } from "../../../src/index.ts";
import * as up from "../../fixtures/upstreams.ts";
import { testOptions } from "../../support/helpers.ts";

/** An `openai` client whose transport answers every request with our converted stream. */
function clientFor(upstreamSse: string, extra: Parameters<typeof testOptions>[0] = {}) {
  const seen: ResponsesRequest[] = [];
  const client = new OpenAI({
    apiKey: "sk-test",
    baseURL: "http://bridge.invalid/v1",
    maxRetries: 0,
    fetch: async (_url, init) => {
      const request = JSON.parse(String(init?.body)) as ResponsesRequest;
      seen.push(request);
      const body = new Response(upstreamSse).body!.pipeThrough(new ChatToResponsesStream(testOptions({ request, ...extra })));
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    },
  });
  return { client, seen };
}

async function finalOf(upstreamSse: string, extra: Parameters<typeof testOptions>[0] = {}) {
  const { client } = clientFor(upstreamSse, extra);
  const stream = client.responses.stream({ model: "any-model", input: "hi" });
  const types: string[] = [];
  for await (const e of stream) types.push(e.type);
  return { final: await stream.finalResponse(), types };
}

describe("the openai SDK's ResponseStream accumulates our stream", () => {
  it("text", async () => {
    const { final } = await finalOf(up.openaiText);
    expect(final.output_text).toBe("Hello, world!");
    expect(final.status).toBe("completed");
    expect(final.usage?.total_tokens).toBe(16);
  });

  it("tool call", async () => {
    const { final } = await finalOf(up.openaiToolCallSplit);
    expect(final.output).toEqual([expect.objectContaining({ type: "function_call", name: "get_weather", call_id: "call_DdmO9pD3xa9XTPNJ32zg2hcA", arguments: '{"location":"Paris, France"}' })]);
  });

  it("parallel tool calls, interleaved upstream", async () => {
    const { final } = await finalOf(up.interleavedParallelTools);
    expect(final.output.map((o) => (o.type === "function_call" ? [o.name, o.arguments] : o.type))).toEqual([
      ["get_weather", '{"city":"Paris"}'],
      ["get_time", '{"tz":"CET"}'],
    ]);
  });

  it("reasoning (summary and raw) then text", async () => {
    const summary = await finalOf(up.deepseekReasoning);
    expect(summary.final.output[0]).toMatchObject({ type: "reasoning", summary: [{ type: "summary_text", text: "The user greets me; answer briefly." }] });
    expect(summary.final.output_text).toBe("Hi there.");
    const raw = await finalOf(up.deepseekReasoning, { reasoning: "raw" });
    expect(raw.final.output[0]).toMatchObject({ type: "reasoning", content: [{ type: "reasoning_text", text: "The user greets me; answer briefly." }] });
    expect(raw.types).toContain("response.reasoning_text.delta");
  });

  it("refusal", async () => {
    const { final } = await finalOf(up.openaiRefusal);
    expect(final.output[0]).toMatchObject({ type: "message", content: [{ type: "refusal", refusal: "I'm sorry, I can't help with that." }] });
  });

  it("annotations and logprobs", async () => {
    const a = await finalOf(up.openrouterAnnotations);
    expect(a.final.output[0]).toMatchObject({ content: [{ annotations: [{ type: "url_citation", url: "https://en.wikipedia.org/wiki/Paris" }] }] });
    const l = await finalOf(up.openaiLogprobs);
    expect(l.final.output[0]).toMatchObject({ content: [{ text: "Hi!", logprobs: [{ token: "Hi" }, { token: "!" }] }] });
  });

  it("incomplete", async () => {
    const { final } = await finalOf(up.openaiLength);
    expect(final.status).toBe("incomplete");
    expect(final.incomplete_details).toEqual({ reason: "max_output_tokens" });
  });

  it("failure reaches the SDK as an APIError carrying the upstream's code and wording", async () => {
    const { client } = clientFor(up.openrouterMidStreamError);
    const stream = client.responses.stream({ model: "m", input: "hi" });
    const seen: string[] = [];
    // The SDK throws on an `event: error` frame, reading its nested `error` object.
    const consume = async () => {
      for await (const e of stream) seen.push(e.type);
    };
    const thrown = await consume().then(() => null, (e: unknown) => e);
    expect(thrown).toBeInstanceOf(OpenAI.APIError);
    expect((thrown as InstanceType<typeof OpenAI.APIError>).code).toBe("rate_limit_exceeded");
    expect(String((thrown as Error).message)).toContain("Please try again in 20s.");
    expect(seen).toContain("response.output_text.delta");
    expect(seen).not.toContain("response.completed");
  });

  it("the request the SDK sent is echoed into the envelope", async () => {
    const { client, seen } = clientFor(up.openaiText);
    const stream = client.responses.stream({ model: "any-model", input: "hi", instructions: "Be terse.", temperature: 0.3 });
    const final = await stream.finalResponse();
    expect(seen[0]).toMatchObject({ model: "any-model", stream: true });
    expect(final).toMatchObject({ instructions: "Be terse.", temperature: 0.3 });
  });
});
