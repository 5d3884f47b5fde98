// The library as one browser module for the page in public/ (public/lib/, not committed):
// src bundled with eventsource-parser by esbuild. Wrangler runs this as its [build] step
// (dev, deploy) and `npm test` runs it first. It writes only when the bytes change, so
// several `wrangler dev`s starting at once (the tests) never see the asset change under them.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const out = new URL("../public/lib/responses-bridge.js", import.meta.url);
const result = await build({
  entryPoints: [new URL("../src/index.ts", import.meta.url).pathname],
  bundle: true,
  minify: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  write: false,
  logLevel: "warning",
});
const code = result.outputFiles[0].contents;
let current = null;
try {
  current = readFileSync(out);
} catch {}
if (!current || Buffer.compare(current, code) !== 0) {
  mkdirSync(new URL(".", out), { recursive: true });
  writeFileSync(out, code);
}
