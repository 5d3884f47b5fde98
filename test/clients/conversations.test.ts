import { Agent, OpenAIConversationsSession, OpenAIProvider, Runner, tool } from "@openai/agents";
import { z } from "zod";
import OpenAI, { NotFoundError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// The Conversations API with the real clients: the `openai` SDK's conversations.*, and the Agents SDK's
// two ways to keep memory on the server (`conversationId`, `OpenAIConversationsSession`) → wrangler dev → the scripted chat server.
let stack: Stack;
let client: OpenAI;
let runner: Runner;
const ANSWER = "Hello from the scripted upstream.";
const agent = new Agent({ name: "Greeter", instructions: "Greet.", model: "scripted-text" });

beforeAll(async () => {
  stack = await startStack();
  client = new OpenAI({ apiKey: "sk-conversations-client", baseURL: stack.baseURL, maxRetries: 0 });
  runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: true }), tracingDisabled: true });
});
afterAll(() => stack?.stop());

type Chat = { messages: Array<{ role: string; content: unknown }> };
const chats = () => seen.requests.filter((r) => r.url.endsWith("/chat/completions")).map((r) => r.body as Chat);
/** Every message's text of a chat request, as [role, text]. */
const turnsOf = (chat: Chat) => chat.messages.map((m) => [m.role, typeof m.content === "string" ? m.content : JSON.stringify(m.content)]);
const textOf = (item: { type: string; content?: unknown }) => (item.content as Array<{ text?: string }> | undefined)?.[0]?.text;

describe("the openai SDK's conversations.*", () => {
  it("create, retrieve, update, items.create / list (auto-paginated) / retrieve / delete, delete; an unknown id is its NotFoundError", async () => {
    const conversation = await client.conversations.create({ items: [{ type: "message", role: "user", content: "first" }], metadata: { app: "tests" } });
    expect(conversation).toMatchObject({ object: "conversation", metadata: { app: "tests" } });
    expect(await client.conversations.retrieve(conversation.id)).toEqual(conversation);
    expect(await client.conversations.update(conversation.id, { metadata: { app: "renamed" } })).toEqual({ ...conversation, metadata: { app: "renamed" } });

    const added = await client.conversations.items.create(conversation.id, {
      items: [
        { type: "message", role: "assistant", content: "second" },
        { type: "message", role: "user", content: "third" },
      ],
    });
    expect(added.data.map(textOf)).toEqual(["second", "third"]);
    // Pages of two, followed through `after` by the SDK itself.
    const listed = [];
    for await (const item of client.conversations.items.list(conversation.id, { order: "asc", limit: 2 })) listed.push(item);
    expect(listed.map((i) => textOf(i as never))).toEqual(["first", "second", "third"]);
    const newest = await client.conversations.items.list(conversation.id, { limit: 1 });
    expect(newest.data.map((i) => textOf(i as never))).toEqual(["third"]);
    expect(newest.has_more).toBe(true);

    const second = listed[1]!;
    expect(await client.conversations.items.retrieve(second.id!, { conversation_id: conversation.id })).toEqual(second);
    expect(await client.conversations.items.delete(second.id!, { conversation_id: conversation.id })).toMatchObject({ id: conversation.id, object: "conversation" });
    const left = [];
    for await (const item of client.conversations.items.list(conversation.id, { order: "asc" })) left.push(textOf(item as never));
    expect(left).toEqual(["first", "third"]);

    expect(await client.conversations.delete(conversation.id)).toEqual({ id: conversation.id, object: "conversation.deleted", deleted: true });
    const missing = await client.conversations.retrieve(conversation.id).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).message).toContain(`Conversation with id '${conversation.id}' not found.`);
    // No body at all: every field is optional.
    expect(await client.conversations.create()).toMatchObject({ object: "conversation", metadata: {} });
  });

  it("responses.create({ conversation }) continues it and adds the turn; with previous_response_id it is a 400", async () => {
    const conversation = await client.conversations.create({ items: [{ type: "message", role: "user", content: "I am Ada." }, { type: "message", role: "assistant", content: "Hi Ada." }] });
    const before = chats().length;
    const response = await client.responses.create({ model: "scripted-text", input: "Who am I?", conversation: conversation.id });
    expect(response.conversation).toEqual({ id: conversation.id });
    expect(turnsOf(chats()[before]!)).toEqual([
      ["user", "I am Ada."],
      ["assistant", "Hi Ada."],
      ["user", "Who am I?"],
    ]);
    const items = [];
    for await (const item of client.conversations.items.list(conversation.id, { order: "asc" })) items.push(textOf(item as never));
    expect(items).toEqual(["I am Ada.", "Hi Ada.", "Who am I?", ANSWER]);
    const both = await client.responses.create({ model: "scripted-text", input: "x", conversation: conversation.id, previous_response_id: response.id }).catch((e: unknown) => e);
    expect(both).toMatchObject({ status: 400, code: "mutually_exclusive_parameters" });
  });

  it("a response made in a conversation carries it: inputItems.list (auto-paginated) and previous_response_id see the conversation before it", async () => {
    const conversation = await client.conversations.create({ items: [{ type: "message", role: "user", content: "I am Ada." }, { type: "message", role: "assistant", content: "Hi Ada." }] });
    const response = await client.responses.create({ model: "scripted-text", input: "Who am I?", conversation: conversation.id });
    const listed = [];
    for await (const item of client.responses.inputItems.list(response.id, { order: "asc", limit: 2 })) listed.push(textOf(item as never));
    expect(listed).toEqual(["I am Ada.", "Hi Ada.", "Who am I?"]);
    const before = chats().length;
    await client.responses.create({ model: "scripted-text", input: "Sure?", previous_response_id: response.id });
    expect(turnsOf(chats()[before]!)).toEqual([
      ["user", "I am Ada."],
      ["assistant", "Hi Ada."],
      ["user", "Who am I?"],
      ["assistant", ANSWER],
      ["user", "Sure?"],
    ]);
  });
});

describe("@openai/agents with server-side conversations", () => {
  it("runs with a conversationId: the second run's upstream request holds the first run's turn", async () => {
    const { id } = await client.conversations.create({});
    const first = await runner.run(agent, "My name is Ada.", { conversationId: id });
    expect(first.finalOutput).toBe(ANSWER);
    const before = chats().length;
    const second = await runner.run(agent, "What is my name?", { conversationId: id });
    expect(second.finalOutput).toBe(ANSWER);
    const turns = turnsOf(chats()[before]!);
    expect(turns).toEqual([
      ["system", "Greet."],
      ["user", "My name is Ada."],
      ["assistant", ANSWER],
      ["user", "What is my name?"],
    ]);
  });

  it("runs with an OpenAIConversationsSession: the session's conversation holds both runs, and the second run's upstream request the first run's turn", async () => {
    const session = new OpenAIConversationsSession({ client });
    await runner.run(agent, "Remember: 42.", { session });
    const before = chats().length;
    await runner.run(agent, "Which number?", { session });
    const turns = turnsOf(chats()[before]!);
    expect(turns.slice(-3)).toEqual([
      ["user", "Remember: 42."],
      ["assistant", ANSWER],
      ["user", "Which number?"],
    ]);
    const conversationId = await session.getSessionId();
    const items = [];
    for await (const item of client.conversations.items.list(conversationId, { order: "asc" })) items.push([item.type, textOf(item as never)]);
    expect(items).toEqual([
      ["message", "Remember: 42."],
      ["message", ANSWER],
      ["message", "Which number?"],
      ["message", ANSWER],
    ]);
  });

  it("a tool loop in an OpenAIConversationsSession: the call, its output and the answer are kept, and the next run sends them back", async () => {
    const weather = tool({ name: "get_weather", description: "Weather for a city", parameters: z.object({ city: z.string() }), execute: async ({ city }) => `18C in ${city}` });
    const toolAgent = new Agent({ name: "Weather", instructions: "Use the tool.", model: "scripted-tools", tools: [weather] });
    const session = new OpenAIConversationsSession({ client });
    const first = await runner.run(toolAgent, "Weather in Paris?", { session });
    expect(first.finalOutput).toMatch(/^The tool said: 18C in /);
    const before = chats().length;
    // The follow-up without tools: the scripted upstream names every call `call_scripted_0`, and a second call of that id
    // in one conversation would be refused by the tool-pairing check (real upstreams give each call its own id).
    await runner.run(agent, "And tomorrow?", { session });
    expect(chats()[before]!.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool", "assistant", "user"]);
    const types = [];
    for await (const item of client.conversations.items.list(await session.getSessionId(), { order: "asc" })) types.push(item.type);
    expect(types.slice(0, 4)).toEqual(["message", "function_call", "function_call_output", "message"]);
  });
});
