import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserContext, browserSuite, CHROMIUM_SOURCE, launchChromium, type Page } from "../clients/browser.ts";
import { type Stack, startStack, startTogether } from "../support/stack.ts";
import { ROOT } from "./harness.ts";

// The page at / (public/, served by wrangler dev as Workers static assets), in Chromium.
export const OUTPUT = join(ROOT, "test-output");

let stack: Stack;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

/** What the timeline shows: each lane's kind, detail, state and text. */
function lanes() {
  return page.$$eval("#lanes > li", (items) =>
    items.map((li) => ({
      kind: li.querySelector(".kind")!.textContent,
      detail: li.querySelector(".detail")?.textContent ?? "",
      state: li.getAttribute("data-state"),
      ticks: li.querySelectorAll(".tick").length,
      text: li.querySelector(".lane-content")!.textContent,
    })),
  );
}

/** Plays a sample to its end and keeps a screenshot of the result in test-output/. */
async function playSample(name: string): Promise<void> {
  await page.getByRole("radio", { name }).check();
  await page.getByRole("button", { name: "Play sample" }).click();
  await page.waitForSelector("#terminal:not([hidden])", { timeout: 30_000 });
  await page.waitForSelector("button:not([disabled])");
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, `page-${name.toLowerCase().replace(/ /g, "-")}.png`), fullPage: true });
}

describe.skipIf(!CHROMIUM_SOURCE)(browserSuite("the page at /"), () => {
  beforeAll(async () => {
    [stack, browser] = await startTogether<Stack, Awaited<ReturnType<typeof launchChromium>>>(startStack(), launchChromium(), (started) => ("baseURL" in started ? started.stop() : started.close()));
    context = browser.context;
    page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (message) => void (message.type() === "error" && pageErrors.push(`console: ${message.text()}`)));
    await page.goto(`${stack.url}/`);
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("is the static asset, and the API still answers beside it", async () => {
    const html = await fetch(`${stack.url}/`);
    expect(html.headers.get("content-type")).toContain("text/html");
    expect(await html.text()).toContain('<ol id="lanes"');
    const missing = await fetch(`${stack.url}/v1/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  it("plays the parallel tool calls sample: one lane per call, opened and closed", async () => {
    await playSample("Parallel tool calls");
    const got = await lanes();
    expect(got.map(({ kind, detail, state }) => ({ kind, detail, state }))).toEqual([
      { kind: "response", detail: "", state: "completed" },
      { kind: "function call", detail: "get_weather", state: "completed" },
      { kind: "function call", detail: "get_time", state: "completed" },
    ]);
    expect(got[1]!.text).toBe('{"city": "Paris", "unit": "celsius"}');
    expect(got[1]!.ticks).toBeGreaterThan(3);
    expect(await page.textContent("#final")).toContain('get_time({"timezone": "Europe/Paris"})');
    expect(await page.textContent("#terminal")).toMatch(/^response\.completedafter[\d.]+ sinput tokens86output tokens31total117$/);
  });

  it("plays the upstream failure sample: what arrived is kept, the response fails with the upstream's words", async () => {
    await playSample("Upstream failure");
    const got = await lanes();
    expect(got.map(({ kind, state }) => ({ kind, state }))).toEqual([
      { kind: "response", state: "failed" },
      { kind: "message", state: "incomplete" },
    ]);
    expect(got[1]!.text).toBe("The report has three parts. First, the");
    expect(await page.textContent("#terminal")).toContain("Rate limit reached for deepseek-chat. Please try again in 20s.");
  });

  it("sends a prompt through the Worker's /v1/responses", async () => {
    await page.getByLabel("Model").fill("scripted-reasoning");
    await page.getByLabel("Prompt").fill("Say hello");
    await page.getByRole("button", { name: "Send" }).click();
    await page.waitForSelector("#terminal:not([hidden])", { timeout: 30_000 });
    await page.waitForSelector("button:not([disabled])");
    const got = await lanes();
    expect(got.map(({ kind, state, text }) => ({ kind, state, text }))).toEqual([
      { kind: "response", state: "completed", text: "" },
      { kind: "reasoning", state: "completed", text: "The user wants a greeting. Keep it short." },
      { kind: "message", state: "completed", text: "Hello from the scripted upstream." },
    ]);
    expect(await page.textContent("#final")).toBe("Hello from the scripted upstream.");
  });

  it("plays the reasoning sample, shows the raw frames, and saves a screenshot", async () => {
    await playSample("Reasoning");
    const got = await lanes();
    expect(got.map(({ kind, state }) => ({ kind, state }))).toEqual([
      { kind: "response", state: "completed" },
      { kind: "reasoning", state: "completed" },
      { kind: "message", state: "completed" },
    ]);
    expect(await page.textContent(".final-text")).toBe("There are three r's in \"strawberry\".");
    await page.getByText("Raw frames").click();
    expect(await page.isVisible("#raw-out")).toBe(true);
    expect(await page.textContent("#raw-out")).toContain("event: response.reasoning_summary_text.delta");
    expect(await page.textContent("#raw-in")).toContain('"reasoning_content"');
    await page.getByText("Raw frames").click();
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, "page.png"), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
