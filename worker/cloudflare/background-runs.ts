import type { ResponseResource } from "../../src/index.ts";
import type { BackgroundRuns } from "../run/background.ts";
import { partitionOf } from "./durable-store.ts";

/** What a background run's object answers over RPC (worker/cloudflare/background-run-object.ts implements it). */
export interface BackgroundRunRpc {
  start(id: string, body: string, headers: Array<[string, string]>, retentionMs: number): Promise<string>;
  get(): Promise<string | null>;
  events(startingAfter: number): Promise<ReadableStream<Uint8Array> | null>;
  cancel(): Promise<string | null>;
  delete(): Promise<boolean>;
}

/**
 * One credential's background runs over the namespace: one object per run, named by the credential's
 * partition (a hash, as for stored responses) and the response id, so another key's id names an empty
 * object and is unknown.
 */
export function backgroundRuns(namespace: DurableObjectNamespace, credential: string | null, retentionMs: number): BackgroundRuns {
  const partition = partitionOf(credential);
  const object = async (id: string) => namespace.get(namespace.idFromName(`${await partition}:run:${id}`)) as unknown as BackgroundRunRpc;
  const parse = (json: string | null) => (json === null ? undefined : (JSON.parse(json) as ResponseResource));
  return {
    async start(id, body, headers) {
      return JSON.parse(await (await object(id)).start(id, body, headers, retentionMs)) as ResponseResource;
    },
    async get(id) {
      return parse(await (await object(id)).get());
    },
    async events(id, startingAfter) {
      return (await (await object(id)).events(startingAfter)) ?? undefined;
    },
    async cancel(id) {
      return parse(await (await object(id)).cancel());
    },
    async delete(id) {
      return (await object(id)).delete();
    },
  };
}
