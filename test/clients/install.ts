/**
 * `npm ci` in test/clients (the real agent clients, Deno, Bun, Chromium and the browser driver
 * the tests use, kept out of the library's own install), skipped when node_modules already
 * matches the lock, so repeated `npm test` runs stay quick. Then Chromium is unpacked from its
 * package (once; `./chromium.ts`), so the browser tests start with it ready.
 * Install scripts run: Bun's and Deno's link the binary their platform package shipped.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";

const dir = new URL(".", import.meta.url).pathname;
const lock = `${dir}package-lock.json`;
const stamp = `${dir}node_modules/.installed-lock.json`;
const read = (f: string) => {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return null;
  }
};

if (read(stamp) !== read(lock)) {
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, stdio: "inherit" });
  copyFileSync(lock, stamp);
}

const { BUNDLED_PLATFORM, bundledChromium } = await import("./chromium.ts");
if (!process.env.CHROMIUM_PATH && `${process.platform}-${process.arch}` === BUNDLED_PLATFORM) await bundledChromium();
