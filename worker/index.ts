import { ConfigError, configFromEnv } from "./config.ts";
import type { Env } from "./env.ts";
import { durableStore } from "./cloudflare/durable-store.ts";
import { handle } from "./router.ts";
import { errorResponse, unexpectedError } from "./http.ts";

export type { Env } from "./env.ts";
// The Durable Object class must be exported from the Worker's main module.
export { ResponseStoreObject } from "./cloudflare/response-store-object.ts";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    let config;
    try {
      config = configFromEnv(env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return errorResponse(500, { message: `Bridge misconfigured: ${e.message}`, type: "server_error", param: null, code: "bridge_misconfigured" });
    }
    try {
      const namespace = env.RESPONSES_STORE;
      const retention = config.retentionMs;
      return await handle(request, config, (input, init) => fetch(input, init), {
        waitUntil: (p) => ctx.waitUntil(p),
        ...(namespace ? { storeFor: (credential: string | null) => durableStore(namespace, credential, retention) } : {}),
      });
    } catch (e) {
      return errorResponse(500, unexpectedError(e, config));
    }
  },
} satisfies ExportedHandler<Env>;
