import { ConfigError, configFromEnv, type Env } from "./config.ts";
import { handle } from "./router.ts";
import { redact } from "./upstream.ts";

export type { Env } from "./config.ts";

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
      return await handle(request, config, (input, init) => fetch(input, init), { waitUntil: (p) => ctx.waitUntil(p) });
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
