import { scriptedUpstream } from "./scripted-upstream.ts";
import { serve } from "./serve.ts";
import { startWorker } from "./start-worker.ts";

export interface Stack {
  /** The Worker's base URL for API clients: `http://127.0.0.1:PORT/v1`. */
  baseURL: string;
  /** The Worker's origin, for pages and raw fetches. */
  url: string;
  /** The scripted chat server's origin. */
  upstreamURL: string;
  /** wrangler dev's output so far (attach it to a failing assertion). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * The whole bridge for real: the scripted chat-completions server
 * (`scripted-upstream.ts`) over HTTP, and `wrangler dev` in front of it with
 * `vars` as Worker variables (e.g. `{ MODEL_MAP: JSON.stringify({...}) }`).
 * Requests that reached the upstream are in `seen` from `scripted-upstream.ts`.
 */
export async function startStack(
  vars: Record<string, string> = {},
  upstreamHandler: (r: Request) => Promise<Response> = scriptedUpstream,
  /** wrangler's own environment (e.g. `WRANGLER_LOG: "log"` to see the Worker's console.log lines). */
  processEnv?: Record<string, string>,
): Promise<Stack> {
  const upstream = await serve(upstreamHandler);
  try {
    const worker = await startWorker(upstream.url, undefined, vars, undefined, processEnv);
    return {
      baseURL: `${worker.url}/v1`,
      url: worker.url,
      upstreamURL: upstream.url,
      output: worker.output,
      async stop() {
        await worker.stop();
        await upstream.close();
      },
    };
  } catch (e) {
    await upstream.close();
    throw e;
  }
}

/**
 * Starts two things at once; if either fails, the one that started is stopped
 * before the error is rethrown, so a failed `beforeAll` leaves no process behind.
 */
export async function startTogether<A, B>(a: Promise<A>, b: Promise<B>, stop: (started: A | B) => Promise<unknown>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === "fulfilled" && rb.status === "fulfilled") return [ra.value, rb.value];
  await Promise.allSettled([ra, rb].flatMap((r) => (r.status === "fulfilled" ? [stop(r.value)] : [])));
  throw ra.status === "rejected" ? ra.reason : (rb as PromiseRejectedResult).reason;
}
