import { ResponsesError } from "../../src/index.ts";
import type { ClientContext } from "../context.ts";
import { json } from "../http.ts";

/**
 * `GET /v1/usage`: the presenting key's own usage, one row per UTC date and
 * model (`requests`, input/output/cached/reasoning tokens of its responses).
 * Read from that key's own counters: no other key's rows can be named.
 */
export async function getUsage(_request: Request, ctx: ClientContext): Promise<Response> {
  const ops = ctx.ops;
  if (!ops?.key) {
    throw new ResponsesError(400, { message: "Usage is kept per key: this bridge has no PROXY_API_KEYS, so there is no key to report on.", type: "invalid_request_error", param: null, code: "usage_requires_keys" });
  }
  if (!ops.ledger) {
    throw new ResponsesError(500, { message: "Usage is kept in the KEY_LIMITS Durable Object, which this Worker does not bind (see wrangler.toml).", type: "server_error", param: null, code: "bridge_misconfigured" });
  }
  return json(200, { object: "list", data: await ops.ledger.usage() });
}
