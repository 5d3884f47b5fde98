import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ResponseResource } from "../../src/index.ts";
import { type ConversationItem, MemoryResponseStore, type ResponseStore } from "../../src/server.ts";
import { durableStore } from "../../worker/cloudflare/durable-store.ts";

/**
 * The Durable Object store against the memory store as its model: random sequences of turns (continuing
 * any known response, so chains fork), deletes anywhere in them, pages of input items with every
 * `after`/`limit`/`order`, whole histories and item lookups must answer alike. This exercises the
 * positions of items in a conversation, and what a delete hides, keeps and collects.
 */

type Op =
  | { kind: "put"; parent: number | null; inputs: number; outputs: number }
  | { kind: "delete"; target: number }
  | { kind: "list"; target: number; limit: number; order: "asc" | "desc"; after: number | null }
  | { kind: "history"; target: number }
  | { kind: "item"; target: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("put" as const), parent: fc.option(fc.nat(40), { nil: null }), inputs: fc.integer({ min: 0, max: 2 }), outputs: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), target: fc.nat(40) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("list" as const), target: fc.nat(40), limit: fc.integer({ min: 1, max: 5 }), order: fc.constantFrom("asc" as const, "desc" as const), after: fc.option(fc.nat(200), { nil: null }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("history" as const), target: fc.nat(40) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("item" as const), target: fc.nat(200) }) },
);

async function all(source: Awaited<ReturnType<ResponseStore["history"]>>): Promise<ConversationItem[] | undefined> {
  if (!source) return undefined;
  const out: ConversationItem[] = [];
  for await (const item of source) out.push(item);
  return out;
}

/** A call's outcome, comparable across stores: its value, or that it threw a RangeError. */
async function outcome<T>(call: () => Promise<T>): Promise<T | "RangeError"> {
  try {
    return await call();
  } catch (e) {
    if (e instanceof RangeError) return "RangeError";
    throw e;
  }
}

let run = 0;

describe("the durable store behaves as its model", () => {
  it("random forks, deletes, pages, histories and lookups answer alike (seeded)", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        const durable = durableStore(env.RESPONSES_STORE, `sk-model-${run++}`, 3_600_000);
        const model = new MemoryResponseStore();
        const ids = durable.ids!(null);
        const responses: string[] = [];
        const items: string[] = [];
        const message = (role: "user" | "assistant"): ConversationItem & { id: string } => {
          const id = ids("msg");
          items.push(id);
          return role === "user"
            ? { type: "message", id, role, content: [{ type: "input_text", text: id }] }
            : ({ type: "message", id, role, status: "completed", content: [{ type: "output_text", text: id, annotations: [] }] } as ConversationItem & { id: string });
        };
        for (const o of ops) {
          if (o.kind === "put") {
            const previous = o.parent === null || responses.length === 0 ? null : responses[o.parent % responses.length]!;
            // Only a known response can be continued (the Worker answers 400 otherwise).
            if (previous !== null && !(await model.get(previous))) continue;
            const id = ids("resp");
            const output = Array.from({ length: o.outputs }, () => message("assistant"));
            const turn = { response: { id, object: "response", status: "completed", previous_response_id: previous, output } as unknown as ResponseResource, previous, input: Array.from({ length: o.inputs }, () => message("user")) };
            expect(await durable.put(turn)).toBe(await model.put(turn));
            responses.push(id);
            continue;
          }
          if (!responses.length) continue;
          const target = responses[("target" in o ? o.target : 0) % responses.length]!;
          if (o.kind === "delete") expect(await durable.delete(target)).toBe(await model.delete(target));
          if (o.kind === "history") expect(await all(await durable.history(target))).toEqual(await all(await model.history(target)));
          if (o.kind === "item" && items.length) {
            const id = items[o.target % items.length]!;
            expect(await durable.getItem(id)).toEqual(await model.getItem(id));
          }
          if (o.kind === "list") {
            const options = { limit: o.limit, order: o.order, after: o.after === null || !items.length ? undefined : items[o.after % items.length] };
            expect(await outcome(() => durable.list(target, options))).toEqual(await outcome(() => model.list(target, options)));
          }
          expect(await durable.get(target)).toEqual(await model.get(target));
        }
      }),
      { seed: 17, numRuns: 25 },
    );
  });
});
