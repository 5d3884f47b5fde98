import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { keyLedger } from "../../worker/cloudflare/key-limits-object.ts";
import { platformFor } from "../../worker/cloudflare/platform.ts";
import type { Env } from "../../worker/env.ts";
import type { Platform } from "../../worker/router.ts";
import { withEnv } from "./bridge.ts";

// A background `create` answers at once what the foreground `create` would answer for a request the bridge refuses
// (issue 24 item 1): the same status and body, and no run begins: no object is started, no upstream is asked.

type Json = Record<string, unknown>;
type Resp = { id: string; status: string; background?: boolean; output: unknown[]; error: unknown };
const ALICE = "sk-bgc-alice-0123456789";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The handler over the real Durable Objects (stored responses, conversations, background runs, key counters under
 * names of this test's own), counting the runs started, the upstream requests of the create itself, and the
 * admissions against a key's counters.
 */
function bridge(vars: Partial<Env> = {}) {
  const names = crypto.randomUUID();
  const counts = { starts: 0, upstream: 0, admits: 0 };
  const base = platformFor(env as unknown as Env, 30 * 86_400_000, (p) => void p.catch(() => {}));
  const ledger = (name: string) => keyLedger(env.KEY_LIMITS, `${names}:${name}`);
  const platform: Platform = {
    ...base,
    ledgerFor: (name) => {
      const real = ledger(name);
      return { ...real, admit: (l) => (counts.admits++, real.admit(l)) };
    },
    backgroundFor: (credential) => {
      const real = base.backgroundFor!(credential);
      return { ...real, start: (...a) => (counts.starts++, real.start(...a)) };
    },
  };
  const call = withEnv(vars, (input, init) => (counts.upstream++, fetch(input, init)), platform);
  const auth = (key?: string): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});
  return {
    counts,
    ledger,
    call,
    post: (body: Json, key?: string) => call("/v1/responses", { method: "POST", headers: { "content-type": "application/json", ...auth(key) }, body: JSON.stringify(body) }),
    get: (path: string, key?: string) => call(path, { headers: auth(key) }),
  };
}
type Bridge = ReturnType<typeof bridge>;

/** A limit's reset time, which differs between any two requests. */
const reset = (s: string) => s.replace(/in [0-9.hms]+(\.?)$/, "in <reset>$1").replace(/^[0-9.hms]+$/, "<reset>");

/** Status, headers and body of an answer, without what differs between any two requests (the request id; a limit's reset time). */
async function answerOf(r: Response): Promise<{ status: number; headers: Json; body: Json }> {
  const headers: Json = {};
  r.headers.forEach((v, k) => {
    if (k !== "x-request-id" && k !== "content-length") headers[k] = k.startsWith("x-ratelimit-reset") || k === "retry-after" ? reset(v) : v;
  });
  const body = (await r.json()) as { error?: Json };
  if (body.error) {
    const { request_id: _id, ...error } = body.error;
    if (typeof error.message === "string") error.message = reset(error.message);
    return { status: r.status, headers, body: { error } };
  }
  return { status: r.status, headers, body };
}

/** Asks once in the foreground, once in the background (and once streamed): the same answer each time, and no run. */
async function sameRefusal(b: Bridge, body: Json, key?: string): Promise<{ status: number; headers: Json; body: Json }> {
  const foreground = await answerOf(await b.post(body, key));
  expect(foreground.status).toBeGreaterThanOrEqual(400);
  const before = { ...b.counts };
  const background = await answerOf(await b.post({ ...body, background: true }, key));
  const streamed = await answerOf(await b.post({ ...body, background: true, stream: true }, key));
  expect(background).toEqual(foreground);
  expect(streamed).toEqual(foreground);
  expect(b.counts.starts).toBe(0);
  expect(b.counts.upstream).toBe(before.upstream);
  return foreground;
}

async function settled(b: Bridge, id: string, key?: string): Promise<Resp> {
  for (let i = 0; i < 400; i++) {
    const r = (await (await b.get(`/v1/responses/${id}`, key)).json()) as Resp;
    if (r.status !== "queued" && r.status !== "in_progress") return r;
    await sleep(50);
  }
  throw new Error(`${id} never finished`);
}

describe("a background create refuses at once what a foreground create refuses", () => {
  it("an unknown previous_response_id: OpenAI's 400 previous_response_not_found", async () => {
    const b = bridge();
    const { status, body } = await sameRefusal(b, { model: "scripted-text", input: "x", previous_response_id: "resp_0123456789abcdef0123456789abcdef" });
    expect(status).toBe(400);
    expect(body.error).toMatchObject({ code: "previous_response_not_found", param: "previous_response_id" });
  });

  it("an unknown conversation: OpenAI's 404", async () => {
    const b = bridge();
    for (const conversation of ["conv_0123456789abcdef0123456789abcdef", { id: "conv_0123456789abcdef0123456789abcdee" }]) {
      const { status, body } = await sameRefusal(b, { model: "scripted-text", input: "x", conversation });
      expect(status).toBe(404);
      expect(JSON.stringify(body.error)).toContain("conv_0123456789abcdef0123456789abc");
    }
  });

  it("unpaired tool calls, in the request and across the stored chain it continues", async () => {
    const b = bridge();
    const own = await sameRefusal(b, { model: "scripted-text", input: [{ type: "function_call_output", call_id: "call_nowhere", output: "1" }] });
    expect(own.status).toBe(400);
    expect((own.body.error as Json).message).toMatch(/No tool call found for .* call_nowhere/);
    // A stored turn ending in a tool call: the next turn must answer it first; a plain message is refused.
    const tool = { type: "function", name: "get_weather", description: "Weather.", parameters: { type: "object", properties: { city: { type: "string" } } } };
    const first = (await (await b.post({ model: "scripted-tools", input: "Weather in Paris?", tools: [tool] })).json()) as Resp;
    expect(first.output).toContainEqual(expect.objectContaining({ type: "function_call" }));
    const chain = await sameRefusal(b, { model: "scripted-text", input: "And then?", previous_response_id: first.id, tools: [tool] });
    expect(chain.status).toBe(400);
    expect((chain.body.error as Json).message).toMatch(/No tool output found for function call/);
  });

  it("a body the request translation refuses", async () => {
    const b = bridge();
    for (const body of [
      { model: "scripted-text", input: [{ type: "no_such_item" }] },
      { model: "scripted-text", input: "x", text: { format: { type: "xml" } } },
      { model: "scripted-text", input: "x", context_management: [{ type: "compaction" }] },
      { model: "scripted-text", input: [{ role: "user", content: "x" }, { type: "compaction_trigger" }], conversation: "conv_0123456789abcdef0123456789abcdef" },
    ]) {
      const { status } = await sameRefusal(b, body);
      expect(status).toBe(400);
    }
  });

  it("hosted tools the deployment refuses (HOSTED_TOOLS=reject); dropped ones are said in the queued answer's header, as in the foreground's", async () => {
    const tools = [{ type: "web_search" }, { type: "file_search", vector_store_ids: ["vs_1"] }];
    const { status } = await sameRefusal(bridge({ HOSTED_TOOLS: "reject" }), { model: "scripted-text", input: "hi", tools });
    expect(status).toBe(400);
    const b = bridge();
    const r = await b.post({ model: "scripted-text", input: "hi", tools, background: true });
    expect(r.status).toBe(200);
    expect(r.headers.get("x-responses-bridge-dropped-tools")).toBe("web_search, file_search");
    expect((await settled(b, ((await r.json()) as Resp).id)).status).toBe("completed");
  });

  it("a model outside the key's globs: OpenAI's 404 model_not_found", async () => {
    const b = bridge({ PROXY_API_KEYS: JSON.stringify({ alice: { key: ALICE, models: ["allowed-*"] } }) });
    const { status, body } = await sameRefusal(b, { model: "scripted-text", input: "x" }, ALICE);
    expect(status).toBe(404);
    expect(body.error).toMatchObject({ code: "model_not_found", message: "The model `scripted-text` does not exist or you do not have access to it." });
  });

  it("requests_per_minute spent: OpenAI's 429 rate_limit_exceeded, the request admitted once at create", async () => {
    const b = bridge({ PROXY_API_KEYS: JSON.stringify({ alice: { key: ALICE, requests_per_minute: 2 } }) });
    // The background create is admitted once, at create (the run inside its object counts nothing more).
    const queued = await b.post({ model: "scripted-text", input: "x", background: true }, ALICE);
    expect(queued.status).toBe(200);
    const { id } = (await queued.json()) as Resp;
    expect(b.counts).toMatchObject({ starts: 1, admits: 1 });
    expect((await settled(b, id, ALICE)).status).toBe("completed");
    expect((await b.post({ model: "scripted-text", input: "y" }, ALICE)).status).toBe(200);
    b.counts.starts = 0;
    const { status, headers, body } = await sameRefusal(b, { model: "scripted-text", input: "z" }, ALICE);
    expect(status).toBe(429);
    expect(body.error).toMatchObject({ code: "rate_limit_exceeded", type: "requests" });
    expect(headers).toMatchObject({ "retry-after": "<reset>", "x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0" });
  });

  it("tokens_per_day spent: OpenAI's 429 insufficient_quota", async () => {
    const b = bridge({ PROXY_API_KEYS: JSON.stringify({ alice: { key: ALICE, tokens_per_day: 50 } }) });
    await b.ledger("alice").record({ model: "scripted-text", input_tokens: 60, output_tokens: 0, cached_tokens: 0, reasoning_tokens: 0 });
    const { status, body } = await sameRefusal(b, { model: "scripted-text", input: "x" }, ALICE);
    expect(status).toBe(429);
    expect(body.error).toMatchObject({ code: "insufficient_quota", type: "insufficient_quota" });
  });

  it("a valid background create still answers queued and runs; the run is not admitted again", async () => {
    const b = bridge({ PROXY_API_KEYS: JSON.stringify({ alice: { key: ALICE, requests_per_minute: 5 } }) });
    const r = await b.post({ model: "scripted-text", input: "Hello.", background: true }, ALICE);
    expect(r.status).toBe(200);
    const queued = (await r.json()) as Resp;
    expect(queued).toMatchObject({ status: "queued", background: true, output: [] });
    // Its create read and checked the request, but asked no upstream: the run does.
    expect(b.counts).toMatchObject({ starts: 1, upstream: 0, admits: 1 });
    expect((await settled(b, queued.id, ALICE)).status).toBe("completed");
  });
});

describe("the run inside its object", () => {
  it("is not admitted again: `backgroundRun.admitted` skips the key's counters (and its model check, done at create)", async () => {
    const names = crypto.randomUUID();
    let admits = 0;
    const ledgerFor: Platform["ledgerFor"] = (name) => {
      const real = keyLedger(env.KEY_LIMITS, `${names}:${name}`);
      return { ...real, admit: (l) => (admits++, real.admit(l)) };
    };
    const vars = { PROXY_API_KEYS: JSON.stringify({ alice: { key: ALICE, requests_per_minute: 1 } }) };
    const ask = (platform: Platform) =>
      withEnv(vars, undefined, { ledgerFor, ...platform })("/v1/responses", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${ALICE}` }, body: JSON.stringify({ model: "scripted-text", input: "x" }) });
    expect((await ask({})).status).toBe(200);
    expect((await ask({})).status).toBe(429);
    expect(admits).toBe(2);
    const run = await ask({ backgroundRun: { id: "resp_0123456789abcdef0123456789abcdef", admitted: true } });
    expect(run.status).toBe(200);
    expect(admits).toBe(2);
  });
});
