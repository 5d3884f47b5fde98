// What `wrangler types` would generate for this Worker, kept by hand since it is two lines.
declare namespace Cloudflare {
  interface Env extends import("../../worker/config.ts").Env {}
  interface Exports {
    default: Fetcher;
  }
}
