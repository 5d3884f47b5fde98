/**
 * The one place the Worker touches workerd's WebSocket extensions
 * (`WebSocketPair`, a `fetch` answer's `webSocket`): accept an upgrade, hand
 * the server end to `serve`, answer 101 with the client end; or take the
 * socket a `fetch` with `Upgrade: websocket` opened. Everything else speaks
 * the standard `WebSocket` API.
 */
/**
 * The largest message a Worker's WebSocket receives: 32 MiB, on Cloudflare (Workers limits) and in
 * workerd under Miniflare alike (measured: 33554432 bytes arrive, one more and the runtime closes the
 * socket with 1009 "Message is too large" before the Worker sees the message).
 */
export const PLATFORM_WS_MESSAGE_BYTES = 32 * 1024 * 1024;

export function acceptWebSocket(serve: (socket: WebSocket) => void, headers: Record<string, string> = {}): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  serve(server);
  return new Response(null, { status: 101, webSocket: client, headers });
}

/** The socket an upgrade `fetch` opened (accepted, ready to use), or null when the server did not upgrade. */
export function upgradedSocket(response: Response): WebSocket | null {
  const socket = response.status === 101 ? response.webSocket : null;
  if (!socket) return null;
  socket.accept();
  return socket;
}
