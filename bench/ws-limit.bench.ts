/**
 * The largest WebSocket message a Worker receives in workerd as Miniflare runs it (what
 * `responses-bridge-server` and `wrangler dev` run): a Worker that answers each message with its
 * length, sent messages around 32 MiB. Prints what arrived and how the socket ended. The figure is
 * what `PLATFORM_WS_MESSAGE_BYTES` (worker/cloudflare/websocket.ts) announces; see bench/README.md.
 *
 *   node bench/ws-limit.bench.ts
 */
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const WORKER = `export default { fetch() {
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  server.addEventListener("message", (e) => server.send(String(typeof e.data === "string" ? e.data.length : e.data.byteLength)));
  return new Response(null, { status: 101, webSocket: client });
} }`;

const MiB = 1024 * 1024;

/** Sends one message of `bytes` ASCII bytes; resolves with the Worker's answer or the close the runtime sent. */
function send(url: string, bytes: number): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => (resolve("no answer within 30 s"), ws.close()), 30_000);
    const end = (what: string) => {
      clearTimeout(timer);
      resolve(what);
    };
    ws.onopen = () => ws.send("x".repeat(bytes));
    ws.onmessage = (e) => {
      end(`received, the Worker saw ${String(e.data)} bytes`);
      ws.close();
    };
    ws.onclose = (e) => end(`closed ${e.code} ${e.reason}`);
  });
}

const mf = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, workers: [{ name: "ws-limit", modules: true, script: WORKER, compatibilityDate: "2026-08-01" }] }) as never);
try {
  const url = (await mf.ready).href.replace(/^http/, "ws");
  for (const bytes of [MiB, 32 * MiB - 1, 32 * MiB, 32 * MiB + 1, 33 * MiB]) console.log(`${bytes.toString().padStart(9)} bytes: ${await send(url, bytes)}`);
} finally {
  await mf.dispose();
}
