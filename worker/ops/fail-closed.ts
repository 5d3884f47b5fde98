// Internal: a Worker holding the owner's upstream key never serves strangers without PROXY_API_KEYS.
import type { BridgeConfig } from "../config.ts";
import { json } from "../http.ts";
import { requestIdOf } from "./request.ts";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

function loopbackIp(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.") || ip.startsWith("::ffff:127.");
}

/**
 * Loopback: addressed as localhost / 127.x / [::1] and, if Cloudflare says who
 * connected (`cf-connecting-ip`, always set at the edge and not forgeable
 * there), from loopback too. `wrangler dev` and a server bound to 127.0.0.1
 * qualify; a deployed Worker never does.
 */
function isLoopback(request: Request): boolean {
  const host = new URL(request.url).hostname;
  if (!LOOPBACK_HOSTS.has(host) && !host.startsWith("127.")) return false;
  const ip = request.headers.get("cf-connecting-ip");
  return ip === null || loopbackIp(ip);
}

/**
 * The 401 for a request an open relay would have served: the Worker holds
 * UPSTREAM_API_KEY, has no PROXY_API_KEYS, ALLOW_ANONYMOUS is not `true`, and
 * the client is not on loopback. Null: serve it.
 */
export function refuseOpenRelay(request: Request, config: BridgeConfig): Response | null {
  if (!(config.upstreamApiKey || config.extraSecrets.length) || config.keys.length || config.allowAnonymous || isLoopback(request)) return null;
  const requestId = requestIdOf(request.headers);
  return json(
    401,
    {
      error: {
        message: "This bridge holds an upstream key (UPSTREAM_API_KEY) but has no PROXY_API_KEYS, so it serves only loopback rather than lend that key to anyone who finds the URL. Set PROXY_API_KEYS (a secret) and present one as a Bearer token, or set ALLOW_ANONYMOUS=true to serve without keys on purpose.",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
        request_id: requestId,
      },
    },
    { "x-request-id": requestId },
  );
}
