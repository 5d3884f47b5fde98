import type { Env } from "../env.ts";
import type { Platform } from "../router.ts";
import { analyticsSink } from "./analytics.ts";
import { backgroundRuns } from "./background-runs.ts";
import { durableConversations } from "./durable-conversations.ts";
import { durableStore } from "./durable-store.ts";
import { keyLedger } from "./key-limits-object.ts";

/** What the Worker's bindings give a request (the Worker's own, or a background run's inside its object). */
export function platformFor(env: Env, retentionMs: number, waitUntil: (p: Promise<unknown>) => void): Platform {
  const namespace = env.RESPONSES_STORE;
  const limits = env.KEY_LIMITS;
  const analytics = env.USAGE_ANALYTICS;
  const runs = env.BACKGROUND_RUNS;
  return {
    waitUntil,
    ...(namespace ? { storeFor: (credential: string | null) => durableStore(namespace, credential, retentionMs) } : {}),
    ...(namespace ? { conversationsFor: (credential: string | null) => durableConversations(namespace, credential) } : {}),
    ...(limits ? { ledgerFor: (name: string) => keyLedger(limits, name) } : {}),
    ...(analytics ? { analytics: analyticsSink(analytics) } : {}),
    ...(runs && namespace ? { backgroundFor: (credential: string | null) => backgroundRuns(runs, credential, retentionMs) } : {}),
  };
}
