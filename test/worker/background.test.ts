import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { partitionOf, shardOf } from "../../worker/cloudflare/durable-store.ts";
import { BRIDGE, events, post, seen, withEnv } from "./bridge.ts";

type Ev = { type: string; sequence_number: number; response?: { id: string; status: string; background?: boolean; output?: unknown[] }; delta?: string };
type Resp = { id: string; created_at: number; status: string; background: boolean; store: boolean; output: Array<{ content?: Array<{ text?: string }> }>; error: { code: string; message: string } | null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const get = (path: string, headers: Record<string, string> = {}) => exports.default.fetch(`${BRIDGE}${path}`, { headers });
const create = async (body: Record<string, unknown>, headers: Record<string, string> = {}) => {
  const r = await post("/v1/responses", { input: "Count.", background: true, ...body }, headers);
  expect(r.status).toBe(200);
  return (await r.json()) as Resp;
};
const retrieve = async (id: string, headers: Record<string, string> = {}) => (await (await get(`/v1/responses/${id}`, headers)).json()) as Resp;
/** Polls until the response leaves queued/in_progress (bounded). */
async function settled(id: string, headers: Record<string, string> = {}): Promise<Resp> {
  for (let i = 0; i < 400; i++) {
    const r = await retrieve(id, headers);
    if (r.status !== "queued" && r.status !== "in_progress") return r;
    await sleep(50);
  }
  throw new Error(`${id} never finished`);
}
const replay = async (id: string, after?: number) => events(await (await get(`/v1/responses/${id}?stream=true${after === undefined ? "" : `&starting_after=${after}`}`)).text()) as Ev[];
const text = (r: Resp) => r.output.flatMap((i) => i.content ?? []).map((c) => c.text ?? "").join("");
const expectConsecutive = (evs: Ev[], from: number) => expect(evs.map((e) => e.sequence_number)).toEqual(evs.map((_e, i) => from + i));

describe("background responses", () => {
  it("create answers queued at once, GET shows in_progress, then completed; stored like any response", async () => {
    const queued = await create({ model: "scripted-paced-12-40" });
    expect(queued).toMatchObject({ object: "response", status: "queued", background: true, store: true, output: [] });
    expect(queued.id).toMatch(/^resp_/);
    let sawInProgress = false;
    for (let i = 0; i < 100 && !sawInProgress; i++) {
      sawInProgress = (await retrieve(queued.id)).status === "in_progress";
      if (!sawInProgress) await sleep(20);
    }
    expect(sawInProgress).toBe(true);
    const done = await settled(queued.id);
    expect(done.status).toBe("completed");
    expect(done.background).toBe(true);
    // Created once: the time `create` answered stays (the upstream's chunks carry a `created` of their own).
    expect(done.created_at).toBe(queued.created_at);
    expect(queued.created_at).not.toBe(1_761_000_000);
    expect(text(done)).toBe(Array.from({ length: 12 }, (_x, i) => `w${i} `).join(""));
    const items = await (await get(`/v1/responses/${queued.id}/input_items`)).json() as { data: unknown[] };
    expect(items.data).toHaveLength(1);
    const next = await post("/v1/responses", { model: "scripted-text", input: "More.", previous_response_id: queued.id });
    expect(next.status).toBe(200);
  });

  it("background + stream streams every event numbered from 0, response.created saying queued; the same GET replays it whole afterwards", async () => {
    const r = await post("/v1/responses", { model: "scripted-paced-6-10", input: "Count.", background: true, stream: true });
    expect(r.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const evs = events(await r.text()) as Ev[];
    // OpenAI's (and Open Responses') beginning of a background stream: created and queued, both `queued`, then in_progress.
    expect(evs[0]).toMatchObject({ type: "response.created", sequence_number: 0, response: { status: "queued", background: true } });
    expect(evs[1]).toMatchObject({ type: "response.queued", sequence_number: 1, response: { status: "queued", background: true, output: [] } });
    expect(evs[2]).toMatchObject({ type: "response.in_progress", sequence_number: 2, response: { status: "in_progress" } });
    expect(evs.at(-1)).toMatchObject({ type: "response.completed", response: { status: "completed" } });
    expectConsecutive(evs, 0);
    const id = evs[0]!.response!.id;
    expect(await replay(id)).toEqual(evs);
    expect(await replay(id, 4)).toEqual(evs.slice(5));
    expect(await replay(id, evs.length - 1)).toEqual([]);
    const bad = await get(`/v1/responses/${id}?stream=true&starting_after=two`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: unknown }).error).toMatchObject({ param: "starting_after", code: "invalid_value" });
  });

  it("a reader attaching mid-run with starting_after gets what came after it, then follows live to the end; two readers see the same events", async () => {
    const { id } = await create({ model: "scripted-paced-30-30" });
    for (let i = 0; i < 200 && (await retrieve(id)).status !== "in_progress"; i++) await sleep(10);
    await sleep(200);
    const [a, b, whole] = await Promise.all([replay(id, 3), replay(id, 3), replay(id)]);
    expect(a[0]!.sequence_number).toBe(4);
    expectConsecutive(a, 4);
    expect(a.at(-1)!.type).toBe("response.completed");
    expect(b).toEqual(a);
    expectConsecutive(whole, 0);
    expect(whole.slice(4)).toEqual(a);
    expect(whole.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("")).toBe(Array.from({ length: 30 }, (_x, i) => `w${i} `).join(""));
  });

  it("the run's upstream request carries the create's request id (so does its log line)", async () => {
    for (const sent of [{ "x-request-id": "trace-bg-7" }, {}] as Array<Record<string, string>>) {
      const r = await post("/v1/responses", { model: "scripted-text", input: "Id?", background: true }, sent);
      const requestId = r.headers.get("x-request-id")!;
      expect(requestId).toMatch("x-request-id" in sent ? /^trace-bg-7$/ : /^req_/);
      await settled(((await r.json()) as Resp).id);
      const upstream = (await seen()).requests.filter((q) => q.url.endsWith("/chat/completions")).at(-1)!;
      expect(upstream.headers["x-request-id"]).toBe(requestId);
    }
  });

  it("a reader that disconnects stops nothing: the run completes without it", async () => {
    const r = await post("/v1/responses", { model: "scripted-paced-20-20", input: "Count.", background: true, stream: true });
    const reader = r.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const id = (JSON.parse(first.split("\n")[1]!.slice(6)) as Ev).response!.id;
    await reader.cancel();
    const done = await settled(id);
    expect(done.status).toBe("completed");
    // The whole answer, every word the upstream sent after the reader left. (Not `seen().cancelled`: Miniflare's outbound
    // service never sees an upstream fetch cancelled, so it could not tell; test/e2e counts cancels against wrangler dev.)
    expect(text(done)).toBe(Array.from({ length: 20 }, (_x, i) => `w${i} `).join(""));
    expect((await replay(id)).at(-1)!.type).toBe("response.completed");
  });

  it("store: false with background: true is OpenAI's 400", async () => {
    const r = await post("/v1/responses", { model: "scripted-text", input: "x", background: true, store: false });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: unknown }).error).toMatchObject({ message: "background can only be used when `store` is true", type: "invalid_request_error", param: "background", code: "invalid_value" });
  });

  it("conversation beside previous_response_id, or a malformed conversation, is OpenAI's 400 at create (no run begins)", async () => {
    const both = await post("/v1/responses", { model: "scripted-text", input: "x", background: true, previous_response_id: "resp_0123456789abcdef0123456789abcdef", conversation: "conv_0123456789abcdef0123456789abcdef" });
    expect(both.status).toBe(400);
    expect(((await both.json()) as { error: unknown }).error).toMatchObject({ message: "Mutually exclusive parameters. Ensure you are only providing one of: 'previous_response_id' or 'conversation'.", param: null, code: "mutually_exclusive_parameters" });
    const bad = await post("/v1/responses", { model: "scripted-text", input: "x", background: true, conversation: "nope" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: unknown }).error).toMatchObject({ param: "conversation", code: "invalid_value" });
  });

  it("a request the bridge refuses (an unknown previous_response_id) is refused by create itself, as in the foreground: no run", async () => {
    const r = await post("/v1/responses", { model: "scripted-text", input: "x", background: true, previous_response_id: "resp_0123456789abcdef0123456789abcdef" });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: unknown }).error).toMatchObject({ code: "previous_response_not_found", message: "Previous response with id 'resp_0123456789abcdef0123456789abcdef' not found." });
  });

  it("a run the upstream refuses before it begins ends failed with the upstream's error", async () => {
    const queued = await create({ model: "scripted-401" });
    const id = queued.id;
    const done = await settled(id);
    expect(done.status).toBe("failed");
    expect(done.error?.code).toBe("invalid_api_key");
    const evs = await replay(id);
    expect(evs.map((e) => e.type)).toEqual(["response.created", "response.queued", "response.failed"]);
    expectConsecutive(evs, 0);
    expect(evs[0]!.response).toEqual(queued);
    expect(evs[1]!.response).toEqual(evs[0]!.response);
  });
});

describe("cancel", () => {
  it("stops the upstream and ends the run cancelled; a live reader gets the terminal event; cancelling again returns it unchanged", async () => {
    const { id } = await create({ model: "scripted-paced-80-30" });
    for (let i = 0; i < 200 && (await retrieve(id)).status !== "in_progress"; i++) await sleep(10);
    const reading = replay(id, -1);
    await sleep(150);
    const c = await post(`/v1/responses/${id}/cancel`, "");
    expect(c.status).toBe(200);
    const cancelled = (await c.json()) as Resp;
    expect(cancelled).toMatchObject({ id, status: "cancelled", background: true });
    const evs = await reading;
    expectConsecutive(evs, 0);
    expect(evs.at(-1)).toMatchObject({ type: "response.cancelled", response: { status: "cancelled" } });
    expect(evs.filter((e) => e.type === "response.output_text.delta").length).toBeLessThan(80);
    expect((await settled(id)).status).toBe("cancelled");
    const again = (await (await post(`/v1/responses/${id}/cancel`, "")).json()) as Resp;
    expect(again.status).toBe("cancelled");
  });

  it("a cancel racing the last event: exactly one terminal event, and GET, cancel and the stream agree", async () => {
    for (const wait of [60, 90, 120]) {
      const { id } = await create({ model: "scripted-paced-4-20" });
      await sleep(wait);
      const answered = (await (await post(`/v1/responses/${id}/cancel`, "")).json()) as Resp;
      const evs = await replay(id);
      const terminals = evs.filter((e) => ["response.completed", "response.cancelled", "response.failed", "response.incomplete"].includes(e.type));
      expect(terminals).toHaveLength(1);
      expect(evs.at(-1)).toBe(terminals[0]);
      expectConsecutive(evs, 0);
      const final = await settled(id);
      expect(terminals[0]!.response!.status).toBe(answered.status);
      expect(final.status).toBe(answered.status);
    }
  });

  it("a cancel before the upstream has answered ends the run cancelled at once", async () => {
    const { id } = await create({ model: "scripted-slow" });
    const c = (await (await post(`/v1/responses/${id}/cancel`, "")).json()) as Resp;
    expect(c).toMatchObject({ id, status: "cancelled" });
    expect((await replay(id)).map((e) => e.type)).toEqual(["response.created", "response.queued", "response.cancelled"]);
    expect((await retrieve(id)).status).toBe("cancelled");
  });

  it("cancelling a finished background response returns it unchanged", async () => {
    const { id } = await create({ model: "scripted-text" });
    const done = await settled(id);
    expect(done.status).toBe("completed");
    const c = await post(`/v1/responses/${id}/cancel`, "");
    expect(c.status).toBe(200);
    expect(await c.json()).toEqual(done);
  });

  it("a response not created in the background is OpenAI's 400; an unknown id a 404", async () => {
    const r = (await (await post("/v1/responses", { model: "scripted-text", input: "x" })).json()) as Resp;
    const c = await post(`/v1/responses/${r.id}/cancel`, "");
    expect(c.status).toBe(400);
    expect(((await c.json()) as { error: unknown }).error).toMatchObject({ message: "Cannot cancel a synchronous response.", type: "invalid_request_error", param: null, code: null });
    const s = await get(`/v1/responses/${r.id}?stream=true`);
    expect(s.status).toBe(400);
    const u = await post("/v1/responses/resp_00000000000000000000000000000000/cancel", "");
    expect(u.status).toBe(404);
  });

  it("another credential's background response is a 404 on every path", async () => {
    const mine = { authorization: "Bearer sk-bg-mine" };
    const theirs = { authorization: "Bearer sk-bg-theirs" };
    const { id } = await create({ model: "scripted-paced-10-20" }, mine);
    for (const r of [await get(`/v1/responses/${id}`, theirs), await get(`/v1/responses/${id}?stream=true`, theirs), await post(`/v1/responses/${id}/cancel`, "", theirs)]) {
      expect(r.status).toBe(404);
      expect(((await r.json()) as { error: { message: string } }).error.message).toBe(`Response with id '${id}' not found.`);
    }
    expect((await settled(id, mine)).status).toBe("completed");
  });
});

describe("the run's object", () => {
  const stubOf = async (id: string) => env.BACKGROUND_RUNS.get(env.BACKGROUND_RUNS.idFromName(`${await partitionOf(null)}:run:${id}`));

  it("a run interrupted by the object's restart ends failed when next looked at, its events kept", async () => {
    const { id } = await create({ model: "scripted-paced-60-25" });
    for (let i = 0; i < 200 && (await retrieve(id)).status !== "in_progress"; i++) await sleep(10);
    await sleep(400);
    const stub = await stubOf(id);
    await runInDurableObject(stub, (_o, state) => state.abort("test: restart")).catch(() => {});
    const r = await retrieve(id);
    expect(r.status).toBe("failed");
    expect(r.error?.code).toBe("server_error");
    expect(r.error?.message).toMatch(/interrupted/);
    const evs = await replay(id);
    expectConsecutive(evs, 0);
    expect(evs.at(-1)!.type).toBe("response.failed");
    expect(evs.length).toBeGreaterThan(2);
  });

  it("a live reader across the object's restart: every event it saw is kept, no sequence_number reused for another event", async () => {
    const { id } = await create({ model: "scripted-paced-80-25" });
    for (let i = 0; i < 200 && (await retrieve(id)).status !== "in_progress"; i++) await sleep(10);
    const res = await get(`/v1/responses/${id}?stream=true`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let got = "";
    const reading = (async () => {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          got += decoder.decode(value, { stream: true });
        }
      } catch {
        // The object it read from went away.
      }
    })();
    // Mid-run, between batch writes as often as not (the upstream sends a token every 25 ms).
    for (let i = 0; i < 200 && (got.match(/event: response\.output_text\.delta\n/g) ?? []).length < 8; i++) await sleep(10);
    await sleep(37);
    await runInDurableObject(await stubOf(id), (_o, state) => state.abort("test: restart")).catch(() => {});
    await Promise.race([reading, sleep(5_000)]);
    await reader.cancel().catch(() => {});
    const saw = events(got.slice(0, got.lastIndexOf("\n\n") + 2)) as Ev[];
    expect(saw.filter((e) => e.type === "response.output_text.delta").length).toBeGreaterThanOrEqual(8);
    expect(saw.some((e) => e.type === "response.completed")).toBe(false);
    const r = await retrieve(id);
    expect(r.status).toBe("failed");
    expect(r.error?.message).toMatch(/interrupted/);
    const after = await replay(id);
    expectConsecutive(after, 0);
    expect(after.at(-1)!.type).toBe("response.failed");
    // Each number the live reader had names the same event after the restart: what it saw is a prefix of what was kept.
    const kept = new Map(after.map((e) => [e.sequence_number, JSON.stringify(e)]));
    for (const e of saw) expect(kept.get(e.sequence_number)).toBe(JSON.stringify(e));
    expect(after.slice(0, saw.length)).toEqual(saw);
    // Resuming after its last event gives the rest, ending with the failure.
    expect(await replay(id, saw.at(-1)!.sequence_number)).toEqual(after.slice(saw.length));
  });

  it("the alarm ends an interrupted run even when nobody looks", async () => {
    const { id } = await create({ model: "scripted-paced-60-25" });
    await sleep(300);
    const stub = await stubOf(id);
    await runInDurableObject(stub, (_o, state) => state.abort("test: restart")).catch(() => {});
    // A stub of the aborted instance stays broken: a new one reaches the new instance, which the alarm wakes.
    const fresh = await stubOf(id);
    expect(await runDurableObjectAlarm(fresh)).toBe(true);
    const status = await runInDurableObject(fresh, (_o, state) => state.storage.sql.exec<{ status: string }>("SELECT status FROM run").one().status);
    expect(status).toBe("failed");
  });

  it("retention: the run is kept until it expires like a stored response, then its alarm deletes everything", async () => {
    const { id } = await create({ model: "scripted-text" });
    await settled(id);
    const stub = await stubOf(id);
    const { alarm, expires } = await runInDurableObject(stub, async (_o, state) => ({ alarm: await state.storage.getAlarm(), expires: state.storage.sql.exec<{ e: number }>("SELECT expires_at AS e FROM run").one().e }));
    expect(alarm).toBe(expires);
    expect(expires - Date.now()).toBeGreaterThan(29 * 86_400_000);
    await runInDurableObject(stub, (_o, state) => void state.storage.sql.exec("UPDATE run SET expires_at = ?", Date.now() - 1));
    expect(await stub.get()).toBeNull();
    expect(await stub.events(-1)).toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const left = await runInDurableObject(stub, (_o, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf%'").toArray().length);
    expect(left).toBe(0);
  });

  it("an event and a final Response longer than a stored value are kept in parts and read back whole", async () => {
    const { id } = await create({ model: "scripted-huge-1200000" });
    const done = await settled(id);
    expect(text(done)).toHaveLength(1_200_000);
    const stub = await stubOf(id);
    const parts = await runInDurableObject(stub, (_o, state) => state.storage.sql.exec<{ n: number; longest: number }>("SELECT COUNT(*) AS n, MAX(LENGTH(text)) AS longest FROM log").one());
    expect(parts.longest).toBeLessThanOrEqual(500_000);
    expect(parts.n).toBeGreaterThan(4);
    // The object's own copy (what GET serves before the store has it) comes from the terminal event's parts.
    const own = JSON.parse((await stub.get())!) as Resp;
    expect(own).toEqual(done);
    const evs = await replay(id);
    expectConsecutive(evs, 0);
    expect(evs.find((e) => e.type === "response.output_text.delta")!.delta).toHaveLength(1_200_000);
    const after = await replay(id, evs.findIndex((e) => e.type === "response.output_text.delta"));
    expect(after[0]!.type).not.toBe("response.output_text.delta");
    expect(after.at(-1)!.type).toBe("response.completed");
  });

  it("a compaction turn (compaction_trigger) runs in the background too", async () => {
    const { id, created_at } = await create({ model: "scripted-text", input: [{ role: "user", content: "Weather in Paris?" }, { role: "assistant", content: "Sunny." }, { type: "compaction_trigger" }] });
    const done = await settled(id);
    expect(done.created_at).toBe(created_at);
    expect(done.status).toBe("completed");
    expect(done.id).toBe(id);
    expect((done.output as Array<{ type?: string }>).map((i) => i.type)).toContain("compaction");
    const evs = await replay(id);
    for (const e of evs) if (e.response) expect(e.response.id).toBe(id);
    expectConsecutive(evs, 0);
    expect(evs[0]).toMatchObject({ type: "response.created", response: { status: "queued" } });
    expect(evs[1]).toMatchObject({ type: "response.queued", response: { status: "queued" } });
  });

  it("asking about an id that has no run leaves its object without storage", async () => {
    const r = (await (await post("/v1/responses", { model: "scripted-text", input: "x" })).json()) as Resp;
    expect((await get(`/v1/responses/resp_00000000000000000000000000000001`)).status).toBe(404);
    expect((await post(`/v1/responses/${r.id}/cancel`, "")).status).toBe(400);
    for (const id of [r.id, "resp_00000000000000000000000000000001"]) {
      const tables = await runInDurableObject(await stubOf(id), (_o, state) => state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf%'").toArray().length);
      expect(tables).toBe(0);
    }
  });

  it("DELETE removes the run with the stored response", async () => {
    const { id } = await create({ model: "scripted-text" });
    await settled(id);
    const d = await exports.default.fetch(`${BRIDGE}/v1/responses/${id}`, { method: "DELETE" });
    expect(d.status).toBe(200);
    expect((await get(`/v1/responses/${id}`)).status).toBe(404);
    expect((await get(`/v1/responses/${id}?stream=true`)).status).toBe(404);
  });
});

describe("background with the other features", () => {
  type Item = { id: string; type: string; role?: string; content?: Array<{ text?: string }> };
  const items = async (conv: string) => ((await (await get(`/v1/conversations/${conv}/items?order=asc`)).json()) as { data: Item[] }).data;

  it("conversation: the queued response says so, takes the conversation's shard, and the finished run is appended to it", async () => {
    const conv = (await (await post("/v1/conversations", { items: [{ type: "message", role: "user", content: "Earlier." }] })).json()) as { id: string };
    const queued = (await create({ model: "scripted-paced-3-10", input: "Count.", conversation: conv.id })) as Resp & { conversation: { id: string } | null };
    expect(queued.conversation).toEqual({ id: conv.id });
    expect(shardOf(queued.id)).toBe(shardOf(conv.id));
    const done = (await settled(queued.id)) as Resp & { conversation: { id: string } | null };
    expect(done.status).toBe("completed");
    expect(done.conversation).toEqual({ id: conv.id });
    const after = await items(conv.id);
    expect(after.map((i) => i.role)).toEqual(["user", "user", "assistant"]);
    expect(after.at(-1)!.content!.map((c) => c.text).join("")).toBe("w0 w1 w2 ");
    // The next turn in the conversation carries the background turn.
    await post("/v1/responses", { model: "scripted-text", input: "Next.", conversation: conv.id });
    const upstream = (await seen()).requests.filter((q) => q.url.endsWith("/chat/completions")).at(-1)!.body as { messages: Array<{ content: unknown }> };
    expect(JSON.stringify(upstream.messages)).toContain("w0 w1 w2");
  });

  it("previous_response_id: a background run continues a stored turn, and a foreground turn continues the background one", async () => {
    const first = (await (await post("/v1/responses", { model: "scripted-text", input: "First." })).json()) as Resp;
    const queued = await create({ model: "scripted-paced-2-10", input: "Second.", previous_response_id: first.id });
    expect(shardOf(queued.id)).toBe(shardOf(first.id));
    expect((await settled(queued.id)).status).toBe("completed");
    const sent = (await seen()).requests.filter((q) => q.url.endsWith("/chat/completions")).at(-1)!.body as { messages: Array<{ content: unknown }> };
    expect(JSON.stringify(sent.messages)).toContain("First.");
    const third = await post("/v1/responses", { model: "scripted-text", input: "Third.", previous_response_id: queued.id });
    expect(third.status).toBe(200);
    const last = (await seen()).requests.filter((q) => q.url.endsWith("/chat/completions")).at(-1)!.body as { messages: Array<{ content: unknown }> };
    expect(JSON.stringify(last.messages)).toContain("Second.");
    expect(JSON.stringify(last.messages)).toContain("w0 w1");
  });

  it("DELETE during a run stops it and forgets it: nothing comes back once the cancelled run has settled", async () => {
    const { id } = await create({ model: "scripted-paced-80-30" });
    for (let i = 0; i < 200 && (await retrieve(id)).status !== "in_progress"; i++) await sleep(10);
    await sleep(150);
    const d = await exports.default.fetch(`${BRIDGE}/v1/responses/${id}`, { method: "DELETE" });
    expect(d.status).toBe(200);
    expect(await d.json()).toEqual({ id, object: "response", deleted: true });
    // (Miniflare's outbound service does not see the upstream fetch cancelled; test/e2e counts that.)
    await sleep(300);
    for (const r of [await get(`/v1/responses/${id}`), await get(`/v1/responses/${id}?stream=true`), await post(`/v1/responses/${id}/cancel`, "")]) expect(r.status).toBe(404);
  });

  it("context_management: a background run over the threshold compacts first, its output starting with the compaction item", async () => {
    const words = (w: string) => Array.from({ length: 40 }, () => w).join(" ");
    const input = [
      { role: "user", content: `First question: ${words("alpha")}` },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: `First answer: ${words("beta")}` }] },
      { role: "user", content: "What is the code word?" },
    ];
    const { id } = await create({ model: "scripted-count", input, context_management: [{ type: "compaction", compact_threshold: 50 }] });
    const done = await settled(id);
    expect(done.status).toBe("completed");
    expect((done.output as Array<{ type: string }>).map((i) => i.type)).toEqual(["compaction", "message"]);
    const evs = await replay(id);
    expectConsecutive(evs, 0);
    expect(evs.slice(0, 4).map((e) => e.type)).toEqual(["response.created", "response.queued", "response.in_progress", "response.output_item.added"]);
  });

  it("DELETE by another credential is a 404 and leaves the run alone", async () => {
    const mine = { authorization: "Bearer sk-bg-del-mine" };
    const { id } = await create({ model: "scripted-text" }, mine);
    await settled(id, mine);
    const d = await exports.default.fetch(`${BRIDGE}/v1/responses/${id}`, { method: "DELETE", headers: { authorization: "Bearer sk-bg-del-theirs" } });
    expect(d.status).toBe(404);
    expect((await retrieve(id, mine)).status).toBe("completed");
    expect((await get(`/v1/responses/${id}?stream=true`, mine)).status).toBe(200);
  });
});

describe("with UPSTREAM_API=responses", () => {
  it("the upstream runs background responses itself: cancel and the resumed stream are forwarded unchanged", async () => {
    const asked: string[] = [];
    const call = withEnv({ UPSTREAM_API: "responses", UPSTREAM_API_KEY: "sk-up" }, async (input) => {
      asked.push(String(input));
      return Response.json({ id: "resp_up", object: "response", status: "cancelled", background: true });
    });
    const c = await call("/v1/responses/resp_up/cancel", { method: "POST" });
    expect(c.status).toBe(200);
    expect(await c.json()).toMatchObject({ id: "resp_up", status: "cancelled" });
    await call("/v1/responses/resp_up?stream=true&starting_after=3");
    expect(asked).toEqual(["http://upstream.test/v1/responses/resp_up/cancel", "http://upstream.test/v1/responses/resp_up?stream=true&starting_after=3"]);
  });
});
