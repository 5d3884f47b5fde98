/**
 * The Chromium that `npm ci` brings: `@sparticuz/chromium` ships a headless Chromium for Linux x64
 * in its tarball (brotli-compressed, with the NSS libraries it links and a font), so the browser
 * tests need nothing from the machine but Node and npm. Unpacked once, on first use, into
 * `node_modules/.cache/` beside the package (not the package's own `/tmp/chromium`, which every
 * project on a machine would share), atomically: a half-unpacked browser is never seen.
 */
import { createReadStream, createWriteStream, existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pipeline } from "node:stream/promises";
import { createBrotliDecompress } from "node:zlib";
import { extract } from "tar-stream";

/** How the launcher starts Chromium: its binary, and the environment it needs beside it. */
export interface ChromiumBinary {
  path: string;
  env?: Record<string, string>;
}

/** Only Linux x64 has a binary on npm (the package's arm64 build is not in its tarball). */
export const BUNDLED_PLATFORM = "linux-x64";

const PACKAGE = join(dirname(fileURLToPath(import.meta.resolve("@sparticuz/chromium"))), "..");
/** The package's version: its major is the Chromium major it ships. */
export const BUNDLED_VERSION = (JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8")) as { version: string }).version;
const CACHE = join(dirname(new URL(import.meta.url).pathname), "node_modules", ".cache", `sparticuz-chromium-${BUNDLED_VERSION}`);

/** The unpacked browser, unpacking it first when this is the first use. */
export async function bundledChromium(): Promise<ChromiumBinary> {
  if (!existsSync(join(CACHE, "chromium"))) await unpack();
  return {
    path: join(CACHE, "chromium"),
    // Its own NSS (the package's Amazon Linux set: a bare Debian has no libnss3) and fonts.
    env: { LD_LIBRARY_PATH: [join(CACHE, "lib"), process.env.LD_LIBRARY_PATH].filter(Boolean).join(":"), FONTCONFIG_FILE: join(CACHE, "fonts.conf") },
  };
}

/** Unpacks into a sibling folder, then renames it into place; a concurrent winner is kept. */
async function unpack(): Promise<void> {
  await mkdir(dirname(CACHE), { recursive: true });
  const partial = await mkdtemp(`${CACHE}.partial-`);
  try {
    const bin = join(PACKAGE, "bin");
    await Promise.all([
      pipeline(createReadStream(join(bin, "chromium.br")), createBrotliDecompress(), createWriteStream(join(partial, "chromium"), { mode: 0o755 })),
      untar(join(bin, "al2023.tar.br"), partial),
      untar(join(bin, "fonts.tar.br"), partial),
    ]);
    await writeFile(join(partial, "fonts.conf"), fontsConf(join(CACHE, "fonts")));
    await chmod(partial, 0o755); // mkdtemp's folder is the owner's only
    await rename(partial, CACHE);
  } catch (error) {
    if (!existsSync(join(CACHE, "chromium"))) throw error;
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

/** Extracts a `.tar.br` of plain files and folders (what the package ships) under `into`. */
async function untar(archive: string, into: string): Promise<void> {
  const entries = extract();
  const reading = pipeline(createReadStream(archive), createBrotliDecompress(), entries);
  reading.catch(() => undefined); // awaited below; an error also ends the loop
  for await (const entry of entries) {
    const target = join(into, entry.header.name);
    if (!target.startsWith(`${into}/`)) throw new Error(`${archive}: entry outside the archive: ${entry.header.name}`);
    if (entry.header.type === "directory") {
      await mkdir(target, { recursive: true });
      entry.resume();
    } else {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, entry as AsyncIterable<Uint8Array>, { mode: entry.header.mode });
    }
  }
  await reading;
}

/** The bundled font first, then the machine's fonts when it has any; the cache beside them. */
function fontsConf(fonts: string): string {
  return `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir>${fonts}</dir>
  <dir>/usr/share/fonts</dir>
  <cachedir>${fonts}-cache</cachedir>
</fontconfig>
`;
}
