import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { BRIDGE } from "./bridge.ts";

/** A frame the Worker sent on a Responses WebSocket. */
export type Frame = { type: string; status?: number; error?: { type: string; code: string; message: string; param: string | null }; response?: { id: string; status: string; output: Array<Record<string, unknown>>; usage?: Record<string, unknown> | null }; item?: Record<string, unknown>; [k: string]: unknown };

const TERMINAL = new Set(["response.completed", "response.failed", "response.incomplete"]);

/** The client side of one Responses WebSocket, with a bounded wait for every read. */
export class WsClient {
  private readonly inbox: Frame[] = [];
  private wake: (() => void) | null = null;
  closed = false;
  readonly ws: WebSocket;
  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.accept();
    ws.addEventListener("message", (e) => {
      this.inbox.push(JSON.parse(e.data as string) as Frame);
      this.wake?.();
    });
    ws.addEventListener("close", () => {
      this.closed = true;
      this.wake?.();
    });
  }

  create(body: Record<string, unknown>): void {
    this.ws.send(JSON.stringify({ type: "response.create", ...body }));
  }

  async next(timeoutMs = 10_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (this.inbox.length === 0) {
      if (this.closed) throw new Error("socket closed while waiting for a message");
      if (Date.now() > deadline) throw new Error("no message within the time allowed");
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    return this.inbox.shift()!;
  }

  /** Frames up to and including a terminal event or an error frame with a status (a request-level error). */
  async turn(): Promise<Frame[]> {
    const out: Frame[] = [];
    for (;;) {
      const m = await this.next();
      out.push(m);
      if (TERMINAL.has(m.type) || (m.type === "error" && typeof m.status === "number")) return out;
    }
  }
}

/** Opens a Responses WebSocket on the Worker as deployed (or through `open`). */
export async function connectWs(open: (init: RequestInit) => Promise<Response> = (init) => exports.default.fetch(`${BRIDGE}/v1/responses`, init)): Promise<WsClient> {
  const res = await open({ headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  return new WsClient(res.webSocket!);
}
