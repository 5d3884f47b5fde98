// Internal: the Worker on Miniflare (workerd), as wrangler.toml configures it for `wrangler deploy`.
import { accessSync, constants, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import type { ServeCommand } from "./args.ts";
import { collectModules } from "./modules.ts";

/** wrangler.toml's; test/server checks them against it. */
export const COMPATIBILITY_DATE = "2026-08-01";
export const COMPATIBILITY_FLAGS = ["enable_request_signal", "durable_object_io_tasks_prevent_eviction"];
/** wrangler.toml's Durable Objects (stored responses; per-key limits and usage; background runs), SQLite-backed; test/server checks them against it. */
export const DURABLE_OBJECTS = {
  RESPONSES_STORE: { className: "ResponseStoreObject", useSQLite: true },
  KEY_LIMITS: { className: "KeyLimitsObject", useSQLite: true },
  BACKGROUND_RUNS: { className: "BackgroundRunObject", useSQLite: true },
};

/** A failure the user can fix (a folder, a port), said in one line. */
export class StartError extends Error {}

function usableFolder(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.R_OK | constants.W_OK);
  } catch (e) {
    throw new StartError(`cannot use the data folder ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another with --data DIR`);
  }
}

/** Miniflare would fail later with a long message; this says it in one line. */
function freePort(host: string, port: number): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (e: NodeJS.ErrnoException) =>
      reject(new StartError(e.code === "EADDRINUSE" ? `port ${port} on ${host} is in use; stop what is using it or choose another with --port N` : `cannot listen on ${host}:${port} (${e.code ?? e.message})`)),
    );
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

export interface Running {
  /** The origin, e.g. `http://127.0.0.1:8787`. */
  url: string;
  stop(): Promise<void>;
}

/** `worker`: the bundled Worker (dist/worker.js); `assets`: the page's folder. */
export async function startServer(command: ServeCommand, files: { worker: string; assets: string }): Promise<Running> {
  usableFolder(command.data);
  await freePort(command.host, command.port);
  const { modules, modulesRoot } = collectModules(files.worker);
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: command.host,
      port: command.port,
      // Stored responses (the Durable Object's SQLite) live here across restarts.
      resourcePersistencePath: command.data,
      // No network of its own: no request.cf download, no telemetry.
      cf: false,
      telemetry: { enabled: false },
      logRequests: false,
      workers: [
        {
          name: "responses-bridge",
          modules,
          modulesRoot,
          compatibilityDate: COMPATIBILITY_DATE,
          compatibilityFlags: COMPATIBILITY_FLAGS,
          bindings: command.vars,
          durableObjects: DURABLE_OBJECTS,
          // As wrangler sets it for a Worker with a `main`: paths that are not assets reach the Worker.
          assets: { directory: files.assets, routerConfig: { has_user_worker: true } },
        },
      ],
    }),
  );
  let url: URL;
  try {
    url = await mf.ready;
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  }
  return { url: url.origin, stop: () => mf.dispose() };
}
