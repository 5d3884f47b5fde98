import { describe, expect, it } from "vitest";
import { ConfigError, configFromEnv } from "../../worker/config.ts";
import { maxMessageHeader, tooLarge } from "../../worker/ws/message-limit.ts";
import { UPSTREAM, withEnv } from "./bridge.ts";
import { WsClient } from "./ws-client.ts";

// The Responses WebSocket's message size limit (issue 25, item 4): announced on the upgrade in
// `x-codex-websocket-max-message-bytes` (Codex 0.171 sends a larger `response.create` over HTTP
// instead; test/clients/codex-provider-limits.test.ts), and a message over it that the runtime
// let through gets an error frame, never a dead socket.

async function open(env: Record<string, string> = {}) {
  const call = withEnv(env);
  const res = await call("/v1/responses", { headers: { upgrade: "websocket" } });
  expect(res.status).toBe(101);
  return { header: res.headers.get("x-codex-websocket-max-message-bytes"), client: new WsClient(res.webSocket!) };
}

describe("the WebSocket's message size limit", () => {
  it("the upgrade announces the platform's 32 MiB by default, or WS_MAX_MESSAGE_BYTES", async () => {
    const plain = await open();
    expect(plain.header).toBe("33554432");
    plain.client.ws.close();
    const small = await open({ WS_MAX_MESSAGE_BYTES: "2000" });
    expect(small.header).toBe("2000");
    small.client.ws.close();
  });

  it("a larger message gets a 413 error frame (code websocket_message_too_large), and the socket goes on", async () => {
    const { client } = await open({ WS_MAX_MESSAGE_BYTES: "2000" });
    client.create({ model: "scripted-text", input: "x".repeat(2500) });
    expect(await client.turn()).toEqual([
      expect.objectContaining({ type: "error", status: 413, error: expect.objectContaining({ type: "invalid_request_error", code: "websocket_message_too_large", message: expect.stringContaining("at most 2000 bytes") }) }),
    ]);
    // Counted in bytes, not characters: 980 two-byte characters are 1960 bytes, and with the frame's JSON around them past 2000.
    client.create({ model: "scripted-text", input: "é".repeat(980) });
    expect((await client.turn()).at(-1)).toMatchObject({ type: "error", status: 413 });
    client.create({ model: "scripted-text", input: "x".repeat(1800) });
    expect((await client.turn()).at(-1)).toMatchObject({ type: "response.completed" });
    expect(client.closed).toBe(false);
    client.ws.close();
  });

  it("frames waiting behind a running response hold at most one message's worth of bytes: past it, a 429 in its turn, and the socket goes on", async () => {
    const { client } = await open({ WS_MAX_MESSAGE_BYTES: "2000" });
    client.create({ model: "scripted-slow", input: "slow" });
    // Each fits the limit alone (about 1460 bytes); two of them waiting would not.
    for (const n of [1, 2, 3]) client.create({ model: "scripted-text", input: `${n}`.repeat(1400) });
    expect((await client.turn()).at(-1)).toMatchObject({ type: "response.completed" });
    expect((await client.turn()).at(-1)).toMatchObject({ type: "response.completed" });
    for (let i = 0; i < 2; i++) {
      expect(await client.turn()).toEqual([
        expect.objectContaining({ type: "error", status: 429, error: expect.objectContaining({ code: "too_many_requests", message: "Messages of more than 2000 bytes in all were waiting for the running response on this connection." }) }),
      ]);
    }
    client.create({ model: "scripted-text", input: "after" });
    expect((await client.turn()).at(-1)).toMatchObject({ type: "response.completed" });
    expect(client.closed).toBe(false);
    client.ws.close();
  });

  it("a pass-through socket announces the upstream's own figure when that is smaller", () => {
    const h = "x-codex-websocket-max-message-bytes";
    expect(maxMessageHeader(1000)).toEqual({ [h]: "1000" });
    expect(maxMessageHeader(1000, new Headers({ [h]: "500" }))).toEqual({ [h]: "500" });
    expect(maxMessageHeader(1000, new Headers({ [h]: "5000" }))).toEqual({ [h]: "1000" });
    for (const junk of ["", "lots", "-5", "1.5"]) expect(maxMessageHeader(1000, new Headers({ [h]: junk }))).toEqual({ [h]: "1000" });
  });

  it("bytes are counted as UTF-8 without encoding: ASCII, two-, three- and four-byte characters, lone surrogates", () => {
    expect(tooLarge("a".repeat(10), 10)).toBeNull();
    expect(tooLarge("a".repeat(11), 10)?.status).toBe(413);
    expect(tooLarge("é".repeat(5), 10)).toBeNull();
    expect(tooLarge("é".repeat(6), 10)).not.toBeNull();
    expect(tooLarge("€".repeat(3), 9)).toBeNull();
    expect(tooLarge("€".repeat(3), 8)).not.toBeNull();
    expect(tooLarge("😀".repeat(2), 8)).toBeNull();
    expect(tooLarge("😀".repeat(2), 7)).not.toBeNull();
    expect(tooLarge("\ud800\ud800\ud800", 9)).toBeNull();
    expect(tooLarge("\ud800\ud800\ud800", 8)).not.toBeNull();
    expect(tooLarge(new ArrayBuffer(11), 10)).not.toBeNull();
  });

  it("WS_MAX_MESSAGE_BYTES is a whole number of bytes up to the platform's limit", () => {
    const base = { UPSTREAM_BASE_URL: `${UPSTREAM}/v1` };
    for (const bad of ["0", "-1", "1.5", "many", "33554433"]) expect(() => configFromEnv({ ...base, WS_MAX_MESSAGE_BYTES: bad }), bad).toThrow(ConfigError);
    expect(configFromEnv({ ...base, WS_MAX_MESSAGE_BYTES: "33554432" }).wsMaxMessageBytes).toBe(33554432);
  });
});
