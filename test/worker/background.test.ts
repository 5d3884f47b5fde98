import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { partitionOf } from "../../worker/cloudflare/durable-store.ts";
import { BRIDGE, events, post, seen } from "./bridge.ts";

type Ev = { type: string; sequence_number: number; response?: { id: string; status: string; background?: boolean; output?: unknown[] }; delta?: string };
type Resp = { id: string; status: string; background: boolean; store: boolean; output: Array<{ content?: Array<{ text?: string }> }>; error: { code: string; message: string } | null };

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
    expect(text(done)).toBe(Array.from({ length: 12 }, (_x, i) => `w${i} `).join(""));
    const items = await (await get(`/v1/responses/${queued.id}/input_items`)).json() as { data: unknown[] };
    expect(items.data).toHaveLength(1);
    const next = await post("/v1/responses", { model: "scripted-text", input: "More.", previous_response_id: queued.id });
    expect(next.status).toBe(200);
  });
});
