import { ConfigError, configFromEnv } from "./config.ts";
import type { Env } from "./env.ts";
import { analyticsSink } from "./cloudflare/analytics.ts";
import { durableConversations } from "./cloudflare/durable-conversations.ts";
import { durableStore } from "./cloudflare/durable-store.ts";
import { keyLedger } from "./cloudflare/key-limits-object.ts";
import { refuseOpenRelay } from "./ops/fail-closed.ts";
import { requestIdOf } from "./ops/request.ts";
import { handle } from "./router.ts";
import { errorResponse, unexpectedError } from "./http.ts";

export type { Env } from "./env.ts";
// The Durable Object class must be exported from the Worker's main module.
export { ResponseStoreObject } from "./cloudflare/response-store-object.ts";
export { KeyLimitsObject } from "./cloudflare/key-limits-object.ts";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    let config;
    try {
      config = configFromEnv(env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return errorResponse(500, { message: `Bridge misconfigured: ${e.message}`, type: "server_error", param: null, code: "bridge_misconfigured" }, { "x-request-id": requestIdOf(request.headers) });
    }
    // Never an open relay of the owner's key (docs/operators.md, "Fail closed").
    const refusal = refuseOpenRelay(request, config);
    if (refusal) return refusal;
    try {
      const namespace = env.RESPONSES_STORE;
      const retention = config.retentionMs;
      const limits = env.KEY_LIMITS;
      const analytics = env.USAGE_ANALYTICS;
      return await handle(request, config, (input, init) => fetch(input, init), {
        waitUntil: (p) => ctx.waitUntil(p),
        ...(namespace ? { storeFor: (credential: string | null) => durableStore(namespace, credential, retention) } : {}),
        ...(namespace ? { conversationsFor: (credential: string | null) => durableConversations(namespace, credential) } : {}),
        ...(limits ? { ledgerFor: (name: string) => keyLedger(limits, name) } : {}),
        ...(analytics ? { analytics: analyticsSink(analytics) } : {}),
      });
    } catch (e) {
      return errorResponse(500, unexpectedError(e, config), { "x-request-id": requestIdOf(request.headers) });
    }
  },
} satisfies ExportedHandler<Env>;
