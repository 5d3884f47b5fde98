import { ConfigError, configFromEnv, type Env } from "./config.ts";
import { durableStore } from "./durable-store.ts";
import { handle } from "./router.ts";
import { redact } from "./upstream.ts";

export type { Env } from "./config.ts";
// The Durable Object class must be exported from the Worker's main module.
export { ResponseStoreObject } from "./durable-store.ts";

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    let config;
    try {
      config = configFromEnv(env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return new Response(JSON.stringify({ error: { message: `Bridge misconfigured: ${e.message}`, type: "server_error", param: null, code: "bridge_misconfigured" } }), {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    }
    try {
      const namespace = env.RESPONSES_STORE;
      const retention = config.retentionMs;
      return await handle(request, config, (input, init) => fetch(input, init), {
        waitUntil: (p) => ctx.waitUntil(p),
        ...(namespace ? { storeFor: (credential: string | null) => durableStore(namespace, credential, retention) } : {}),
      });
    } catch (e) {
      // A bug, not an input problem: still an answer in the API's shape, and a log line without secrets.
      const message = redact(String((e as Error)?.stack ?? e), config);
      console.error(`responses-bridge: unexpected error: ${message}`);
      return new Response(JSON.stringify({ error: { message: "The bridge failed unexpectedly; see the Worker's logs.", type: "server_error", param: null, code: "server_error" } }), {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    }
  },
} satisfies ExportedHandler<Env>;
