import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { parseCommand, parseVar, shownVar, UsageError, WORKER_VARS } from "../../server/src/args.ts";
import { buildCatalog, FALLBACK_TEMPLATE, mergeConfig, pickTemplate, providerBlock, reasons, topLevelKeys } from "../../server/src/codex-config.ts";
import { relativeSpecifier, rewriteImports } from "../../server/src/modules.ts";
import { COMPATIBILITY_DATE, COMPATIBILITY_FLAGS, DURABLE_OBJECTS } from "../../server/src/serve.ts";

const root = new URL("../../", import.meta.url);
const HOME = "/home/u";

describe("the command line", () => {
  it("refuses to serve the network with the upstream key and no client keys, unless ALLOW_ANONYMOUS=true", () => {
    const up = ["--upstream", "http://127.0.0.1:11434/v1"];
    expect(() => parseCommand([...up, "--host", "0.0.0.0"], { UPSTREAM_API_KEY: "sk-owner" }, "/home/u")).toThrow(UsageError);
    expect(() => parseCommand([...up, "--host", "0.0.0.0", "--var", 'MODEL_MAP={"x":{"model":"m","api_key":"sk-owner"}}'], {}, "/home/u")).toThrow(/PROXY_API_KEYS/);
    for (const ok of [
      parseCommand([...up, "--host", "0.0.0.0", "--var", "PROXY_API_KEYS=sk-a"], { UPSTREAM_API_KEY: "sk-owner" }, "/home/u"),
      parseCommand([...up, "--host", "0.0.0.0", "--var", "ALLOW_ANONYMOUS=true"], { UPSTREAM_API_KEY: "sk-owner" }, "/home/u"),
      parseCommand([...up, "--host", "127.0.0.1"], { UPSTREAM_API_KEY: "sk-owner" }, "/home/u"),
      parseCommand([...up, "--host", "0.0.0.0"], {}, "/home/u"),
    ])
      expect(ok.kind).toBe("serve");
  });

  it("prints no secret: key variables as (set), the api_key values inside MODEL_MAP masked", () => {
    expect(shownVar("UPSTREAM_API_KEY", "sk-owner")).toBe("(set)");
    const shown = shownVar("MODEL_MAP", '{"x":{"model":"m","api_key":"sk-owner-\\"quoted"},"y":"z"}');
    expect(shown).not.toContain("sk-owner");
    expect(shown).toBe('{"x":{"model":"m","api_key":"***"},"y":"z"}');
  });

  it("serve: --upstream, port, host, data default under home, wrangler.toml's defaults", () => {
    expect(parseCommand(["--upstream", "http://127.0.0.1:11434/v1/"], {}, HOME)).toEqual({
      kind: "serve",
      host: "127.0.0.1",
      port: 8787,
      data: "/home/u/.responses-bridge",
      vars: { UPSTREAM_BASE_URL: "http://127.0.0.1:11434/v1", UPSTREAM_TIMEOUT_MS: "60000", CORS_ALLOWED_ORIGINS: "*" },
    });
    expect(parseCommand(["-u", "https://api.deepseek.com/v1", "-p", "9000", "--host", "0.0.0.0", "-d", "/tmp/d"], {}, HOME)).toMatchObject({ host: "0.0.0.0", port: 9000, data: "/tmp/d" });
  });

  it("every Worker variable comes from the environment; --var wins; --upstream wins over both", () => {
    const env = { UPSTREAM_BASE_URL: "http://env/v1", UPSTREAM_API_KEY: "sk-env", MODEL_MAP: '{"a":"b"}', HOME: "/x", PATH: "/bin" };
    const c = parseCommand(["--var", "MODEL_MAP={\"a\":\"c\"}", "--var", "REASONING_MODE:raw"], env, HOME);
    expect(c).toMatchObject({ vars: { UPSTREAM_BASE_URL: "http://env/v1", UPSTREAM_API_KEY: "sk-env", MODEL_MAP: '{"a":"c"}', REASONING_MODE: "raw" } });
    expect((c as { vars: object }).vars).not.toHaveProperty("HOME");
    expect(parseCommand(["-u", "http://flag/v1", "--var", "UPSTREAM_BASE_URL=http://var/v1"], env, HOME)).toMatchObject({ vars: { UPSTREAM_BASE_URL: "http://flag/v1" } });
  });

  it("the variable list is the Worker's Env (every string binding in worker/env.ts)", () => {
    const env = readFileSync(new URL("worker/env.ts", root), "utf8");
    const declared = [...env.matchAll(/^\s+([A-Z_]+)\?: string;/gm)].map((m) => m[1]);
    expect([...WORKER_VARS].sort()).toEqual(declared.sort());
  });

  it("refuses what it cannot use, in one line", () => {
    const error = (argv: string[], env = {}) => {
      try {
        parseCommand(argv, env, HOME);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(error([])).toMatch(/^missing --upstream URL/);
    expect(error(["-u", "ftp://x"])).toMatch(/http\(s\) URL/);
    expect(error(["-u", "not a url"])).toMatch(/http\(s\) URL/);
    expect(error(["-u", "http://x/v1", "--port", "99999"])).toMatch(/--port/);
    expect(error(["-u", "http://x/v1", "--bogus"])).toMatch(/bogus/);
    expect(error(["serve-it"])).toMatch(/unknown command serve-it/);
    expect(error(["-u", "http://x/v1", "--var", "NOPE=1"])).toMatch(/not a Worker variable/);
    expect(() => parseVar("lower=1")).toThrow(UsageError);
    for (const m of [error([]), error(["-u", "http://x/v1", "--bogus"])]) expect(m).not.toContain("\n");
  });

  it("help, version, codex-config", () => {
    expect(parseCommand(["--help"], {}, HOME)).toEqual({ kind: "help", topic: "serve" });
    expect(parseCommand(["codex-config", "-h"], {}, HOME)).toEqual({ kind: "help", topic: "codex-config" });
    expect(parseCommand(["--version"], {}, HOME)).toEqual({ kind: "version" });
    expect(parseCommand(["codex-config", "-u", "http://up/v1", "-m", "a", "-m", "b", "--context-window", "32768", "--write", "-p", "9000"], { UPSTREAM_API_KEY: "k", CODEX_HOME: "/c" }, HOME)).toEqual({
      kind: "codex-config",
      upstream: "http://up/v1",
      upstreamKey: "k",
      baseURL: "http://127.0.0.1:9000/v1",
      models: ["a", "b"],
      reasoning: [],
      contextWindow: 32768,
      write: true,
      codexHome: "/c",
    });
    expect(parseCommand(["codex-config", "-u", "http://up/v1"], {}, HOME)).toMatchObject({ codexHome: "/home/u/.codex", write: false, contextWindow: undefined });
  });
});

describe("the Worker in workerd", () => {
  it("uses wrangler.toml's compatibility date and flags", () => {
    const toml = parse(readFileSync(new URL("wrangler.toml", root), "utf8")) as { compatibility_date: string; compatibility_flags: string[] };
    expect(COMPATIBILITY_DATE).toBe(toml.compatibility_date);
    expect(COMPATIBILITY_FLAGS).toEqual(toml.compatibility_flags);
  });

  it("binds every Durable Object wrangler.toml binds, with the same class, on SQLite", () => {
    const toml = parse(readFileSync(new URL("wrangler.toml", root), "utf8")) as { durable_objects: { bindings: Array<{ name: string; class_name: string }> } };
    const expected = Object.fromEntries(toml.durable_objects.bindings.map((b) => [b.name, { className: b.class_name, useSQLite: true }]));
    expect(DURABLE_OBJECTS).toEqual(expected);
  });

  it("bare imports become relative paths (workerd resolves every specifier against the importer); builtins stay", () => {
    const code = `import { a } from "responses-bridge";\nexport * from "./x.js";\nimport { DurableObject } from "cloudflare:workers";\nconst m = import("responses-bridge/server");\n// comes from "somewhere else"`;
    const paths: Record<string, string> = { "responses-bridge": "./lib/index.js", "responses-bridge/server": "./lib/server.js" };
    const { code: out, imports } = rewriteImports(code, (s) => paths[s]);
    expect(out).toBe(`import { a } from "./lib/index.js";\nexport * from "./x.js";\nimport { DurableObject } from "cloudflare:workers";\nconst m = import("./lib/server.js");\n// comes from "somewhere else"`);
    expect(imports).toEqual(["./lib/index.js", "./x.js", "./lib/server.js"]);
    expect(relativeSpecifier("/a/node_modules/p/dist/s/x.js", "/a/node_modules/q/dist/index.js")).toBe("../../../q/dist/index.js");
    expect(relativeSpecifier("/a/dist/worker.js", "/a/dist/lib.js")).toBe("./lib.js");
  });
});

const options = { models: [], reasoning: [], contextWindow: undefined };

describe("codex-config: the model catalog from GET /models", () => {
  it("vLLM's max_model_len, OpenRouter's context_length and supported_parameters, llama.cpp's n_ctx_train", () => {
    const list = {
      data: [
        { id: "Qwen/Qwen3-32B", max_model_len: 40960 },
        { id: "deepseek/deepseek-chat", context_length: 163840, supported_parameters: ["tools", "temperature"] },
        { id: "deepseek/deepseek-r1", context_length: 163840, supported_parameters: ["tools", "reasoning", "include_reasoning"], architecture: { input_modalities: ["text"] } },
        { id: "llama", meta: { n_ctx_train: 8192 } },
      ],
    };
    const [qwen, chat, r1, llama] = buildCatalog(list, options).models;
    expect(qwen).toMatchObject({ slug: "Qwen/Qwen3-32B", context_window: 40960, max_context_window: 40960, default_reasoning_level: "medium", apply_patch_tool_type: "freeform", priority: 1 });
    expect((qwen!.supported_reasoning_levels as Array<{ effort: string }>).map((l) => l.effort)).toEqual(["low", "medium", "high"]);
    expect(chat).toMatchObject({ context_window: 163840, supported_reasoning_levels: [] });
    expect(chat).not.toHaveProperty("default_reasoning_level");
    expect(r1).toMatchObject({ context_window: 163840, input_modalities: ["text"] });
    expect((r1!.supported_reasoning_levels as unknown[]).length).toBe(3);
    expect(llama).toMatchObject({ context_window: 8192, supported_reasoning_levels: [] });
  });

  it("--context-window is what Codex plans with; max_context_window stays what the model takes", () => {
    const [m] = buildCatalog({ data: [{ id: "big", max_model_len: 131072 }] }, { ...options, contextWindow: 32768 }).models;
    expect(m).toMatchObject({ context_window: 32768, max_context_window: 131072 });
    const [unknown] = buildCatalog({ data: [{ id: "ollama-model" }] }, options).models;
    expect(unknown).not.toHaveProperty("context_window");
    expect(unknown).not.toHaveProperty("max_context_window");
  });

  it("--model picks and orders, even models the upstream did not list; --reasoning marks a model that reasons", () => {
    const catalog = buildCatalog({ data: [{ id: "a" }, { id: "b", max_model_len: 1000 }] }, { models: ["b", "zzz"], reasoning: ["zzz"], contextWindow: undefined });
    expect(catalog.models.map((m) => [m.slug, m.priority, m.context_window])).toEqual([
      ["b", 1, 1000],
      ["zzz", 2, undefined],
    ]);
    expect(catalog.models[1]!.supported_reasoning_levels).toHaveLength(3);
    expect(buildCatalog(null, { models: ["x"], reasoning: [], contextWindow: 4096 }).models[0]).toMatchObject({ slug: "x", context_window: 4096 });
    expect(() => buildCatalog({ data: [] }, options)).toThrow(/--model/);
  });

  it("a reasoning model never gets an empty list of efforts", () => {
    for (const id of ["deepseek-reasoner", "qwen3:8b", "gpt-oss:20b", "qwq", "o3-mini", "some-thinking-model"]) expect(reasons({ id }, [])).toBe(true);
    for (const id of ["llama3.1:8b", "deepseek-chat", "mistral-small"]) expect(reasons({ id }, [])).toBe(false);
    const all = buildCatalog({ data: ["qwen3:8b", "llama3.1:8b"].map((id) => ({ id })) }, options).models;
    for (const m of all) expect((m.supported_reasoning_levels as unknown[]).length === 0).toBe(m.default_reasoning_level === undefined);
  });

  it("every entry has what Codex 0.169 requires, from its own gpt-5.5 entry when there is one", () => {
    const required = ["slug", "display_name", "supported_reasoning_levels", "shell_type", "visibility", "supported_in_api", "priority", "support_verbosity", "truncation_policy", "experimental_supported_tools", "base_instructions"];
    for (const m of buildCatalog({ data: [{ id: "x" }] }, options).models) for (const k of required) expect(m).toHaveProperty(k);
    const bundled = { models: [{ slug: "gpt-6", tool_mode: "code_mode_only" }, { ...FALLBACK_TEMPLATE, slug: "gpt-5.5", base_instructions: "Codex's own", upgrade: { model: "gpt-6" }, service_tiers: [{ id: "priority" }], context_window: 272000 }] };
    const template = pickTemplate(bundled)!;
    const [m] = buildCatalog({ data: [{ id: "local" }] }, options, template).models;
    expect(m).toMatchObject({ slug: "local", base_instructions: "Codex's own", service_tiers: [], supports_search_tool: false });
    expect(m).not.toHaveProperty("upgrade");
    expect(m).not.toHaveProperty("context_window");
    expect(pickTemplate({ nope: 1 })).toBeUndefined();
  });
});

describe("codex-config: config.toml", () => {
  const top = topLevelKeys("qwen3", "/c/responses-bridge-models.json");
  const provider = providerBlock("http://127.0.0.1:8787/v1");

  it("the provider block: Responses over a WebSocket, the key from an environment variable", () => {
    expect(parse(provider)).toEqual({ model_providers: { "responses-bridge": { name: "responses-bridge", base_url: "http://127.0.0.1:8787/v1", wire_api: "responses", supports_websockets: true, env_key: "RESPONSES_BRIDGE_API_KEY" } } });
  });

  it("merges into an existing config: its keys replaced, everything else (comments too) kept; twice is the same as once", () => {
    const existing = `# my settings\nmodel = "gpt-5.5" # old\napproval_policy = "never"\n\n[mcp_servers.docs]\ncommand = "docs-server" # keep me\n\n[model_providers.responses-bridge]\nbase_url = "http://old/v1"\n\n[profiles.fast]\nmodel = "other"\n`;
    const merged = mergeConfig(existing, top, provider);
    const parsed = parse(merged) as Record<string, any>;
    expect(parsed).toMatchObject({ model: "qwen3", model_provider: "responses-bridge", model_catalog_json: "/c/responses-bridge-models.json", approval_policy: "never", mcp_servers: { docs: { command: "docs-server" } }, profiles: { fast: { model: "other" } } });
    expect(parsed.model_providers["responses-bridge"].base_url).toBe("http://127.0.0.1:8787/v1");
    expect(merged).toContain("# my settings");
    expect(merged).toContain("# keep me");
    expect(merged).not.toContain("http://old/v1");
    expect(mergeConfig(merged, top, provider)).toBe(merged);
    expect(parse(mergeConfig("", top, provider))).toMatchObject({ model: "qwen3" });
  });

  it("leaves a config it cannot read alone", () => {
    expect(() => mergeConfig("model = = broken", top, provider)).toThrow();
  });
});
