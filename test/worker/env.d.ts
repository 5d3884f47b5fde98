// What `wrangler types` would generate for this Worker, kept by hand since it is two lines.
declare namespace Cloudflare {
  interface Env extends import("../../worker/env.ts").Env {
    /** Bound in wrangler.toml (`[[durable_objects.bindings]]`). */
    RESPONSES_STORE: DurableObjectNamespace<import("../../worker/cloudflare/response-store-object.ts").ResponseStoreObject>;
    KEY_LIMITS: DurableObjectNamespace<import("../../worker/cloudflare/key-limits-object.ts").KeyLimitsObject>;
    BACKGROUND_RUNS: DurableObjectNamespace<import("../../worker/cloudflare/background-run-object.ts").BackgroundRunObject>;
  }
  interface Exports {
    default: Fetcher;
  }
}
