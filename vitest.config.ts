import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { SCRIPTED_KEY, scriptedUpstream } from "./test/support/scripted-upstream.ts";

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/plain-summary-reporter.ts"],
    // The Worker's one JSON line per response (docs/operators.md) is checked where it matters (operators tests); elsewhere it is noise.
    onConsoleLog: (log) => !log.startsWith('{"event":"response"'),
    projects: [
      {
        // Property and soak tests take a few seconds idle and several times that on a loaded 2-core machine:
        // a limit that only a hang reaches, not a slow run.
        test: { name: "library", include: ["test/library/**/*.test.ts"], environment: "node", setupFiles: ["./test/support/fast-check-seed.ts"], testTimeout: 60_000 },
      },
      {
        // The Worker runs inside workerd; its upstream is the scripted server, mounted as the outbound service.
        plugins: [
          cloudflareTest({
            main: "./worker/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              // Only vitest itself wants node:inspector; the product Worker runs without nodejs_compat.
              compatibilityFlags: ["nodejs_compat"],
              // ALLOW_ANONYMOUS: the tests reach the Worker as http://bridge.test, which is not loopback; without it a Worker
              // holding UPSTREAM_API_KEY and no PROXY_API_KEYS refuses them (test/worker/operators.test.ts tests that rule).
              bindings: { UPSTREAM_BASE_URL: "http://upstream.test/v1", UPSTREAM_API_KEY: SCRIPTED_KEY, CORS_ALLOWED_ORIGINS: "https://app.example", ALLOW_ANONYMOUS: "true" },
              outboundService: (request) => scriptedUpstream(request as unknown as Request) as never,
            },
          }),
        ],
        test: { name: "worker", include: ["test/worker/**/*.test.ts"], testTimeout: 30_000 },
      },
      {
        // Real processes: wrangler dev, a local HTTP upstream, the openai SDK.
        test: { name: "e2e", include: ["test/e2e/**/*.test.ts"], environment: "node", testTimeout: 60_000, hookTimeout: 90_000 },
      },
      {
        // Real agent clients (Codex CLI, Agents SDK, AI SDK) from the separate package in test/clients.
        test: { name: "clients", include: ["test/clients/*.test.ts"], environment: "node", testTimeout: 90_000, hookTimeout: 90_000 },
      },
      {
        // responses-bridge-server: its pure parts, and both packages packed, installed and run as a user would.
        test: { name: "server", include: ["test/server/**/*.test.ts"], environment: "node", testTimeout: 120_000, hookTimeout: 300_000 },
      },
      {
        // The built package and the source in Deno, Bun and Chromium (binaries from test/clients).
        test: { name: "runtimes", include: ["test/runtimes/*.test.ts"], environment: "node", testTimeout: 90_000, hookTimeout: 90_000 },
      },
    ],
  },
});
