import { describe, expect, it } from "vitest";
import { configFromEnv } from "../../worker/config.ts";
import type { Env } from "../../worker/env.ts";
import { type Fetch, handle } from "../../worker/router.ts";
import { checkInvariants } from "../support/invariants.ts";

// Inside workerd: the Worker's streaming path reads the upstream itself, so what a network does
// to the upstream body (reset, stall, comments) reaches the client as protocol events.

const BRIDGE = "http://bridge.test";
const enc = new TextEncoder();
const frame = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

function bridge(env: Partial<Env>, fetchUpstream: Fetch, body: Record<string, unknown> = { model: "m", input: "x", stream: true }) {
  const config = configFromEnv({ UPSTREAM_BASE_URL: "http://upstream.test/v1", ...env });
  return handle(new Request(`${BRIDGE}/v1/responses`, { method: "POST", body: JSON.stringify(body) }), config, fetchUpstream);
}

/** An upstream body: these parts, then `end`. */
function upstreamOf(parts: string[], end: "close" | "reset" | "stall") {
  const state = { cancelled: false, calls: 0 };
  const fetchUpstream: Fetch = async () => {
    state.calls++;
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (i < parts.length) return c.enqueue(enc.encode(parts[i++]!));
        if (end === "close") return c.close();
        if (end === "reset") return c.error(new Error("Network connection lost."));
        return new Promise<void>(() => {});
      },
      cancel() {
        state.cancelled = true;
      },
    });
    return new Response(body, { headers: { "content-type": "text/event-stream" } });
  };
  return { state, fetchUpstream };
}

describe("the Worker's stream survives its upstream", () => {
  it("a reset mid-stream: the text that arrived, then error + response.failed with the cause", async () => {
    const u = upstreamOf([frame({ content: "Hello" }), frame({ content: ", wor" })], "reset");
    const raw = await (await bridge({}, u.fetchUpstream)).text();
    const final = checkInvariants(raw);
    expect(final.status).toBe("failed");
    expect(final.error).toMatchObject({ code: "upstream_disconnected", message: expect.stringContaining("Network connection lost.") });
    expect(final.output[0]).toMatchObject({ status: "incomplete", content: [{ text: "Hello, wor" }] });
  });

  it("a stall: after UPSTREAM_IDLE_TIMEOUT_MS the upstream is cancelled and the response fails naming the timeout", async () => {
    const u = upstreamOf([frame({ content: "Hel" })], "stall");
    const raw = await (await bridge({ UPSTREAM_IDLE_TIMEOUT_MS: "100" }, u.fetchUpstream)).text();
    const final = checkInvariants(raw);
    expect(final.error?.code).toBe("upstream_idle_timeout");
    expect(u.state.cancelled).toBe(true);
  });

  it("keep-alive comments pass through as SSE comments and the answer completes", async () => {
    const u = upstreamOf([": keep-alive\n\n", ": keep-alive\n\n", frame({ content: "ok" }, "stop"), "data: [DONE]\n\n"], "close");
    const raw = await (await bridge({}, u.fetchUpstream)).text();
    expect(raw.startsWith(": keep-alive\n\n")).toBe(true);
    expect(checkInvariants(raw).status).toBe("completed");
  });

  it("stream_options.include_obfuscation: false turns the padding off; it is on otherwise", async () => {
    const parts = [frame({ content: "ok" }, "stop"), "data: [DONE]\n\n"];
    checkInvariants(await (await bridge({}, upstreamOf(parts, "close").fetchUpstream)).text(), undefined, { obfuscated: true });
    const off = await bridge({}, upstreamOf(parts, "close").fetchUpstream, { model: "m", input: "x", stream: true, stream_options: { include_obfuscation: false } });
    checkInvariants(await off.text(), undefined, { obfuscated: false });
  });
});

describe("retries before the first byte (UPSTREAM_RETRIES)", () => {
  const ok = () => new Response(frame({ content: "ok" }, "stop") + "data: [DONE]\n\n", { headers: { "content-type": "text/event-stream" } });

  function sequence(answers: Array<() => Response | Promise<Response>>) {
    const state = { calls: 0 };
    const fetchUpstream: Fetch = async () => answers[Math.min(state.calls++, answers.length - 1)]!();
    return { state, fetchUpstream };
  }

  it("off by default: a 503 reaches the client", async () => {
    const s = sequence([() => new Response("busy", { status: 503 }), ok]);
    expect((await bridge({}, s.fetchUpstream)).status).toBe(503);
    expect(s.state.calls).toBe(1);
  });

  it("a 503, a 502 and a failed connection are retried within the bound", async () => {
    const s = sequence([
      () => new Response("busy", { status: 503, headers: { "retry-after": "0" } }),
      () => new Response("bad gateway", { status: 502, headers: { "retry-after-ms": "1" } }),
      () => Promise.reject(new TypeError("connect ECONNREFUSED")),
      ok,
    ]);
    const res = await bridge({ UPSTREAM_RETRIES: "3", UPSTREAM_RETRY_MAX_WAIT_MS: "20" }, s.fetchUpstream);
    expect(res.status).toBe(200);
    expect(checkInvariants(await res.text()).status).toBe("completed");
    expect(s.state.calls).toBe(4);
  });

  it("gives up after the bound, with the upstream's last answer", async () => {
    const s = sequence([() => new Response("busy", { status: 503, headers: { "retry-after": "0" } })]);
    expect((await bridge({ UPSTREAM_RETRIES: "2" }, s.fetchUpstream)).status).toBe(503);
    expect(s.state.calls).toBe(3);
  });

  it("a 429 is retried only when its Retry-After is short", async () => {
    const short = sequence([() => new Response("slow down", { status: 429, headers: { "retry-after-ms": "5" } }), ok]);
    expect((await bridge({ UPSTREAM_RETRIES: "1" }, short.fetchUpstream)).status).toBe(200);
    const long = sequence([() => new Response("quota", { status: 429, headers: { "retry-after": "60" } }), ok]);
    expect((await bridge({ UPSTREAM_RETRIES: "1" }, long.fetchUpstream)).status).toBe(429);
    const none = sequence([() => new Response("quota", { status: 429 }), ok]);
    expect((await bridge({ UPSTREAM_RETRIES: "1" }, none.fetchUpstream)).status).toBe(429);
  });

  it("never after streaming began: a reset mid-stream is a failed response, not a second call", async () => {
    const u = upstreamOf([frame({ content: "partial" })], "reset");
    const raw = await (await bridge({ UPSTREAM_RETRIES: "3" }, u.fetchUpstream)).text();
    expect(checkInvariants(raw).status).toBe("failed");
    expect(u.state.calls).toBe(1);
  });

  it("a bad setting is a config error naming the variable", () => {
    expect(() => configFromEnv({ UPSTREAM_BASE_URL: "http://x", UPSTREAM_IDLE_TIMEOUT_MS: "soon" })).toThrow(/UPSTREAM_IDLE_TIMEOUT_MS/);
    expect(() => configFromEnv({ UPSTREAM_BASE_URL: "http://x", UPSTREAM_RETRIES: "-1" })).toThrow(/UPSTREAM_RETRIES/);
  });
});
