import { createIdGenerator, type IdGenerator } from "../../src/index.ts";
import type { ResponseStore } from "../../src/server.ts";
import { sha256 } from "../auth.ts";
import type { ResponseStoreObject } from "./response-store-object.ts";

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

/** The `ResponseStore` of one credential, over the Durable Object namespace. */
export function durableStore(namespace: DurableObjectNamespace<ResponseStoreObject>, credential: string | null, retentionMs: number): ResponseStore {
  const partition = partitionOf(credential);
  const object = async (id: string) => {
    const shard = shardOf(id);
    return shard === null ? null : namespace.get(namespace.idFromName(`${await partition}:${shard}`));
  };
  return {
    async get(id) {
      return (await object(id))?.get(id);
    },
    async getItem(id) {
      return (await object(id))?.getItem(id);
    },
    async put(record) {
      const stub = await object(record.response.id);
      if (!stub) throw new Error(`Response id ${record.response.id} carries no shard; it was not made by this store's ids().`);
      await stub.put(record, retentionMs);
    },
    async list(id, options) {
      const result = await (await object(id))?.list(id, options);
      if (result && "unknownAfter" in result) throw new RangeError(`No input item with id '${options.after}'.`);
      return result?.page;
    },
    async delete(id) {
      return (await object(id))?.delete(id) ?? false;
    },
    ids(previousResponseId): IdGenerator {
      const shard = (previousResponseId && shardOf(previousResponseId)) || hex(crypto.getRandomValues(new Uint8Array(8)));
      const inner = createIdGenerator();
      return (prefix) => inner(prefix).replace("_", `_${shard}`);
    },
  };
}
