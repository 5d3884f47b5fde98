import { type ResponseResource, ResponsesError } from "../../src/index.ts";
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

/** Workers RPC serialises one call's arguments into at most 32 MiB; the body is most of them (the rest: headers, the id). */
const RPC_LIMIT = 32 * 1024 * 1024;
const RPC_MARGIN = 256 * 1024;

/**
 * A body the run's object could not be handed in one RPC call is refused before the call, with a typed 413 saying
 * why and what to do, never the platform's exception as a 500. V8 sends a string of Latin-1 characters at one byte
 * each and any other string at two.
 */
function checkRpcSize(body: string): void {
  const bytes = body.length * (/[^\u0000-\u00ff]/.test(body) ? 2 : 1);
  if (bytes + RPC_MARGIN <= RPC_LIMIT) return;
  const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
  throw new ResponsesError(413, {
    message: `A background request is handed to its run in one message of at most 32 MiB; this body needs ${mib(bytes)} MiB. Send it without background (a foreground request of any size is streamed to the upstream), or continue the conversation with previous_response_id or conversation instead of sending it whole.`,
    type: "invalid_request_error",
    param: "background",
    code: "request_too_large",
  });
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
      checkRpcSize(body);
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
