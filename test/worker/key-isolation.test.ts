import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { keyLedger } from "../../worker/cloudflare/key-limits-object.ts";
import type { Env } from "../../worker/env.ts";
import type { Fetch, Platform } from "../../worker/router.ts";
import { SCRIPTED_KEY } from "../support/scripted-upstream.ts";
import { events, resetSeen, seen, withEnv } from "./bridge.ts";
import { connectWs } from "./ws-client.ts";

// With UPSTREAM_API=responses every id the upstream creates is remembered with the proxy key that created it
// (a row in that key's KeyLimitsObject); another key gets OpenAI's not-found on every path, and its request never
// reaches the upstream. The scripted Responses upstream stores responses and conversations for whoever asks.

type Json = Record<string, unknown>;
type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };
const ALICE = "sk-alice-isolation-0123";
const BOB = "sk-bob-isolation-0123";

beforeEach(resetSeen);

/** The Worker with two named keys over the real KEY_LIMITS objects (fresh names per test), and a Responses upstream. */
function bridge(vars: Partial<Env> = {}, fetchUpstream?: Fetch) {
  const run = crypto.randomUUID();
  const later: Array<Promise<unknown>> = [];
  const platform: Platform = { waitUntil: (p) => void later.push(p), ledgerFor: (name) => keyLedger(env.KEY_LIMITS, `${run}:${name}`) };
  const call = withEnv({ UPSTREAM_API: "responses", UPSTREAM_API_KEY: SCRIPTED_KEY, PROXY_API_KEYS: JSON.stringify({ alice: ALICE, bob: BOB }), ...vars }, fetchUpstream, platform);
  const as = (key: string) => ({
    send: (method: string, path: string, body?: unknown) => call(path, { method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }),
    socket: () => connectWs((init) => call("/v1/responses", { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${key}` } })),
  });
  return { alice: as(ALICE), bob: as(BOB), settle: async () => void (await Promise.all(later.splice(0))) };
}

async function expectError(res: Response, status: number, error: Partial<ErrorBody["error"]>) {
  expect(res.status).toBe(status);
  expect(((await res.json()) as ErrorBody).error).toMatchObject(error);
}

const upstreamCalls = async () => (await seen()).requests.length;

describe("UPSTREAM_API=responses: each key sees only the ids it created", () => {
  it("responses: GET, DELETE, input_items, cancel, previous_response_id and input_tokens are the owner's only", async () => {
    const b = bridge();
    const created = await b.alice.send("POST", "/v1/responses", { model: "gpt-5", input: "hi" });
    expect(created.status).toBe(200);
    const { id } = (await created.json()) as { id: string };
    expect((await b.alice.send("GET", `/v1/responses/${id}`)).status).toBe(200);
    expect((await b.alice.send("GET", `/v1/responses/${id}/input_items`)).status).toBe(200);
    const before = await upstreamCalls();
    const notFound = { message: `Response with id '${id}' not found.`, type: "invalid_request_error", param: null, code: null };
    await expectError(await b.bob.send("GET", `/v1/responses/${id}`), 404, notFound);
    await expectError(await b.bob.send("DELETE", `/v1/responses/${id}`), 404, notFound);
    await expectError(await b.bob.send("GET", `/v1/responses/${id}/input_items`), 404, notFound);
    await expectError(await b.bob.send("POST", `/v1/responses/${id}/cancel`), 404, notFound);
    const previous = { message: `Previous response with id '${id}' not found.`, param: "previous_response_id", code: "previous_response_not_found" };
    await expectError(await b.bob.send("POST", "/v1/responses", { model: "gpt-5", input: "more", previous_response_id: id }), 400, previous);
    await expectError(await b.bob.send("POST", "/v1/responses", { model: "gpt-5", input: "more", previous_response_id: id, stream: true }), 400, previous);
    await expectError(await b.bob.send("POST", "/v1/responses/input_tokens", { model: "gpt-5", input: "more", previous_response_id: id }), 400, previous);
    await expectError(await b.bob.send("POST", "/v1/responses/compact", { model: "gpt-5", input: "more", previous_response_id: id }), 400, previous);
    // None of Bob's requests reached the upstream.
    expect(await upstreamCalls()).toBe(before);
    // The owner continues, cancels (the upstream's own answer) and deletes.
    expect((await b.alice.send("POST", "/v1/responses", { model: "gpt-5", input: "more", previous_response_id: id })).status).toBe(200);
    expect((await b.alice.send("POST", `/v1/responses/${id}/cancel`)).status).toBe(400);
    expect((await b.alice.send("DELETE", `/v1/responses/${id}`)).status).toBe(200);
  });

  it("a streamed create: the id is remembered from response.created before the client can read it", async () => {
    const b = bridge();
    const res = await b.alice.send("POST", "/v1/responses", { model: "gpt-5", input: "hi", stream: true });
    const list = events(await res.text());
    expect(list.map((e) => e.type).at(-1)).toBe("response.completed");
    const id = (list[0] as unknown as { response: { id: string } }).response.id;
    expect((await b.alice.send("GET", `/v1/responses/${id}`)).status).toBe(200);
    expect((await b.bob.send("GET", `/v1/responses/${id}`)).status).toBe(404);
  });

  it("an id nobody created through the bridge (made upstream directly) is nobody's", async () => {
    const b = bridge();
    // Created on the upstream with the Worker's key, not through a proxy key.
    const direct = (await (await fetch("http://upstream.test/v1/responses", { method: "POST", body: JSON.stringify({ model: "gpt-5", input: "x" }) })).json()) as { id: string };
    expect((await b.alice.send("GET", `/v1/responses/${direct.id}`)).status).toBe(404);
    expect((await b.bob.send("GET", `/v1/responses/${direct.id}`)).status).toBe(404);
  });

  it("conversations: every /v1/conversations/{id}… path and `conversation` on create are the owner's only", async () => {
    const b = bridge();
    const created = await b.alice.send("POST", "/v1/conversations", { metadata: { topic: "demo" } });
    expect(created.status).toBe(200);
    const { id } = (await created.json()) as { id: string };
    expect(id).toMatch(/^conv_/);
    expect((await b.alice.send("GET", `/v1/conversations/${id}`)).status).toBe(200);
    expect((await b.alice.send("GET", `/v1/conversations/${id}/items`)).status).toBe(200);
    const before = await upstreamCalls();
    const notFound = { message: `Conversation with id '${id}' not found.`, type: "invalid_request_error" };
    for (const [method, path] of [
      ["GET", `/v1/conversations/${id}`],
      ["POST", `/v1/conversations/${id}`],
      ["DELETE", `/v1/conversations/${id}`],
      ["GET", `/v1/conversations/${id}/items`],
      ["POST", `/v1/conversations/${id}/items`],
      ["GET", `/v1/conversations/${id}/items/msg_1`],
      ["DELETE", `/v1/conversations/${id}/items/msg_1`],
    ] as const) {
      await expectError(await b.bob.send(method, path, method === "POST" ? { metadata: {} } : undefined), 404, notFound);
    }
    await expectError(await b.bob.send("POST", "/v1/responses", { model: "gpt-5", input: "hi", conversation: id }), 404, { ...notFound, param: "conversation" });
    await expectError(await b.bob.send("POST", "/v1/responses", { model: "gpt-5", input: "hi", conversation: { id } }), 404, { ...notFound, param: "conversation" });
    expect(await upstreamCalls()).toBe(before);
    expect((await b.alice.send("POST", "/v1/responses", { model: "gpt-5", input: "hi", conversation: { id } })).status).toBe(200);
  });

  it("WebSocket (relayed over HTTP): another key's previous_response_id is an error frame; the owner continues", async () => {
    const b = bridge();
    const alice = await b.alice.socket();
    alice.create({ model: "gpt-5", input: "hi" });
    const first = await alice.turn();
    const id = first.at(-1)!.response!.id;
    alice.create({ model: "gpt-5", input: "more", previous_response_id: id });
    expect((await alice.turn()).at(-1)!.type).toBe("response.completed");
    const bob = await b.bob.socket();
    bob.create({ model: "gpt-5", input: "more", previous_response_id: id });
    const refused = await bob.turn();
    expect(refused.at(-1)).toMatchObject({ type: "error", status: 400, error: { code: "previous_response_not_found", message: `Previous response with id '${id}' not found.` } });
    alice.ws.close();
    bob.ws.close();
  });

  it("WebSocket passed through to an upstream socket: continuation checked per frame, ids of this socket pass at once", async () => {
    let upstreamFrames: Json[] = [];
    let n = 0;
    // An upstream that takes the WebSocket: answers each response.create with created and completed.
    const upgrade: Fetch = async () => {
      const pair = new WebSocketPair();
      const server = pair[1];
      server.accept();
      server.addEventListener("message", (e) => {
        const frame = JSON.parse(e.data as string) as Json;
        upstreamFrames.push(frame);
        const response = { id: `resp_ws${n++}`, object: "response", model: "gpt-5", status: "completed", output: [], usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } };
        server.send(JSON.stringify({ type: "response.created", response: { ...response, status: "in_progress", usage: null } }));
        server.send(JSON.stringify({ type: "response.completed", response }));
      });
      return new Response(null, { status: 101, webSocket: pair[0] });
    };
    const b = bridge({}, upgrade);
    const alice = await b.alice.socket();
    alice.create({ model: "gpt-5", input: "hi" });
    const id = (await alice.turn()).at(-1)!.response!.id;
    alice.create({ model: "gpt-5", input: "more", previous_response_id: id, store: false });
    expect((await alice.turn()).at(-1)!.type).toBe("response.completed");
    expect(upstreamFrames).toHaveLength(2);
    const bob = await b.bob.socket();
    bob.create({ model: "gpt-5", input: "more", previous_response_id: id });
    expect(await bob.next()).toMatchObject({ type: "error", status: 400, error: { code: "previous_response_not_found" } });
    // `response.steer` names the response it steers the same way: another key's is refused before the upstream.
    bob.ws.send(JSON.stringify({ type: "response.steer", previous_response_id: id, input: "stop that" }));
    expect(await bob.next()).toMatchObject({ type: "error", status: 400, error: { code: "previous_response_not_found" } });
    expect(upstreamFrames).toHaveLength(2);
    // Bob's own first id is his.
    upstreamFrames = [];
    bob.create({ model: "gpt-5", input: "hi" });
    const own = (await bob.turn()).at(-1)!.response!.id;
    bob.create({ model: "gpt-5", input: "more", previous_response_id: own });
    expect((await bob.turn()).at(-1)!.type).toBe("response.completed");
    expect(upstreamFrames).toHaveLength(2);
    alice.ws.close();
    bob.ws.close();
    // Each response's usage, read from the upstream's terminal frame, counted for the key that ran it.
    await b.settle();
    const usage = async (who: typeof b.alice) => ((await (await who.send("GET", "/v1/usage")).json()) as { data: unknown[] }).data;
    expect(await usage(b.alice)).toEqual([expect.objectContaining({ model: "gpt-5", requests: 2, input_tokens: 10, output_tokens: 4 })]);
    expect(await usage(b.bob)).toEqual([expect.objectContaining({ model: "gpt-5", requests: 2, input_tokens: 10, output_tokens: 4 })]);
  });

  it("without the KEY_LIMITS binding, keys fail closed instead of sharing ids", async () => {
    const call = withEnv({ UPSTREAM_API: "responses", UPSTREAM_API_KEY: SCRIPTED_KEY, PROXY_API_KEYS: JSON.stringify({ alice: ALICE }) });
    const res = await call("/v1/responses/resp_x", { headers: { authorization: `Bearer ${ALICE}` } });
    await expectError(res, 500, { code: "bridge_misconfigured" });
    // A create is refused before the upstream makes anything it could not give back to its key alone.
    const create = await call("/v1/responses", { method: "POST", headers: { authorization: `Bearer ${ALICE}`, "content-type": "application/json" }, body: JSON.stringify({ model: "gpt-5", input: "hi" }) });
    await expectError(create, 500, { code: "bridge_misconfigured" });
    expect(await upstreamCalls()).toBe(0);
  });
});
