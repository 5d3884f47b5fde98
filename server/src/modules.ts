// Internal: the ES modules handed to workerd: the bundled Worker and, from node_modules, the
// installed library and what it imports. workerd resolves every specifier relative to the
// importing module's name (a bare `eventsource-parser` inside `dist/streams/x.js` would mean
// `dist/streams/eventsource-parser`), so bare specifiers are rewritten to relative paths here.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, parse, relative, resolve, sep } from "node:path";

export interface WorkerModule {
  type: "ESModule";
  path: string;
  contents: string;
}

// `import … from "x"`, `export … from "x"`, `import "x"`, `import("x")` as tsc and esbuild emit them.
const SPECIFIER = /(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"'\n]+)\2/g;

const isBuiltin = (spec: string) => /^[a-z]+:/.test(spec);
const isRelative = (spec: string) => spec.startsWith("./") || spec.startsWith("../") || spec.startsWith("/");

/** `to` as a specifier relative to the module at `from` (always starting with `./` or `../`). */
export function relativeSpecifier(from: string, to: string): string {
  const r = relative(dirname(from), to).split(sep).join("/");
  return r.startsWith(".") ? r : `./${r}`;
}

/**
 * The specifiers `code` imports, and `code` with each bare one replaced by
 * what `resolveBare` gives (a relative specifier, or undefined to leave it); builtins (`cloudflare:…`, `node:…`) stay.
 */
export function rewriteImports(code: string, resolveBare: (spec: string) => string | undefined): { code: string; imports: string[] } {
  const imports: string[] = [];
  const out = code.replace(SPECIFIER, (whole, lead: string, quote: string, spec: string) => {
    if (isBuiltin(spec)) return whole;
    const target = isRelative(spec) ? spec : resolveBare(spec);
    // Unresolvable: prose in a comment that looks like an import (a real one fails loudly in workerd).
    if (target === undefined) return whole;
    imports.push(target);
    return `${lead}${quote}${target}${quote}`;
  });
  return { code: out, imports };
}

/** Every module reachable from `entry` (an absolute path), bare imports resolved as Node resolves them from each file. */
export function collectModules(entry: string): { modules: WorkerModule[]; modulesRoot: string } {
  const seen = new Map<string, WorkerModule>();
  const queue = [resolve(entry)];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const require = createRequire(file);
    const resolveBare = (spec: string) => {
      try {
        return relativeSpecifier(file, require.resolve(spec));
      } catch {
        return undefined;
      }
    };
    const { code, imports } = rewriteImports(readFileSync(file, "utf8"), resolveBare);
    seen.set(file, { type: "ESModule", path: file, contents: code });
    for (const spec of imports) {
      const target = resolve(dirname(file), spec);
      if (existsSync(target)) queue.push(target);
    }
  }
  return { modules: [...seen.values()], modulesRoot: parse(resolve(entry)).root };
}
