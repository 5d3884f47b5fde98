import { exports } from "cloudflare:workers";
import { expect, it } from "vitest";

it("serves a streamed response", async () => {
  const res = await exports.default.fetch("http://bridge.test/v1/responses", { method: "POST", body: JSON.stringify({ model: "scripted-text", input: "hi", stream: true }) });
  const text = await res.text();
  expect(res.status).toBe(200);
  expect(text).toContain("response.completed");
});
