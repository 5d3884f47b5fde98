import { createOpenAI } from "@ai-sdk/openai";
import { HumanMessage, ToolMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { Agent, OpenAIConversationsSession, OpenAIProvider, Runner, tool } from "@openai/agents";
import { generateText, stepCountIs, streamText, tool as aiTool } from "ai";
import OpenAI, { NotFoundError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Recorded, recordingProxy } from "../support/recording-proxy.ts";
import { scriptedGemini } from "../support/scripted-gemini.ts";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack, startTogether } from "../support/stack.ts";
import { type CodexRun, runCodex } from "./codex.ts";

// This round's features together, as a user meets them with the real clients → wrangler dev → a scripted upstream:
// two proxy keys on the Worker's own store (background runs, conversations, token counts), a background stream
// dropped at once and resumed by another client, the AI SDK 7's contextManagement inside a conversation, and the
// Agents SDK's OpenAIConversationsSession with a tool on Gemini 3 (signatures back from the conversation).
const ALICE = "sk-alice-combinations-0123";
const BOB = "sk-bob-combinations-0123";
const gemini = scriptedGemini({ refuseFields: true });
let stack: Stack;
let geminiStack: Stack;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
/** Codex's built-in model, routed to a model that finds the MCP tool with tool_search, then calls it (and reads a compaction summary as done). */
const SEARCHER = "scripted-search-once@mcp__demo__echo";

beforeAll(async () => {
  [stack, geminiStack] = await startTogether(
    startStack({ PROXY_API_KEYS: `${ALICE},${BOB}`, MODEL_MAP: JSON.stringify({ "gpt-5-counted": "scripted-count", "gpt-5.5": SEARCHER }) }),
    startStack({}, gemini.handler),
    (s) => s.stop(),
  );
  proxy = await recordingProxy(stack.url);
});
afterAll(async () => {
  await proxy?.close();
  await Promise.all([stack?.stop(), geminiStack?.stop()]);
});

const sdk = (key: string, baseURL = stack.baseURL) => new OpenAI({ apiKey: key, baseURL, maxRetries: 0 });
type Chat = { model?: string; max_tokens?: number; messages: Array<{ role: string; content: unknown }> };
const chats = () => seen.requests.filter((r) => r.url.endsWith("/chat/completions")).map((r) => r.body as Chat);
const turnsOf = (chat: Chat) => chat.messages.map((m) => [m.role, typeof m.content === "string" ? m.content : JSON.stringify(m.content)]);
const textOf = (item: { type: string; content?: unknown }) => (item.content as Array<{ text?: string }> | undefined)?.map((c) => c.text ?? "").join("");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WORDS = (n: number) => Array.from({ length: n }, (_x, i) => `w${i} `).join("");

async function settled(client: OpenAI, id: string): Promise<OpenAI.Responses.Response> {
  for (let i = 0; i < 300; i++) {
    const r = await client.responses.retrieve(id);
    if (r.status !== "queued" && r.status !== "in_progress") return r;
    await sleep(100);
  }
  throw new Error(`${id} never finished`);
}
async function listed(client: OpenAI, conversation: string): Promise<Array<[string, string | undefined]>> {
  const out: Array<[string, string | undefined]> = [];
  for await (const item of client.conversations.items.list(conversation, { order: "asc" })) out.push([item.type, textOf(item as never)]);
  return out;
}

describe("the openai SDK: background + conversation + inputTokens.count, two keys", () => {
  it("a background stream in a conversation, dropped at once, resumed by a second client; counted, continued, and private to its key", async () => {
    const alice = sdk(ALICE);
    const conversation = await alice.conversations.create({ items: [{ type: "message", role: "user", content: "I am Ada." }, { type: "message", role: "assistant", content: "Hi Ada." }] });

    // What the next turn will cost, counted by the upstream with the conversation expanded.
    const count = await alice.responses.inputTokens.count({ model: "gpt-5-counted", input: "Count to twenty.", conversation: conversation.id });
    expect(count).toEqual({ object: "response.input_tokens", input_tokens: 4 + 3 + 4 });
    expect(chats().at(-1)).toMatchObject({ model: "scripted-count", max_tokens: 1 });

    // A client that starts a background stream and disconnects after its first event.
    const stream = await alice.responses.create({ model: "scripted-paced-20-40", input: "Count to twenty.", background: true, stream: true, conversation: conversation.id });
    let id = "";
    let last = -1;
    for await (const event of stream) {
      last = event.sequence_number;
      if (event.type === "response.created") id = event.response.id;
      break;
    }
    stream.controller.abort();
    expect(id).toMatch(/^resp_/);

    // Another client, later, resumes after the last event the first one saw, to the end.
    const resumed: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of await sdk(ALICE).responses.retrieve(id, { stream: true, starting_after: last })) resumed.push(event);
    expect(resumed[0]!.sequence_number).toBe(last + 1);
    expect(resumed.map((e) => e.sequence_number)).toEqual(resumed.map((_e, i) => last + 1 + i));
    expect(resumed.at(-1)).toMatchObject({ type: "response.completed", response: { status: "completed", conversation: { id: conversation.id } } });
    expect(resumed.filter((e) => e.type === "response.output_text.delta").map((e) => (e as { delta: string }).delta).join("")).toBe(WORDS(20));

    // The run joined the conversation; the next turn there sees it.
    expect(await listed(alice, conversation.id)).toEqual([
      ["message", "I am Ada."],
      ["message", "Hi Ada."],
      ["message", "Count to twenty."],
      ["message", WORDS(20)],
    ]);
    const next = await alice.responses.create({ model: "scripted-text", input: "Who am I?", conversation: conversation.id });
    expect(next.conversation).toEqual({ id: conversation.id });
    expect(turnsOf(chats().at(-1)!).map(([r]) => r)).toEqual(["user", "assistant", "user", "assistant", "user"]);

    // Bob sees none of it: the run, its stream, cancel, the conversation, counting in it.
    const bob = sdk(BOB);
    for (const attempt of [
      () => bob.responses.retrieve(id),
      () => bob.responses.cancel(id),
      () => bob.conversations.retrieve(conversation.id),
      () => bob.conversations.items.list(conversation.id),
      () => bob.responses.inputTokens.count({ model: "gpt-5-counted", input: "x", conversation: conversation.id }),
      () => bob.responses.create({ model: "scripted-text", input: "x", conversation: conversation.id }),
    ]) {
      expect(await attempt().then(() => null, (e: unknown) => e)).toBeInstanceOf(NotFoundError);
    }
    // And a key nobody issued gets nothing at all.
    expect(await sdk("sk-nobody").conversations.retrieve(conversation.id).then(() => null, (e: unknown) => e)).toMatchObject({ status: 401 });
  });

  it("responses.stream({ response_id, starting_after }) attaches to a running background run: the events after N, then finalResponse() whole", async () => {
    const alice = sdk(ALICE);
    const conversation = await alice.conversations.create({});
    const run = await alice.responses.create({ model: "scripted-paced-15-40", input: "Count.", background: true, conversation: conversation.id });
    for (let i = 0; i < 100 && (await alice.responses.retrieve(run.id)).status !== "in_progress"; i++) await sleep(50);
    const stream = alice.responses.stream({ response_id: run.id, starting_after: 3 });
    const seenNumbers: number[] = [];
    stream.on("event", (e) => seenNumbers.push(e.sequence_number));
    const final = await stream.finalResponse();
    expect(seenNumbers[0]).toBe(4);
    expect(seenNumbers).toEqual(seenNumbers.map((_n, i) => 4 + i));
    expect(final).toMatchObject({ id: run.id, status: "completed", background: true, conversation: { id: conversation.id } });
    expect(final.output_text).toBe(WORDS(15));
  });

  it("a background run cancelled in its conversation appends nothing; the key's next turn there does not see it", async () => {
    const bob = sdk(BOB);
    const conversation = await bob.conversations.create({ items: [{ type: "message", role: "user", content: "Bob's note." }] });
    const run = await bob.responses.create({ model: "scripted-paced-100-40", input: "A long one.", background: true, conversation: conversation.id });
    expect(run).toMatchObject({ status: "queued", background: true, conversation: { id: conversation.id } });
    for (let i = 0; i < 100 && (await bob.responses.retrieve(run.id)).status !== "in_progress"; i++) await sleep(50);
    const cancelled = await bob.responses.cancel(run.id);
    expect(cancelled.status).toBe("cancelled");
    expect((await settled(bob, run.id)).status).toBe("cancelled");
    expect(await listed(bob, conversation.id)).toEqual([["message", "Bob's note."]]);
    // Alice cannot cancel or read Bob's, either.
    expect(await sdk(ALICE).responses.cancel(run.id).then(() => null, (e: unknown) => e)).toBeInstanceOf(NotFoundError);
  });
});

describe("GET /v1/usage after background runs, counts and cancels", () => {
  type Row = { model: string; requests: number; input_tokens: number; output_tokens: number };
  const usage = async (key: string) => ((await (await fetch(`${stack.baseURL}/usage`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: Row[] }).data;

  it("each key pays for its own background runs (a cancelled one included) and token counts, and only those", async () => {
    const bob = sdk(BOB);
    const run = await bob.responses.create({ model: "scripted-paced-3-10", input: "Three words.", background: true });
    expect((await settled(bob, run.id)).status).toBe("completed");
    await bob.responses.inputTokens.count({ model: "gpt-5-counted", input: "one two three" });
    // The background run's usage is recorded by its object after the answer: polled, bounded.
    let rows: Row[] = [];
    for (let i = 0; i < 50; i++) {
      rows = await usage(BOB);
      if (rows.some((r) => r.model === "scripted-paced-3-10")) break;
      await sleep(100);
    }
    expect(rows.find((r) => r.model === "scripted-paced-3-10")).toMatchObject({ requests: 1 });
    expect(rows.find((r) => r.model === "scripted-paced-3-10")!.output_tokens).toBeGreaterThan(0);
    // The run Bob cancelled above called the upstream: counted, as docs/operators.md says.
    expect(rows.find((r) => r.model === "scripted-paced-100-40")).toMatchObject({ requests: 1 });
    expect(rows.find((r) => r.model === "gpt-5-counted")?.input_tokens).toBeGreaterThan(0);
    const alices = await usage(ALICE);
    expect(alices.some((r) => r.model === "scripted-paced-3-10" || r.model === "scripted-paced-100-40")).toBe(false);
    expect(alices.find((r) => r.model === "scripted-paced-20-40")).toMatchObject({ requests: 1 });
  });
});

describe("the AI SDK 7: contextManagement in a conversation", () => {
  it("over the threshold the turn compacts; the conversation keeps the user's message, then the compaction item and the answer; the next turn carries the summary", async () => {
    const alice = sdk(ALICE);
    const long = (w: string) => Array.from({ length: 60 }, () => w).join(" ");
    const conversation = await alice.conversations.create({
      items: [
        { type: "message", role: "user", content: `First question: ${long("alpha")}` },
        { type: "message", role: "assistant", content: `First answer: ${long("beta")}` },
      ],
    });
    const openai = createOpenAI({ baseURL: stack.baseURL, apiKey: ALICE });
    const providerOptions = { openai: { conversation: conversation.id, contextManagement: [{ type: "compaction" as const, compactThreshold: 80 }] } };
    const first = streamText({ model: openai.responses("gpt-5-counted"), prompt: "What is the code word?", providerOptions });
    const kinds: string[] = [];
    for await (const part of first.fullStream) if (part.type === "custom") kinds.push((part as { kind: string }).kind);
    expect(await first.text).toBe("Hello from the scripted upstream.");
    expect(kinds).toEqual(["openai.compaction"]);
    const items = await listed(alice, conversation.id);
    expect(items.map(([t]) => t)).toEqual(["message", "message", "message", "compaction", "message"]);
    expect(items[2]).toEqual(["message", "What is the code word?"]);

    const before = chats().length;
    const second = streamText({ model: openai.responses("gpt-5-counted"), prompt: "And the next step?", providerOptions });
    expect(await second.text).toBe("Hello from the scripted upstream.");
    const turn = chats().slice(before).at(-1)!;
    expect(JSON.stringify(turn.messages)).not.toMatch(/alpha|beta/);
    expect(JSON.stringify(turn.messages)).toMatch(/Summary of this conversation up to the current turn/);
    expect(JSON.stringify(turn.messages)).toMatch(/What is the code word\?/);
  });
});

describe("the AI SDK 7: a tool loop in a conversation", () => {
  // Sent as the AI SDK documents `conversation`: each call sends only what the conversation lacks (the step's own
  // messages). Its multi-step loop (`stopWhen`) re-sends the first user message at the second step, which OpenAI refuses
  // too (vercel/ai#11520); the bridge answers it with OpenAI's pairing 400, checked last.
  it("one step per call: the call's result sent back alone; the conversation ends with the call, its output and the answer", async () => {
    const alice = sdk(ALICE);
    const conversation = await alice.conversations.create({});
    const sent: Array<{ input: Array<{ type?: string; role?: string }> }> = [];
    const openai = createOpenAI({
      baseURL: stack.baseURL,
      apiKey: ALICE,
      fetch: async (input, init) => {
        if (typeof init?.body === "string") sent.push(JSON.parse(init.body) as (typeof sent)[number]);
        return fetch(input, init);
      },
    });
    const weather = aiTool({ description: "Weather for a city", inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `18C in ${city}` });
    const options = { model: openai.responses("scripted-tools"), tools: { get_weather: weather }, providerOptions: { openai: { conversation: conversation.id } } };
    const first = await generateText({ ...options, prompt: "Weather in Paris?" });
    expect(first.toolResults).toEqual([expect.objectContaining({ toolName: "get_weather", output: "18C in Paris" })]);
    const second = await generateText({ ...options, messages: first.response.messages });
    expect(second.text).toBe("The tool said: 18C in Paris");
    expect(sent[1]!.input.map((i) => i.type ?? i.role)).toEqual(["function_call_output"]);
    expect((await listed(alice, conversation.id)).map(([t]) => t)).toEqual(["message", "function_call", "function_call_output", "message"]);

    const again = await alice.conversations.create({});
    const looped = await generateText({ ...options, providerOptions: { openai: { conversation: again.id } }, prompt: "Weather in Paris?", stopWhen: stepCountIs(3) }).catch((e: unknown) => e);
    expect(looped).toMatchObject({ statusCode: 400, message: "No tool output found for function call call_scripted_0." });
  });
});

describe("@openai/agents: an OpenAIConversationsSession with a tool on Gemini 3", () => {
  it("the tool loop completes with its signature back from the conversation; the next run sends the whole turn back", async () => {
    const client = sdk("sk-agents-gemini", geminiStack.baseURL);
    const runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: true }), tracingDisabled: true });
    const weather = tool({ name: "get_weather", description: "Weather for a city", parameters: z.object({ city: z.string() }), execute: async ({ city }) => `18C in ${city}` });
    const agent = new Agent({ name: "Weather", instructions: "Use the tool.", model: "gemini-3-pro-preview", tools: [weather] });
    const session = new OpenAIConversationsSession({ client });
    const from = gemini.requests.length;
    const first = await runner.run(agent, "Weather in Paris?", { session });
    expect(first.finalOutput).toBe("The tool said: 18C in Paris");
    expect(gemini.refusals).toEqual([]);
    const step2 = gemini.requests.slice(from).at(-1)!;
    const call = step2.messages!.filter((m) => m.role === "assistant")[0]!.tool_calls![0]!;
    expect(call.extra_content?.google?.thought_signature).toMatch(/^gemini-sig-/);

    const between = gemini.requests.length;
    const second = await runner.run(agent, "And in Rome?", { session });
    expect(second.finalOutput).toMatch(/^The tool said: 18C in /);
    expect(gemini.refusals).toEqual([]);
    // The second run's first request: the whole first run from the conversation, then the new question.
    const opening = gemini.requests[between]!.messages!;
    expect(opening.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"]);
    // The session lists its items without `include=reasoning.encrypted_content` (as OpenAI lists them, a reasoning
    // item's encrypted_content is left out), so an earlier turn's call comes back without its signature: Google checks
    // only the current turn's, and this run's own steps carry theirs (no refusal above).
    expect(opening[2]!.tool_calls![0]!.id).toBe(call.id);
  });
});

describe("the openai SDK: a Gemini 3 tool loop in background runs", () => {
  it("each step a background run, the second continuing the first by previous_response_id and streamed: the signature comes back, the loop completes", async () => {
    const client = sdk("sk-background-gemini", geminiStack.baseURL);
    const tools: OpenAI.Responses.Tool[] = [{ type: "function", name: "get_weather", strict: false, parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }];
    const from = gemini.requests.length;
    const first = await client.responses.create({ model: "gemini-3-pro-preview", tools, input: "Weather in Paris?", background: true });
    expect(first.status).toBe("queued");
    const step1 = await settled(client, first.id);
    expect(step1.status).toBe("completed");
    const call = step1.output.find((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call")!;
    expect(call).toBeDefined();
    // The second step streams in the background; the client reads it to the end.
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    const stream = await client.responses.create({ model: "gemini-3-pro-preview", tools, previous_response_id: step1.id, input: [{ type: "function_call_output", call_id: call.call_id, output: "18C in Paris" }], background: true, stream: true });
    for await (const e of stream) events.push(e);
    expect(events.at(-1)).toMatchObject({ type: "response.completed" });
    const done = (events.at(-1) as OpenAI.Responses.ResponseCompletedEvent).response;
    expect(done.output.filter((o) => o.type === "message").map((o) => textOf(o)).join("")).toBe("The tool said: 18C in Paris");
    expect((await client.responses.retrieve(done.id)).output_text).toBe("The tool said: 18C in Paris");
    expect(gemini.refusals).toEqual([]);
    const sent = gemini.requests.slice(from);
    expect(sent).toHaveLength(2);
    const back = sent[1]!.messages!.filter((m) => m.role === "assistant")[0]!.tool_calls![0]!;
    expect(back.id).toBe(call.call_id);
    expect(back.extra_content?.google?.thought_signature).toMatch(/^gemini-sig-/);
  });
});

describe("LangChain ChatOpenAI with useResponsesApi: true", () => {
  const paths: string[] = [];
  const recording = (input: string | URL | Request, init?: RequestInit) => {
    paths.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
    return fetch(input, init);
  };
  const model = (name: string) => new ChatOpenAI({ model: name, apiKey: ALICE, configuration: { baseURL: stack.baseURL, fetch: recording }, maxRetries: 0, useResponsesApi: true });

  it("invoke and stream: the answer, its usage, through /v1/responses", async () => {
    const from = seen.requests.length;
    const answer = await model("scripted-text").invoke([new HumanMessage("Say hello")]);
    expect(answer.text).toBe("Hello from the scripted upstream.");
    expect(answer.usage_metadata?.input_tokens).toBeGreaterThan(0);
    const pieces: string[] = [];
    for await (const chunk of await model("scripted-text").stream([new HumanMessage("Say hello")])) pieces.push(chunk.text);
    expect(pieces.join("")).toBe("Hello from the scripted upstream.");
    expect(seen.requests.slice(from).filter((r) => r.url.endsWith("/chat/completions"))).toHaveLength(2);
    expect(paths).toEqual(["/v1/responses", "/v1/responses"]);
  });

  it("a tool round trip: the call, the ToolMessage back, the answer", async () => {
    const llm = model("scripted-tools").bindTools([{ type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }]);
    const ask = new HumanMessage("Weather in Paris?");
    const called = await llm.invoke([ask]);
    expect(called.tool_calls).toEqual([expect.objectContaining({ name: "get_weather", args: { city: "Paris" } })]);
    const answered = await llm.invoke([ask, called, new ToolMessage({ tool_call_id: called.tool_calls![0]!.id!, content: "18C in Paris" })]);
    expect(answered.text).toBe("The tool said: 18C in Paris");
    const last = chats().at(-1)!;
    expect(last.messages.map((m) => m.role)).toEqual(["user", "assistant", "tool"]);
  });
});

describe("Codex 0.171: the built-in provider at the bridge (openai_base_url), over the WebSocket, with an MCP server and a proxy key", () => {
  const MCP = `
[mcp_servers.demo]
command = ${JSON.stringify(process.execPath)}
args = [${JSON.stringify(new URL("./mcp-server.mjs", import.meta.url).pathname)}]
default_tools_approval_mode = "approve"
`;
  const configFor = (baseURL: string) => `model = "gpt-5.5"
openai_base_url = ${JSON.stringify(baseURL)}
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false
${MCP}`;
  const explain = (runs: CodexRun[], requests: Recorded[]) => `${runs.map((r) => `codex exit ${r.exitCode}\n${JSON.stringify(r.events, null, 1)}\n${r.stderr}`).join("\n")}\n${JSON.stringify(requests.map(({ body: _b, ...r }) => r))}\n${stack.output()}`;

  it("the MCP tool found and called on the socket; the session resumed with a tiny auto-compact limit compacts remotely on the socket, and the next turn goes on from its item", async () => {
    const home = await mkdtemp(join(tmpdir(), "codex-home-"));
    const cwd = await mkdtemp(join(tmpdir(), "codex-work-"));
    try {
      const mark = proxy.requests.length;
      const from = seen.requests.length;
      const env = { CODEX_API_KEY: ALICE };
      const first = await runCodex({ config: configFor(`${proxy.url}/v1`), prompt: "Echo Paris with the demo tool", home, cwd, env, timeoutMs: 80_000 });
      const between = seen.requests.length;
      const second = await runCodex({ config: configFor(`${proxy.url}/v1`), prompt: "Echo Paris again", home, cwd, env, timeoutMs: 80_000, args: ["resume", "--last", "-c", "model_auto_compact_token_limit=10"] });
      const requests = proxy.requests.slice(mark).filter((r) => /\/responses/.test(r.path));
      const why = explain([first, second], requests);
      expect(first.exitCode, why).toBe(0);
      expect(first.items.find((i) => i.type === "mcp_tool_call"), why).toMatchObject({ status: "completed" });
      expect(first.items.at(-1)!.text, why).toContain("echo: Paris");
      expect(second.exitCode, why).toBe(0);
      expect(second.events.some((e) => /compact/i.test(e.message ?? e.error?.message ?? e.item?.message ?? "")), why).toBe(false);
      expect(second.items.at(-1), why).toMatchObject({ type: "agent_message", text: "Hello from the scripted upstream." });
      // Only WebSocket upgrades, each accepted: every request of both runs went over sockets.
      expect(requests.length, why).toBeGreaterThan(0);
      expect(requests.every((r) => r.upgrade === "websocket" && /^HTTP\/1\.1 101/.test(r.answer ?? "")), why).toBe(true);
      const firstRun = seen.requests.slice(from, between).map((r) => r.body as Chat & { tools?: Array<{ function: { name: string } }> });
      expect(firstRun.map((b) => b.model), why).toEqual([SEARCHER, SEARCHER, SEARCHER]);
      // The resumed run: the summary request (tool_choice none) over the whole history, its MCP call and output paired, then the turn from the summary.
      const secondRun = seen.requests.slice(between).map((r) => r.body as Chat & { tool_choice?: unknown });
      expect(secondRun[0]!.tool_choice, why).toBe("none");
      expect(JSON.stringify(secondRun[1]!.messages), why).toMatch(/Summary of the earlier part of this conversation/);
      expect(JSON.stringify(secondRun[0]!.messages), why).toMatch(/echo: Paris/);
      expect(secondRun, why).toHaveLength(2);
      expect(JSON.stringify(secondRun[1]!.messages), why).not.toMatch(/"role":"tool"/);
    } finally {
      await rm(home, { recursive: true, force: true });
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
