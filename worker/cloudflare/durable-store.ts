import { createIdGenerator, type IdGenerator } from "../../src/index.ts";
import type { ConversationItem, ResponseStore, StoredTurn } from "../../src/server.ts";
import type { ResponseResource } from "../../src/index.ts";
import { sha256 } from "../auth.ts";
import type { HistoryPage, ResponseStoreObject, TurnHead } from "./response-store-object.ts";
import { type Answer, INLINE_CHARS, ndjsonLines } from "./store-rows.ts";

/** The `ResponseStore` the Worker uses: one credential's view over the Durable Object namespace (see response-store-object.ts for the partitioning). */

/** `resp_` / `msg_` / `fc_` … then 16 hex digits of shard, then the id's own random part (and whatever a converter appends: reasoning ids carry their origin). */
const SHARDED_ID = /^[a-z]+_([0-9a-f]{16})[0-9a-f]{8}/;

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** The partition of a credential: a hash, never the credential. No credential is one shared, anonymous partition. */
export async function partitionOf(credential: string | null): Promise<string> {
  const material = credential === null ? "anonymous" : `key:${credential}`;
  return hex(await sha256(`responses-bridge/store/${material}`)).slice(0, 32);
}

/** The shard an id of this store carries, or null for an id it never made (which is then simply unknown). */
export function shardOf(id: string): string | null {
  return SHARDED_ID.exec(id)?.[1] ?? null;
}

/** Ids in the shard of `related` (a response continued, a conversation), or in a new random shard. */
export function shardedIds(related: string | null): IdGenerator {
  const shard = (related && shardOf(related)) || hex(crypto.getRandomValues(new Uint8Array(8)));
  const inner = createIdGenerator();
  return (prefix) => inner(prefix).replace("_", `_${shard}`);
}

/** The object a sharded id names in a credential's partition (null: an id this store never made). */
export function objectFor(namespace: DurableObjectNamespace<ResponseStoreObject>, partition: Promise<string>) {
  return async (id: string) => {
    const shard = shardOf(id);
    return shard === null ? null : namespace.get(namespace.idFromName(`${await partition}:${shard}`));
  };
}

/** Page after page, each parsed as it comes: a conversation never crosses RPC as one message. `gone`: the error when a page is missing. */
export async function* pagedItems(first: HistoryPage, next: (from: number) => Promise<HistoryPage | undefined>, gone: string): AsyncGenerator<ConversationItem> {
  let page = first;
  for (;;) {
    yield* itemsOf(page.items as Answer);
    if (page.next === null) return;
    const following = await next(page.next);
    if (!following) throw new Error(gone);
    page = following;
  }
}

/** The items of an answer, parsed one by one as they arrive. */
async function* itemsOf(answer: Answer): AsyncGenerator<ConversationItem> {
  if (Array.isArray(answer)) for (const json of answer) yield JSON.parse(json) as ConversationItem;
  else for await (const json of ndjsonLines(answer)) yield JSON.parse(json) as ConversationItem;
}

export async function allOf(answer: Answer): Promise<ConversationItem[]> {
  const out: ConversationItem[] = [];
  for await (const item of itemsOf(answer)) out.push(item);
  return out;
}

/** Envelope fields that differ from turn to turn; every other field (instructions, tools, model, settings) usually repeats and is kept once per object. */
const PER_TURN = new Set(["id", "created_at", "completed_at", "status", "previous_response_id", "output", "usage", "error", "incomplete_details", "store", "metadata"]);

/**
 * The turn's own fields, and the rest (with the order of every key, so the object reads back
 * exactly as the client saw it) as a shared value named by its hash. Codex's instructions and
 * tools are tens of kilobytes, and even a plain response's settings are a kilobyte a turn.
 */
async function splitEnvelope(response: ResponseResource): Promise<[string, TurnHead["shared"]]> {
  const own: Record<string, unknown> = {};
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(response)) (PER_TURN.has(k) ? own : values)[k] = v;
  own.output = [];
  const json = JSON.stringify({ keys: Object.keys(response), values });
  return [JSON.stringify(own), { hash: hex(await sha256(json)), json }];
}

/** The Response object again from its own fields and its shared ones, keys in their first order. */
function joinEnvelope(own: Record<string, unknown>, shared: string | null): Record<string, unknown> {
  if (shared === null) return own;
  const { keys, values } = JSON.parse(shared) as { keys: string[]; values: Record<string, unknown> };
  const out: Record<string, unknown> = {};
  for (const k of keys) if (k in own || k in values) out[k] = k in own ? own[k] : values[k];
  for (const k of Object.keys(own)) if (!(k in out)) out[k] = own[k];
  return out;
}

/** A turn as `put` sends it: the envelope without its output, each item's JSON once; as a stream when large. */
export async function sendTurn(turn: StoredTurn): Promise<[TurnHead, string[] | ReadableStream<Uint8Array>]> {
  const items = [...turn.input, ...turn.response.output];
  const [envelope, shared] = await splitEnvelope(turn.response);
  const head: TurnHead = {
    id: turn.response.id,
    previous: turn.previous,
    conversation: turn.previous === null ? (turn.conversation ?? null) : null,
    envelope,
    shared,
    inputs: turn.input.length,
    itemIds: items.map((i) => (typeof i.id === "string" ? i.id : null)),
  };
  return [head, sendItems(items)];
}

/** Items as they cross RPC to the object: each item's JSON, inline when small, else as an NDJSON stream pulled one item at a time. */
export function sendItems(items: readonly ConversationItem[]): string[] | ReadableStream<Uint8Array> {
  const texts = items.map((i) => JSON.stringify(i));
  let size = 0;
  for (const t of texts) size += t.length;
  if (size <= INLINE_CHARS) return texts;
  const encoder = new TextEncoder();
  let n = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (n >= texts.length) return controller.close();
      controller.enqueue(encoder.encode(texts[n++] + "\n"));
    },
  });
}

/** The `ResponseStore` of one credential, over the Durable Object namespace. */
export function durableStore(namespace: DurableObjectNamespace<ResponseStoreObject>, credential: string | null, retentionMs: number): ResponseStore {
  const object = objectFor(namespace, partitionOf(credential));
  return {
    async get(id) {
      const answer = await (await object(id))?.get(id);
      if (!answer) return undefined;
      const [envelope, ...output] = await allOf(answer.rows as Answer);
      const response = joinEnvelope(envelope as unknown as Record<string, unknown>, answer.shared);
      // Assigned in place, so the key keeps its position in the object as the client saw it.
      response.output = output;
      return response as unknown as ResponseResource;
    },
    async history(id) {
      const stub = await object(id);
      const first = await stub?.history(id);
      if (!stub || !first) return undefined;
      return pagedItems(first as HistoryPage, async (from) => (await stub.history(id, from)) as HistoryPage | undefined, `Response ${id} was deleted while its conversation was being read.`);
    },
    async getItem(id) {
      const answer = await (await object(id))?.getItem(id);
      return answer ? (await allOf(answer as Answer))[0] : undefined;
    },
    async getItems(ids) {
      // One call per object the ids name (usually one: a conversation's items share its shard).
      const byShard = new Map<string, string[]>();
      for (const id of ids) {
        const shard = shardOf(id);
        if (shard !== null) byShard.set(shard, [...(byShard.get(shard) ?? []), id]);
      }
      const found = new Map<string, ConversationItem>();
      for (const group of byShard.values()) {
        const answer = await (await object(group[0]!))!.getItems(group);
        const items = await allOf(answer.items as Answer);
        answer.ids.forEach((id, i) => found.set(id, items[i]!));
      }
      return found;
    },
    async put(turn) {
      const stub = await object(turn.response.id);
      if (!stub) throw new Error(`Response id ${turn.response.id} carries no shard; it was not made by this store's ids().`);
      const [head, items] = await sendTurn(turn);
      return stub.put(head, items, retentionMs);
    },
    async list(id, options) {
      const result = await (await object(id))?.list(id, options);
      if (!result) return undefined;
      if ("unknownAfter" in result) throw new RangeError(`No input item with id '${options.after}'.`);
      const data = await allOf(result.items as Answer);
      return { object: "list", data, first_id: result.ids[0] ?? null, last_id: result.ids.at(-1) ?? null, has_more: result.hasMore };
    },
    async delete(id) {
      return (await object(id))?.delete(id) ?? false;
    },
    ids: shardedIds,
  };
}
