import { ConfigError, configFromEnv, type Env } from "./config.ts";
import { handle } from "./handler.ts";

export type { Env } from "./config.ts";

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
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
    return handle(request, config, (input, init) => fetch(input, init));
  },
} satisfies ExportedHandler<Env>;
