// `npm pack` (prepack) / `npm run build` in server/: writes dist/ for the package.
// - dist/worker.js: the repository's Worker (worker/index.ts), unchanged, bundled by esbuild
//   with the library left as imports of `responses-bridge` and `responses-bridge/server`:
//   at run time the installed library package is loaded into workerd next to it (src/modules.ts).
// - dist/cli.js: the command (src/cli.ts), its dependencies left as imports.
// - dist/public/: the page's static assets (public/, with the page's copy of the library built first).
// Uses the repository's devDependencies (esbuild); nothing here ships.
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

const here = (p) => new URL(p, import.meta.url).pathname;
const dist = here("./dist/");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

// The Worker reaches the library only through its two entries (lint-enforced); they become the package's.
const libraryAsPackage = {
  name: "library-as-package",
  setup(b) {
    b.onResolve({ filter: /\/src\/(index|server)\.ts$/ }, (args) => {
      if (!args.importer.includes("/worker/")) return undefined;
      return { path: args.path.endsWith("server.ts") ? "responses-bridge/server" : "responses-bridge", external: true };
    });
  },
};

await build({
  entryPoints: [here("../worker/index.ts")],
  outfile: `${dist}worker.js`,
  bundle: true,
  format: "esm",
  platform: "neutral",
  conditions: ["workerd", "worker", "browser"],
  target: "es2022",
  external: ["cloudflare:*"],
  plugins: [libraryAsPackage],
  logLevel: "warning",
});

await build({
  entryPoints: [here("./src/cli.ts")],
  outfile: `${dist}cli.js`,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node22",
  packages: "external",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
});

execFileSync(process.execPath, [here("../scripts/build-page.mjs")], { stdio: "inherit" });
cpSync(here("../public"), `${dist}public`, { recursive: true });
