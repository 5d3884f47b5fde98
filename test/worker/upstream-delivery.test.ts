import { beforeEach, describe, expect, it } from "vitest";
import { configFromEnv } from "../../worker/config.ts";
import type { Fetch } from "../../worker/router.ts";
import { callUpstream } from "../../worker/upstream.ts";
import { STREAM_FROM_CHARS } from "../../worker/run/request-body.ts";
import { events, resetSeen, seen, withEnv } from "./bridge.ts";

// A request that never reached the upstream (the connection failed before any response header) is
// sent once more, with a fresh body; one that was answered is never sent again. See worker/delivery.ts.

beforeEach(resetSeen);

const real: Fetch = (input, init) => fetch(input, init);
const lost = () => new TypeError("Network connection lost.");

/** Reads `chunks` chunks of a request's body (all of it when Infinity) and returns their bytes. */
async function readSome(init: RequestInit | undefined, chunks: number): Promise<Uint8Array[]> {
  const body = init?.body;
  if (typeof body === "string") return [new TextEncoder().encode(body)];
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const out: Uint8Array[] = [];
  for (let i = 0; i < chunks; i++) {
    const { value, done } = await reader.read();
    if (done) return out;
    out.push(value);
  }
  await reader.cancel();
  return out;
}

const bytes = (chunks: Uint8Array[]) => chunks.reduce((n, c) => n + c.byteLength, 0);
const large = { model: "scripted-text", input: "é".repeat(STREAM_FROM_CHARS + 10) };

describe("a request whose body never reached the upstream", () => {
  it("is sent once more with a fresh stream when the connection failed midway, and the upstream gets it whole", async () => {
    const calls: string[] = [];
    const flaky: Fetch = async (input, init) => {
      calls.push(typeof init?.body === "string" ? "string" : "stream");
      if (calls.length === 1) {
        await readSome(init, 2);
        throw lost();
      }
      return real(input, init);
    };
    const res = await withEnv({}, flaky)("/v1/responses", { method: "POST", body: JSON.stringify({ ...large, stream: true }) });
    expect(res.status).toBe(200);
    expect(events(await res.text()).at(-1)!.type).toBe("response.completed");
    expect(calls).toEqual(["stream", "stream"]);
    const up = (await seen()).requests.filter((r) => r.url === "/v1/chat/completions");
    expect(up).toHaveLength(1);
    expect((up[0]!.body.messages as Array<{ content: string }>)[0]!.content).toBe(large.input);
  });

  it("a string body is not sent again by itself: it may have reached the upstream whole (a second completion is billed twice)", async () => {
    let n = 0;
    const flaky: Fetch = async (input, init) => {
      if (++n === 1) throw lost();
      return real(input, init);
    };
    const res = await withEnv({}, flaky)("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: "hi" }) });
    expect(res.status).toBe(502);
    expect(n).toBe(1);
    const { error } = (await res.json()) as { error: { message: string; code: string } };
    expect(error.code).toBe("upstream_unreachable");
    expect(error.message).toMatch(/^Upstream http:\/\/upstream\.test could not be reached: Network connection lost\. No response byte arrived, and the request was not sent again: the upstream may have received it whole and begun on it, and a second one would be billed twice; UPSTREAM_RETRIES allows it \(attempt 1 of 1: Network connection lost, with a body of \d+ bytes\)\.$/);
    // UPSTREAM_RETRIES is the operator's consent to that: then it is sent again.
    n = 0;
    const retried = await withEnv({ UPSTREAM_RETRIES: "1" }, flaky)("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: "hi" }) });
    expect(retried.status).toBe(200);
    expect(n).toBe(2);
    // Failing every time, it was sent 1 + UPSTREAM_RETRIES times, and the error does not say otherwise.
    let m = 0;
    const dead: Fetch = async () => {
      m++;
      throw lost();
    };
    const failed = await withEnv({ UPSTREAM_RETRIES: "1", UPSTREAM_RETRY_MAX_WAIT_MS: "1" }, dead)("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: "hi" }) });
    expect(failed.status).toBe(502);
    expect(m).toBe(2);
    expect(((await failed.json()) as { error: { message: string } }).error.message).toBe("Upstream http://upstream.test could not be reached: Network connection lost.");
  });

  it("nor a stream body the runtime read to its end before the connection failed: the upstream may be generating it", async () => {
    const seenBytes: number[] = [];
    const tookItAll: Fetch = async (_input, init) => {
      seenBytes.push(bytes(await readSome(init, Infinity)));
      throw lost();
    };
    const res = await withEnv({}, tookItAll)("/v1/responses", { method: "POST", body: JSON.stringify({ ...large, stream: true }) });
    expect(res.status).toBe(502);
    expect(seenBytes).toHaveLength(1);
    const { error } = (await res.json()) as { error: { message: string } };
    const size = seenBytes[0]!;
    expect(error.message).toBe(
      `Upstream http://upstream.test could not be reached: Network connection lost. No response byte arrived, and the request was not sent again: the upstream may have received it whole and begun on it, and a second one would be billed twice; UPSTREAM_RETRIES allows it (attempt 1 of 1: Network connection lost, after sending ${size} of the body's ${size} bytes).`,
    );
  });

  it("the re-send counts as one of UPSTREAM_RETRIES: a dead upstream is asked 1 + UPSTREAM_RETRIES times, never twice that", async () => {
    for (const retries of [0, 1, 2]) {
      let n = 0;
      const dead: Fetch = async (_input, init) => {
        n++;
        await readSome(init, 1);
        throw lost();
      };
      const res = await withEnv({ UPSTREAM_RETRIES: String(retries), UPSTREAM_RETRY_MAX_WAIT_MS: "1" }, dead)("/v1/responses", { method: "POST", body: JSON.stringify(large) });
      expect(res.status).toBe(502);
      // The one re-send of a body cut short happens even with no retries configured.
      expect(n, `UPSTREAM_RETRIES=${retries}`).toBe(Math.max(2, retries + 1));
    }
  });

  it("is never sent again once the upstream answered, even if its body then breaks", async () => {
    let n = 0;
    const answersThenDies: Fetch = async (_input, init) => {
      n++;
      await readSome(init, Infinity);
      const encoder = new TextEncoder();
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent) return c.error(lost());
          sent = true;
          c.enqueue(encoder.encode(`data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "Hel" }, finish_reason: null }] })}\n\n`));
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const res = await withEnv({}, answersThenDies)("/v1/responses", { method: "POST", body: JSON.stringify({ ...large, stream: true }) });
    const list = events(await res.text());
    expect(list.at(-1)!.type).toBe("response.failed");
    expect(n).toBe(1);
  });

  it("nor after a timeout, nor when an HTTP error came back", async () => {
    let n = 0;
    const silent: Fetch = (_input, init) => {
      n++;
      return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    };
    const res = await withEnv({ UPSTREAM_TIMEOUT_MS: "100" }, silent)("/v1/responses", { method: "POST", body: JSON.stringify(large) });
    expect(res.status).toBe(504);
    expect(n).toBe(1);
    let m = 0;
    const refuses: Fetch = async (input, init) => {
      m++;
      return real(input, init);
    };
    const bad = await withEnv({}, refuses)("/v1/responses", { method: "POST", body: JSON.stringify({ ...large, model: "scripted-404" }) });
    expect(bad.status).toBe(404);
    expect(m).toBe(1);
  });

  it("failing twice, it says so in OpenAI's error shape: the cause, each attempt, the body's size and how far it got", async () => {
    const seenBytes: number[] = [];
    const dead: Fetch = async (_input, init) => {
      // The first attempt takes two chunks of the body, the second only its first chunk.
      seenBytes.push(bytes(await readSome(init, seenBytes.length === 0 ? 2 : 1)));
      throw lost();
    };
    const res = await withEnv({}, dead)("/v1/responses", { method: "POST", body: JSON.stringify(large) });
    expect(res.status).toBe(502);
    const { error } = (await res.json()) as { error: Record<string, unknown> };
    const [two, one] = seenBytes as [number, number];
    expect(seenBytes).toHaveLength(2);
    expect(one).toBeLessThan(two);
    const size = new TextEncoder().encode(JSON.stringify({ model: "scripted-text", messages: [{ role: "user", content: large.input }] })).byteLength;
    const match = /after sending \d+ of the body's (\d+) bytes;/.exec(error.message as string);
    expect(Number(match?.[1])).toBeGreaterThanOrEqual(size);
    const total = Number(match![1]);
    expect(two).toBeLessThan(total);
    expect(error).toEqual({
      request_id: expect.stringMatching(/^req_/),
      message: `Upstream http://upstream.test could not be reached: Network connection lost. The request was sent twice and no response byte arrived (attempt 1 of 2: Network connection lost, after sending ${two} of the body's ${total} bytes; attempt 2 of 2: Network connection lost, after sending ${one} of the body's ${total} bytes).`,
      type: "upstream_error",
      param: null,
      code: "upstream_unreachable",
    });
  });

  it("a string body's size is its UTF-8 bytes", async () => {
    const sent: string[] = [];
    const dead: Fetch = async (_input, init) => {
      sent.push(init?.body as string);
      throw lost();
    };
    const res = await withEnv({}, dead)("/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: "héllo 🙂" }) });
    expect(res.status).toBe(502);
    const { error } = (await res.json()) as { error: { message: string } };
    expect(sent).toHaveLength(1);
    const size = new TextEncoder().encode(sent[0]).byteLength;
    expect(size).toBeGreaterThan(sent[0]!.length);
    expect(error.message).toContain(`(attempt 1 of 1: Network connection lost, with a body of ${size} bytes).`);
  });

  it("nor when the client hung up meanwhile, even during the pause before the re-send", async () => {
    const config = configFromEnv({ UPSTREAM_BASE_URL: "http://upstream.test/v1" });
    for (const when of ["before", "during the pause"] as const) {
      const client = new AbortController();
      let n = 0;
      const dies: Fetch = async () => {
        n++;
        if (when === "before") client.abort();
        else setTimeout(() => client.abort(), 1);
        throw lost();
      };
      // A stream body the runtime never read: one that would be sent again, but for the hang-up.
      const body = () => new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode("{}")), c.close()) });
      const call = { target: "http://upstream.test/v1/chat/completions", method: "POST", body, stream: false, auth: null, clientSignal: client.signal };
      await expect(callUpstream(call, config, dies)).rejects.toMatchObject({ status: 502 });
      expect(n, when).toBe(1);
    }
  });
});
