import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { poll } from "../support/background-poll.ts";
import { type Stack, startStack } from "../support/stack.ts";

// A background create refuses at create what the foreground refuses, for real: `wrangler dev` (the repository's
// wrangler.toml: BACKGROUND_RUNS, RESPONSES_STORE, KEY_LIMITS) with named keys, where the run inside its object
// sees the same keys, so a run that counted its request again would show: the `openai` SDK as the client.

const DAVE = "sk-dave-bgc-e2e-0123456789";
const ERIN = "sk-erin-bgc-e2e-0123456789";
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    UPSTREAM_API_KEY: "sk-owner-bgc-e2e-0123456789",
    PROXY_API_KEYS: JSON.stringify({ dave: { key: DAVE, requests_per_minute: 2 }, erin: { key: ERIN, models: ["allowed-*"] } }),
  });
});
afterAll(async () => {
  await stack?.stop();
});

const client = (key: string) => new OpenAI({ apiKey: key, baseURL: stack.baseURL, maxRetries: 0 });
const chatRequests = () => seen.requests.filter((q) => q.url.endsWith("/chat/completions")).length;


/** The SDK's error for a create: its status and OpenAI's error body. */
async function refusal(p: Promise<unknown>): Promise<{ status: number | undefined; code: unknown; type: unknown; message: string }> {
  const e = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(OpenAI.APIError);
  const err = e as InstanceType<typeof OpenAI.APIError>;
  return { status: err.status, code: err.code, type: err.type, message: err.message.replace(/in [0-9.hms]+\.$/, "in <reset>.") };
}

describe("background create refusals, through wrangler dev", () => {
  it("a key's requests per minute: each background response is counted once (at create), the next one refused at create like a foreground one", async () => {
    const dave = client(DAVE);
    for (const input of ["One.", "Two."]) {
      const created = await dave.responses.create({ model: "scripted-text", input, background: true });
      expect(created.status).toBe("queued");
      expect((await poll(dave, created.id, stack)).status).toBe("completed");
    }
    const before = chatRequests();
    const background = await refusal(dave.responses.create({ model: "scripted-text", input: "Three.", background: true }));
    const foreground = await refusal(dave.responses.create({ model: "scripted-text", input: "Three." }));
    expect(background).toEqual(foreground);
    expect(background).toMatchObject({ status: 429, code: "rate_limit_exceeded" });
    expect(chatRequests()).toBe(before);
  });

  it("a model outside the key's globs and an unknown previous_response_id: the foreground's 404 and 400, at create", async () => {
    const erin = client(ERIN);
    const before = chatRequests();
    const model = await refusal(erin.responses.create({ model: "scripted-text", input: "x", background: true }));
    expect(model).toEqual(await refusal(erin.responses.create({ model: "scripted-text", input: "x" })));
    expect(model).toMatchObject({ status: 404, code: "model_not_found" });
    const previous = { model: "allowed-model", input: "x", previous_response_id: "resp_0123456789abcdef0123456789abcdef" };
    const missing = await refusal(erin.responses.create({ ...previous, background: true }));
    expect(missing).toEqual(await refusal(erin.responses.create(previous)));
    expect(missing).toMatchObject({ status: 400, code: "previous_response_not_found" });
    expect(chatRequests()).toBe(before);
  });
});
