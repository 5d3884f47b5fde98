/**
 * The Worker `npm run bench:store` runs: the product Worker, unchanged, plus two routes
 * the benchmark alone uses to build long chains fast and to weigh them:
 *
 * - `POST /bench/put` `{ key, turn }`: stores a turn as the Worker would at the end of a
 *   response (`durableStore(...).put`, the same code, the same object), without running it;
 * - `GET /bench/stats?key=&id=`: the object holding `id` for `key`: its SQLite size and rows, and its object id;
 * - `POST /bench/append` `{ key, id, items }`: appends items to a conversation (`durableConversations(...).append`, the
 *   same code as a finished response's append), to build conversations of thousands of items fast.
 */
import bridge, { type Env } from "../../worker/index.ts";
import { durableStore, partitionOf, shardOf } from "../../worker/cloudflare/durable-store.ts";
import { durableConversations } from "../../worker/cloudflare/durable-conversations.ts";
import type { ConversationItem, StoredTurn } from "../../src/server.ts";

export { BackgroundRunObject, ResponseStoreObject } from "../../worker/index.ts";

const DAY_MS = 86_400_000;

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const url = new URL(request.url);
    const namespace = env.RESPONSES_STORE!;
    if (url.pathname === "/bench/put") {
      const { key, turn } = (await request.json()) as { key: string; turn: StoredTurn };
      return Response.json({ stored: await durableStore(namespace, key, 30 * DAY_MS).put(turn) });
    }
    if (url.pathname === "/bench/append") {
      const { key, id, items } = (await request.json()) as { key: string; id: string; items: ConversationItem[] };
      return Response.json({ stored: await durableConversations(namespace, key).append(id, items) });
    }
    if (url.pathname === "/bench/stats") {
      const id = namespace.idFromName(`${await partitionOf(url.searchParams.get("key"))}:${shardOf(url.searchParams.get("id")!)}`);
      // The object's id names its SQLite file under Miniflare's persistence directory.
      return Response.json({ ...(await namespace.get(id).stats()), objectId: id.toString() });
    }
    return bridge.fetch(request, env, ctx);
  },
};
