import { env, exports } from "cloudflare:workers";
import { configFromEnv } from "../../worker/config.ts";
import { partitionOf, shardOf } from "../../worker/cloudflare/durable-store.ts";
import type { ResponseStoreObject } from "../../worker/cloudflare/response-store-object.ts";
import type { Env } from "../../worker/env.ts";
import { type Fetch, handle, type Platform } from "../../worker/router.ts";

/** How the worker tests reach the Worker and its scripted upstream (Miniflare's outbound service). */
export const BRIDGE = "http://bridge.test";
export const UPSTREAM = "http://upstream.test";

export interface Seen {
  requests: Array<{ url: string; method: string; headers: Record<string, string>; body: Record<string, unknown> }>;
  cancelled: number;
}

/** What reached the scripted upstream since the last `__reset`. */
export async function seen(): Promise<Seen> {
  return (await (await fetch(`${UPSTREAM}/__seen`)).json()) as Seen;
}

export async function resetSeen(): Promise<void> {
  await fetch(`${UPSTREAM}/__reset`);
}

/** POST to the Worker as deployed (the environment from vitest.config.ts). */
export function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(`${BRIDGE}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });
}

/** The Responses events of an SSE body. */
export function events(text: string): Array<{ type: string; [k: string]: unknown }> {
  return text
    .split("\n\n")
    .filter((f) => f.startsWith("event: "))
    .map((f) => JSON.parse(f.split("\n")[1]!.slice(6)) as { type: string });
}

/** The handler with a custom environment, reaching the scripted upstream through `fetchUpstream` (default: the global fetch). */
export function withEnv(env: Partial<Env>, fetchUpstream: Fetch = (input, i) => fetch(input, i), platform: Platform = {}) {
  const config = configFromEnv({ UPSTREAM_BASE_URL: `${UPSTREAM}/v1`, ...env });
  return (path: string, init: RequestInit = {}) => handle(new Request(`${BRIDGE}${path}`, init), config, fetchUpstream, platform);
}

/** The stored-response object holding `id` (its credential's partition, the shard in the id), for tests that look inside it. */
export async function storeObjectOf(id: string, credential: string | null): Promise<DurableObjectStub<ResponseStoreObject>> {
  return env.RESPONSES_STORE.get(env.RESPONSES_STORE.idFromName(`${await partitionOf(credential)}:${shardOf(id)}`));
}
