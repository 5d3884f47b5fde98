import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// The Open Responses compliance suite's WebSocket cases, reproduced against wrangler dev: the suite itself is not
// on npm (it runs from a clone of github.com/openresponses/openresponses, `bun run test:compliance`), so its CLI
// cannot run here. Each case follows the spec's rule it checks (src/specifications, WebSocket mode):
// continuation by previous_response_id from the connection's own store: false responses; a new connection starts
// with an empty cache; an unknown id is `previous_response_not_found`; and "if a continuation turn fails with a
// 4xx or 5xx error, the server MUST evict the referenced previous_response_id from the connection-local cache".
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());
beforeEach(() => {
  seen.requests.length = 0;
  seen.cancelled = 0;
});

type Frame = { type: string; sequence_number?: number; status?: number; error?: { code: string; message: string; param: string | null }; response?: { id: string; status: string; output: Array<{ type: string; call_id?: string }> } };
const TERMINAL = new Set(["response.completed", "response.failed", "response.incomplete"]);

/** A socket to the Worker with a queue of parsed frames; `turn()` reads up to a terminal event or an error frame. */
async function open(): Promise<{ ws: WebSocket; turn(): Promise<Frame[]> }> {
  const ws = new WebSocket(`${stack.url.replace("http", "ws")}/v1/responses`, { headers: { authorization: "Bearer sk-client" } } as never);
  const inbox: Frame[] = [];
  let wake: (() => void) | null = null;
  ws.onmessage = ({ data }) => {
    inbox.push(JSON.parse(String(data)) as Frame);
    wake?.();
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error(`WebSocket did not open:\n${stack.output()}`));
  });
  const next = async (): Promise<Frame> => {
    const deadline = Date.now() + 20_000;
    while (!inbox.length) {
      if (Date.now() > deadline) throw new Error(`no frame in time\n${stack.output()}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
    return inbox.shift()!;
  };
  return {
    ws,
    async turn() {
      const out: Frame[] = [];
      for (;;) {
        const f = await next();
        out.push(f);
        if (TERMINAL.has(f.type) || f.type === "error") return out;
      }
    },
  };
}

const create = (ws: WebSocket, body: object) => ws.send(JSON.stringify({ type: "response.create", model: "scripted-text", store: false, ...body }));
const WEATHER_TOOL = { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };
const notFound = { type: "error", status: 400, error: { code: "previous_response_not_found", param: "previous_response_id" } };

describe("Open Responses compliance, WebSocket mode, against wrangler dev", () => {
  it("websocket-response and sequential responses: each is SSE's events as frames, numbered from 0, ending in response.completed", async () => {
    const { ws, turn } = await open();
    for (const input of ["one", "two"]) {
      create(ws, { input });
      const frames = await turn();
      expect(frames[0]!.type).toBe("response.created");
      expect(frames.map((f) => f.sequence_number)).toEqual(frames.map((_, i) => i));
      expect(frames.at(-1)!.type).toBe("response.completed");
    }
    ws.close();
  });

  it("websocket-continuation: a store: false response continues on its connection", async () => {
    const { ws, turn } = await open();
    create(ws, { input: "Name a colour." });
    const first = (await turn()).at(-1)!.response!;
    create(ws, { previous_response_id: first.id, input: "Another one." });
    expect((await turn()).at(-1)!.type).toBe("response.completed");
    expect((seen.requests.at(-1)!.body as { messages: unknown[] }).messages).toHaveLength(3);
    ws.close();
  });

  it("store false reconnect recovery and a missing previous response: previous_response_not_found, then the full history works", async () => {
    const a = await open();
    create(a.ws, { input: "Name a colour." });
    const first = (await a.turn()).at(-1)!.response!;
    a.ws.close();
    const b = await open();
    create(b.ws, { previous_response_id: first.id, input: "Another one." });
    expect(await b.turn()).toMatchObject([notFound]);
    create(b.ws, { previous_response_id: "resp_never_made", input: "x" });
    expect(await b.turn()).toMatchObject([notFound]);
    create(b.ws, { input: [{ role: "user", content: "Name a colour." }, { role: "assistant", content: "Blue." }, { role: "user", content: "Another one." }] });
    expect((await b.turn()).at(-1)!.type).toBe("response.completed");
    b.ws.close();
  });

  it("websocket-failed-continuation-evicts-cache: a continuation that fails with a 400 evicts its previous response", async () => {
    const { ws, turn } = await open();
    create(ws, { model: "scripted-tools", tools: [WEATHER_TOOL], input: "Weather in Paris?" });
    const first = (await turn()).at(-1)!.response!;
    expect(first.output.at(-1)).toMatchObject({ type: "function_call" });
    create(ws, { model: "scripted-tools", tools: [WEATHER_TOOL], previous_response_id: first.id, input: [{ type: "function_call_output", call_id: "call_does_not_exist", output: "18°C" }] });
    expect(await turn()).toMatchObject([{ type: "error", status: 400, error: { message: "No tool call found for function call output with call_id call_does_not_exist.", param: "input" } }]);
    create(ws, { model: "scripted-tools", tools: [WEATHER_TOOL], previous_response_id: first.id, input: [{ type: "function_call_output", call_id: first.output.at(-1)!.call_id, output: "18°C" }] });
    expect(await turn()).toMatchObject([notFound]);
    ws.close();
  });

  it("websocket-compact-new-chain: a compacted history (POST /responses/compact, or a compaction_trigger on the socket) starts a new chain", async () => {
    const res = await fetch(`${stack.baseURL}/responses/compact`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer sk-client" },
      body: JSON.stringify({ model: "scripted-text", input: [{ role: "user", content: "Plan a trip" }, { role: "assistant", content: "Paris, then Lyon." }] }),
    });
    expect(res.status).toBe(200);
    const { output } = (await res.json()) as { output: unknown[] };
    const { ws, turn } = await open();
    create(ws, { input: [...output, { role: "user", content: "How long in Lyon?" }] });
    const chain = (await turn()).at(-1)!.response!;
    expect(chain.status).toBe("completed");
    create(ws, { previous_response_id: chain.id, input: [{ type: "compaction_trigger" }] });
    const compacted = await turn();
    expect(compacted.map((f) => f.type)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.output_item.done", "response.completed"]);
    create(ws, { previous_response_id: compacted.at(-1)!.response!.id, input: "And then?" });
    expect((await turn()).at(-1)!.type).toBe("response.completed");
    expect(JSON.stringify(seen.requests.at(-1)!.body)).toContain("Summary of the earlier part of this conversation");
    ws.close();
  });
});
