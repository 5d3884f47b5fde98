import { createOpenAI } from "@ai-sdk/openai";
import { generateText, type ModelMessage, streamText } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seen } from "../support/scripted-upstream.ts";
import { type Stack, startStack } from "../support/stack.ts";

// The AI SDK 7's `providerOptions.openai.contextManagement` (sent as `context_management`) → wrangler dev → the
// scripted chat server. `scripted-count` bills one prompt token per word, so a long history crosses the threshold.
let stack: Stack;
let openai: ReturnType<typeof createOpenAI>;
const sent: Array<Record<string, unknown>> = [];
beforeAll(async () => {
  stack = await startStack({ MODEL_MAP: JSON.stringify({ "gpt-5-counted": "scripted-count" }) });
  openai = createOpenAI({
    baseURL: stack.baseURL,
    apiKey: "sk-ai-sdk-client",
    fetch: async (input, init) => {
      if (typeof init?.body === "string") sent.push(JSON.parse(init.body) as Record<string, unknown>);
      return fetch(input, init);
    },
  });
});
afterAll(() => stack?.stop());

const words = (n: number, w: string) => Array.from({ length: n }, () => w).join(" ");
const HISTORY: ModelMessage[] = [
  { role: "user", content: `First question: ${words(60, "alpha")}` },
  { role: "assistant", content: `First answer: ${words(60, "beta")}` },
  { role: "user", content: "What is the code word?" },
];
type Up = { messages: Array<{ role: string; content: unknown }>; max_tokens?: number };
const text = (c: unknown) => (typeof c === "string" ? c : JSON.stringify(c));

describe("ai + @ai-sdk/openai: contextManagement compaction", () => {
  for (const store of [false, true]) {
    it(`over the threshold the bridge compacts; the next turn carries the item (store: ${store})`, async () => {
      const providerOptions = { openai: { store, contextManagement: [{ type: "compaction" as const, compactThreshold: 80 }] } };
      sent.length = 0;
      const before = seen.requests.length;
      const first = streamText({ model: openai.responses("gpt-5-counted"), messages: HISTORY, providerOptions });
      const kinds: string[] = [];
      for await (const part of first.fullStream) if (part.type === "custom") kinds.push((part as { kind: string }).kind);
      expect(await first.text).toBe("Hello from the scripted upstream.");
      expect(kinds).toEqual(["openai.compaction"]);
      expect(sent[0]!.context_management).toEqual([{ type: "compaction", compact_threshold: 80 }]);
      const calls = seen.requests.slice(before).map((r) => r.body as Up);
      // The exact count, the summary, the turn on the summary.
      expect(calls).toHaveLength(3);
      expect(calls[0]!.max_tokens).toBe(1);
      expect(text(calls[2]!.messages[0]!.content)).toMatch(/^Summary of this conversation up to the current turn/);
      expect(JSON.stringify(calls[2])).not.toMatch(/alpha|beta/);

      // The next turn, as an app keeps history: the response's messages appended, then a new question.
      const messages: ModelMessage[] = [...HISTORY, ...(await first.response).messages, { role: "user", content: "And the next step?" }];
      const next = seen.requests.length;
      const second = await generateText({ model: openai.responses("gpt-5-counted"), messages, providerOptions });
      expect(second.text).toBe("Hello from the scripted upstream.");
      const input = sent.at(-1)!.input as Array<{ type?: string }>;
      expect(input.some((i) => i.type === (store ? "item_reference" : "compaction"))).toBe(true);
      const turn = seen.requests.at(-1)!.body as Up;
      expect(seen.requests.length - next).toBeLessThanOrEqual(2);
      expect(text(turn.messages[0]!.content)).toMatch(/^Summary of this conversation up to the current turn/);
      expect(JSON.stringify(turn)).not.toMatch(/alpha|beta/);
      expect(text(turn.messages.at(-1)!.content)).toContain("And the next step?");
    });
  }
});
