import type { BridgeConfig } from "./config.ts";

/** CORS headers for `origin`, or none when it is not allowed (the browser then blocks the call). */
export function corsHeaders(config: BridgeConfig, origin: string | null): Record<string, string> {
  if (!origin) return {};
  const allowed = config.corsOrigins === "*" || config.corsOrigins.includes(origin);
  if (!allowed) return {};
  return {
    "access-control-allow-origin": config.corsOrigins === "*" ? "*" : origin,
    "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
    "access-control-allow-headers": "authorization, content-type, openai-beta, openai-organization, openai-project, x-api-key, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout, x-stainless-helper-method, x-stainless-async, session_id, session-id, thread-id, originator, version, x-client-request-id",
    "access-control-expose-headers": "retry-after, x-request-id, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens, x-responses-bridge-dropped-tools, x-responses-bridge-thinking",
    "access-control-max-age": "86400",
    vary: "origin",
  };
}
