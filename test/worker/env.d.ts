// What `wrangler types` would generate for this Worker, kept by hand since it is two lines.
declare namespace Cloudflare {
  interface Env extends import("../../worker/config.ts").Env {
    /** Bound in wrangler.toml (`[[durable_objects.bindings]]`). */
    RESPONSES_STORE: DurableObjectNamespace<import("../../worker/durable-store.ts").ResponseStoreObject>;
  }
  interface Exports {
    default: Fetcher;
  }
}
