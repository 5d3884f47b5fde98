import { describe, expect, it } from "vitest";
import { requestBody, STREAM_FROM_CHARS } from "../../worker/run/request-body.ts";

describe("the upstream request body", () => {
  it("a small request is one JSON string, as before", () => {
    const request = { model: "m", messages: [{ role: "user", content: "hi" }], stream: true };
    expect(requestBody(request)).toBe(JSON.stringify(request));
  });

  it("a large one streams message by message, byte for byte what JSON.stringify writes (undefined fields left out), afresh for every attempt", async () => {
    const big = "é🙂x".repeat(STREAM_FROM_CHARS / 2);
    const request = { model: "m", temperature: undefined, messages: [{ role: "user", content: big }, { role: "assistant", content: null, tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }] }, { role: "tool", tool_call_id: "c", content: "ok" }], stream: true, stream_options: { include_usage: true }, user: undefined };
    const body = requestBody(request);
    expect(typeof body).toBe("function");
    const factory = body as () => ReadableStream<Uint8Array>;
    expect(await new Response(factory()).text()).toBe(JSON.stringify(request));
    expect(await new Response(factory()).text()).toBe(JSON.stringify(request));
    // messages first too.
    const first = { messages: request.messages, model: "m" };
    expect(await new Response((requestBody(first) as () => ReadableStream<Uint8Array>)()).text()).toBe(JSON.stringify(first));
  });
});
