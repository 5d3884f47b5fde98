import { createServer } from "node:net";
import { scriptedUpstream } from "./scripted-upstream.ts";
import { serve } from "./serve.ts";
import { startWorker } from "./start-worker.ts";

/** A port nobody listens on right now, with the next one free too (wrangler's inspector takes port + 1). */
export async function freePortPair(): Promise<number> {
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await listen(0);
    if (port >= 65_535) continue;
    if (await listen(port + 1).then(() => true, () => false)) return port;
  }
  throw new Error("no free port pair on 127.0.0.1");
}

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
export async function startStack(vars: Record<string, string> = {}, upstreamHandler: (r: Request) => Promise<Response> = scriptedUpstream): Promise<Stack> {
  const upstream = await serve(upstreamHandler);
  try {
    const worker = await startWorker(upstream.url, await freePortPair(), vars);
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
