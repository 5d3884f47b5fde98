/**
 * The one place the Worker touches `WebSocketPair` (workerd's server-side
 * WebSocket): accept an upgrade, hand the server end to `serve`, answer 101
 * with the client end. Everything else speaks the standard `WebSocket` API.
 */
export function acceptWebSocket(serve: (socket: WebSocket) => void, headers: Record<string, string> = {}): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  serve(server);
  return new Response(null, { status: 101, webSocket: client, headers });
}
