import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BrowserContext, browserSuite, CHROMIUM_SOURCE, chromiumSource, launchChromium } from "../clients/browser.ts";
import { BUNDLED_VERSION } from "../clients/chromium.ts";
import { scriptedUpstream } from "../support/scripted-upstream.ts";
import { comparable, expectSameConversions, fixtureServer, docSnippet, referenceConversions, staticFile, userProject } from "./harness.ts";

// A real browser (the Chromium `npm ci` brought: test/clients/chromium.ts): a plain page loads the
// built ESM through an import map (no bundler) and converts streams it fetches from a local server.

const RUNNER = `<!doctype html><title>fixtures</title>
<script type="importmap">{ "imports": { "responses-bridge": "/node_modules/responses-bridge/dist/index.js", "eventsource-parser": "/node_modules/eventsource-parser/dist/index.js" } }</script>
<script type="module">
  import { convertFixtures } from "/convert-fixtures.js";
  window.results = convertFixtures(location.origin);
</script>`;

let server: Awaited<ReturnType<typeof fixtureServer>>;
let user: ReturnType<typeof userProject>;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;

describe.skipIf(!CHROMIUM_SOURCE)(browserSuite("Chromium"), () => {
  beforeAll(async () => {
    user = userProject({ "runner.html": RUNNER, "snippet.html": `<!doctype html><title>snippet</title>\n${docSnippet("browser")}` });
    server = await fixtureServer(async (request) => (await staticFile(user.dir, request)) ?? scriptedUpstream(request));
    browser = await launchChromium();
    context = browser.context;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    user?.remove();
  });

  it("converts every fixture fetched from a server, as Node does", async () => {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}/runner.html`);
    const got = await page.evaluate(() => (window as unknown as { results: Promise<Record<string, string>> }).results);
    expect(errors).toEqual([]);
    expectSameConversions(got, await referenceConversions());
    await page.close();
  });

  it("runs the README's browser snippet", async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/snippet.html`);
    await page.waitForFunction(() => document.querySelector("#events")?.textContent?.includes("data: [DONE]"), undefined, { timeout: 30_000 });
    const raw = (await page.textContent("#events"))!;
    const events = comparable(raw) as Array<{ type: string; delta?: string }>;
    expect(events.at(-1)).toMatchObject({ type: "response.completed" });
    expect(events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("")).toBe("Hello from the scripted upstream.");
    await page.close();
  });

  it.runIf(CHROMIUM_SOURCE === "npm")("is the Chromium that npm brought, unpacked from @sparticuz/chromium", async () => {
    const page = await context.newPage();
    const agent = await page.evaluate(() => navigator.userAgent);
    expect(agent).toMatch(new RegExp(`HeadlessChrome/${BUNDLED_VERSION.split(".")[0]}\\.`));
    await page.close();
  });
});

describe("where the browser comes from", () => {
  const linux = { platform: "linux-x64", hasSystemChromium: true };
  const mac = { platform: "darwin-arm64", hasSystemChromium: false };

  it("CHROMIUM_PATH first, then npm's Chromium on Linux x64 (even beside Debian's), then Debian's", () => {
    expect(chromiumSource({ ...linux, chromiumPath: "/opt/chrome/chrome" })).toBe("CHROMIUM_PATH");
    expect(chromiumSource({ ...mac, chromiumPath: "/Applications/Chromium.app/Contents/MacOS/Chromium" })).toBe("CHROMIUM_PATH");
    expect(chromiumSource(linux)).toBe("npm");
    expect(chromiumSource({ ...linux, hasSystemChromium: false })).toBe("npm");
    expect(chromiumSource({ platform: "linux-arm64", hasSystemChromium: true })).toBe("system");
  });

  it("none where npm has no binary and the machine none: the suite's name says so and names CHROMIUM_PATH", () => {
    expect(chromiumSource(mac)).toBeNull();
    expect(browserSuite("Chromium", mac)).toBe("Chromium: skipped, npm has no Chromium for darwin-arm64; set CHROMIUM_PATH to a Chromium or Chrome binary to run it");
    expect(browserSuite("Chromium", linux)).toBe("Chromium (Chromium: npm)");
  });

  it.runIf(process.platform === "linux" && process.arch === "x64")("runs here: on Linux x64 the browser tests never skip", () => {
    expect(CHROMIUM_SOURCE).not.toBeNull();
  });
});
