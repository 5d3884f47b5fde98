import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { BUNDLED_PLATFORM, bundledChromium, type ChromiumBinary } from "./chromium.ts";

export type { BrowserContext, Page } from "playwright-core";

const SYSTEM = "/usr/bin/chromium";

type Source = "CHROMIUM_PATH" | "npm" | "system";

/** What decides where the browser comes from (the running machine's, unless a test says otherwise). */
interface Machine {
  chromiumPath?: string;
  platform: string;
  hasSystemChromium: boolean;
}

const HERE: Machine = {
  chromiumPath: process.env.CHROMIUM_PATH || undefined,
  platform: `${process.platform}-${process.arch}`,
  hasSystemChromium: existsSync(SYSTEM),
};

/**
 * Where the browser comes from: `CHROMIUM_PATH` when set; else the one `npm ci` brought
 * (`@sparticuz/chromium`, Linux x64: this machine and CI, the same Chromium everywhere);
 * else Debian's `/usr/bin/chromium` when the machine has it; else none.
 */
export function chromiumSource(machine: Machine = HERE): Source | null {
  if (machine.chromiumPath) return "CHROMIUM_PATH";
  if (machine.platform === BUNDLED_PLATFORM) return "npm";
  return machine.hasSystemChromium ? "system" : null;
}

export const CHROMIUM_SOURCE = chromiumSource();

/** The name of a browser test's suite: it says why it is skipped when there is no browser. */
export function browserSuite(name: string, machine: Machine = HERE): string {
  const source = chromiumSource(machine);
  return source
    ? `${name} (Chromium: ${source})`
    : `${name}: skipped, npm has no Chromium for ${machine.platform}; set CHROMIUM_PATH to a Chromium or Chrome binary to run it`;
}

async function chromiumBinary(): Promise<ChromiumBinary> {
  const path = HERE.chromiumPath;
  if (path) {
    if (!existsSync(path)) throw new Error(`CHROMIUM_PATH=${path}: no such file`);
    return { path };
  }
  if (CHROMIUM_SOURCE === "npm") return bundledChromium();
  if (CHROMIUM_SOURCE === "system") return { path: SYSTEM };
  throw new Error(browserSuite("Chromium"));
}

/**
 * Headless Chromium driven by `playwright-core`, in a fresh profile, with
 * everything that would reach outside the machine switched off.
 */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const binary = await chromiumBinary();
  const profile = await mkdtemp(join(tmpdir(), "rb-chromium-"));
  const context = await chromium
    .launchPersistentContext(profile, {
      executablePath: binary.path,
      env: { ...process.env, ...binary.env },
      headless: true,
      viewport: { width: 1280, height: 860 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    })
    .catch(async (error: unknown) => {
      await rm(profile, { recursive: true, force: true });
      throw error;
    });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
