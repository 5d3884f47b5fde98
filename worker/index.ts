import { ConfigError, configFromEnv } from "./config.ts";
import type { Env } from "./env.ts";
import { platformFor } from "./cloudflare/platform.ts";
import { refuseOpenRelay } from "./ops/fail-closed.ts";
import { requestIdOf } from "./ops/request.ts";
import { handle } from "./router.ts";
import { errorResponse, unexpectedError } from "./http.ts";

export type { Env } from "./env.ts";
// The Durable Object class must be exported from the Worker's main module.
export { ResponseStoreObject } from "./cloudflare/response-store-object.ts";
export { KeyLimitsObject } from "./cloudflare/key-limits-object.ts";
export { BackgroundRunObject } from "./cloudflare/background-run-object.ts";

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
      return await handle(request, config, (input, init) => fetch(input, init), platformFor(env, config.retentionMs, (p) => ctx.waitUntil(p)));
    } catch (e) {
      return errorResponse(500, unexpectedError(e, config), { "x-request-id": requestIdOf(request.headers) });
    }
  },
} satisfies ExportedHandler<Env>;
