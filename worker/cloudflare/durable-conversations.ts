import type { ConversationItem, ConversationResource, ConversationStore } from "../../src/server.ts";
import type { ConversationHead, ConversationPage } from "./conversation-rows.ts";
import { allOf, objectFor, pagedItems, partitionOf, sendItems, shardedIds } from "./durable-store.ts";
import type { ResponseStoreObject } from "./response-store-object.ts";
import type { Answer } from "./store-rows.ts";

/**
 * The `ConversationStore` the Worker uses: one credential's view, on the same objects as its stored
 * responses (response-store-object.ts). A conversation's id carries its shard, so it names its
 * object directly, and another key's id names an object of another partition: unknown, a 404.
 * Items cross RPC as the response store's do: inline when small, else streamed, read in pages.
 */
export function durableConversations(namespace: DurableObjectNamespace<ResponseStoreObject>, credential: string | null): ConversationStore {
  const object = objectFor(namespace, partitionOf(credential));
  const resource = (head: ConversationHead | undefined): ConversationResource | undefined =>
    head && { id: head.id, object: "conversation", created_at: head.created_at, metadata: JSON.parse(head.metadata) as Record<string, string> };
  const ids = (items: readonly ConversationItem[]) => items.map((i) => (typeof i.id === "string" ? i.id : null));
  return {
    async create(conversation, items) {
      const stub = await object(conversation.id);
      if (!stub) throw new Error(`Conversation id ${conversation.id} carries no shard; it was not made by this store's ids().`);
      await stub.createConversation({ id: conversation.id, created_at: conversation.created_at, metadata: JSON.stringify(conversation.metadata) }, ids(items), sendItems(items));
    },
    async get(id) {
      return resource(await (await object(id))?.conversation(id));
    },
    async update(id, metadata) {
      return resource(await (await object(id))?.updateConversation(id, JSON.stringify(metadata)));
    },
    async delete(id) {
      return (await (await object(id))?.deleteConversation(id)) ?? false;
    },
    async append(id, items) {
      const stub = await object(id);
      return stub ? stub.appendToConversation(id, ids(items), sendItems(items)) : false;
    },
    async items(id) {
      const stub = await object(id);
      const first = await stub?.conversationPage(id, 0);
      if (!stub || !first) return undefined;
      return pagedItems(first as ConversationPage, async (from) => (await stub.conversationPage(id, from)) as ConversationPage | undefined, `Conversation ${id} was deleted while its items were being read.`);
    },
    async list(id, options) {
      const result = await (await object(id))?.listConversation(id, options);
      if (!result) return undefined;
      if ("unknownAfter" in result) throw new RangeError(`No item with id '${options.after}'.`);
      const data = await allOf(result.items as Answer);
      return { object: "list", data, first_id: result.ids[0] ?? null, last_id: result.ids.at(-1) ?? null, has_more: result.hasMore };
    },
    async getItem(id, itemId) {
      const answer = await (await object(id))?.conversationItem(id, itemId);
      return answer ? (await allOf(answer as Answer))[0] : answer;
    },
    async deleteItem(id, itemId) {
      return (await object(id))?.deleteConversationItem(id, itemId);
    },
    ids: shardedIds,
  };
}
