import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scriptedUpstream, seen } from "../support/scripted-upstream.ts";
import { serve } from "../support/serve.ts";
import { startWorker } from "../support/start-worker.ts";

// DeepSeek's thinking-mode rule, enforced by the scripted upstream, through `wrangler dev` with its
// default settings: the `openai` SDK's documented tool loop (output items passed back as input).
let upstream: Awaited<ReturnType<typeof serve>>;
let worker: Awaited<ReturnType<typeof startWorker>>;
let client: OpenAI;

beforeAll(async () => {
  upstream = await serve(scriptedUpstream);
  worker = await startWorker(upstream.url, undefined, {
    MODEL_MAP: JSON.stringify({ strict: { model: "scripted-strict-tools", base_url: `${upstream.url}/strict/v1` } }),
  });
  client = new OpenAI({ apiKey: "sk-client", baseURL: `${worker.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await worker?.stop();
  await upstream?.close();
});

const tools: OpenAI.Responses.FunctionTool[] = [{ type: "function", name: "get_weather", strict: false, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];

type Message = { role: string; reasoning_content?: string };

describe("reasoning round trip through wrangler dev, no configuration", () => {
  it("the openai SDK's tool loop against DeepSeek's thinking mode: three requests, each turn's reasoning passed back", async () => {
    const input: OpenAI.Responses.ResponseInputItem[] = [{ role: "user", content: "Weather in Paris?" }];
    for (let i = 0; i < 3; i++) {
      const response = await client.responses.stream({ model: "scripted-deepseek-tools", tools, input }).finalResponse();
      input.push(...(response.output as OpenAI.Responses.ResponseInputItem[]));
      const call = response.output.find((o) => o.type === "function_call");
      input.push(call ? { type: "function_call_output", call_id: call.call_id, output: "18C" } : { role: "user", content: "And tomorrow?" });
    }
    // Three requests, no second attempts: the reasoning went back the first time, every time.
    expect(seen.requests.filter((r) => (r.body as { model?: string }).model === "scripted-deepseek-tools")).toHaveLength(3);
    const last = seen.requests.at(-1)!.body as { messages: Message[] };
    expect(last.messages.filter((m) => m.role === "assistant").map((m) => m.reasoning_content)).toEqual(["Thinking it over (turn 0).", "Thinking it over (turn 1)."]);

    // The same conversation continued on a strict server: no reasoning field reaches it.
    const switched = await client.responses.create({ model: "strict", tools, input });
    expect(switched.status).toBe("completed");
    const toStrict = seen.requests.at(-1)!;
    expect(toStrict.url).toBe("/strict/v1/chat/completions");
    expect(JSON.stringify(toStrict.body)).not.toContain("reasoning_content");
  });
});
