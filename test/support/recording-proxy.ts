import { createServer, request as httpRequest } from "node:http";
import { connect } from "node:net";

export interface Recorded {
  method: string;
  path: string;
  /** The `Upgrade` header, lowercased, or null for a plain HTTP request. */
  upgrade: string | null;
  /** For an upgrade: the status line the target answered with (`HTTP/1.1 101 Switching Protocols`). */
  answer?: string;
  /** For an upgrade: the target's answer headers, names lowercased. */
  answerHeaders?: Record<string, string>;
  /** For a plain HTTP request: its body, once it has arrived whole. */
  body?: string;
}

/**
 * A transparent HTTP proxy in front of `target` that records every request a
 * client makes, WebSocket upgrades included (their bytes are relayed as they
 * are, both ways). For tests that must show which transport a client used.
 * With `refuseUpgrades`, every upgrade is answered 403, as by a network that lets no WebSocket through.
 */
export async function recordingProxy(target: string, options: { refuseUpgrades?: boolean } = {}): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const to = new URL(target);
  const requests: Recorded[] = [];
  // Upgraded sockets leave the HTTP server's books; they are closed by hand.
  const tunnels = new Set<{ destroy(): void }>();
  const server = createServer((req, res) => {
    const record: Recorded = { method: req.method ?? "", path: req.url ?? "", upgrade: null };
    requests.push(record);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => (record.body = Buffer.concat(chunks).toString("utf8")));
    const out = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  server.on("upgrade", (req, socket, head) => {
    const record: Recorded = { method: req.method ?? "", path: req.url ?? "", upgrade: String(req.headers.upgrade ?? "").toLowerCase() };
    requests.push(record);
    // A network that lets no WebSocket through (some proxies): the client has to fall back to HTTP.
    if (options.refuseUpgrades) {
      record.answer = "HTTP/1.1 403 Forbidden";
      socket.end("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    const upstream = connect(Number(to.port), to.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length) upstream.write(head);
      upstream.once("data", (first: Buffer) => {
        const [status, ...lines] = first.toString("latin1").split("\r\n\r\n")[0]!.split("\r\n");
        record.answer = status;
        record.answerHeaders = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
        socket.write(first);
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
    });
    const end = () => {
      upstream.destroy();
      socket.destroy();
    };
    tunnels.add({ destroy: end });
    upstream.on("error", end);
    socket.on("error", end);
    upstream.on("close", end);
    socket.on("close", end);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const t of tunnels) t.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
