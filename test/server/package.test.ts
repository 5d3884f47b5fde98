import { mkdtempSync, readdirSync as readdir, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import OpenAI from "openai";
import { ResponsesWS } from "openai/resources/responses/ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCodex } from "../clients/codex.ts";
import { SCRIPTED_KEY, scriptedUpstream, seen } from "../support/scripted-upstream.ts";
import { serve } from "../support/serve.ts";
import { type Bin, groupAlive, listening, npx, packAndInstall } from "./installed.ts";

// `npm pack` both packages, install the tarballs into an empty folder, run `npx responses-bridge-server`
// (Miniflare, workerd) in front of the scripted chat server, and use it as a user would.

const CODEX_BIN_DIR = new URL("../clients/node_modules/.bin", import.meta.url).pathname;

/** The scripted server, whose `GET /models` answers as vLLM does (with `max_model_len`). */
async function upstreamHandler(request: Request): Promise<Response> {
  if (new URL(request.url).pathname.endsWith("/models")) {
    return Response.json({ object: "list", data: [{ id: "scripted-tools", object: "model", max_model_len: 65536 }, { id: "scripted-text", object: "model", max_model_len: 32768 }] });
  }
  return scriptedUpstream(request);
}

let dir: string;
let app: string;
let upstream: Awaited<ReturnType<typeof serve>>;
const running: Bin[] = [];

function start(args: string[], env: Record<string, string> = {}): Bin {
  const bin = npx(app, args, env);
  running.push(bin);
  return bin;
}

beforeAll(async () => {
  ({ dir, app } = packAndInstall());
  upstream = await serve(upstreamHandler);
});
afterAll(async () => {
  await Promise.all(running.map((b) => b.stop()));
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the bin to its exit; its code and everything it printed. */
async function exitOf(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = start(args, env);
  let stdout = "";
  let stderr = "";
  bin.child.stdout!.on("data", (d) => (stdout += d));
  bin.child.stderr!.on("data", (d) => (stderr += d));
  const code = await bin.exited;
  return { code, stdout, stderr };
}

describe("npx responses-bridge-server, installed from the packed tarballs", () => {
  it("--help lists the flags; codex-config --help its own", async () => {
    const help = await exitOf(["--help"]);
    expect(help.code).toBe(0);
    for (const flag of ["--upstream", "--port", "--host", "--data", "--var", "codex-config"]) expect(help.stdout).toContain(flag);
    const codex = await exitOf(["codex-config", "--help"]);
    expect(codex.code).toBe(0);
    for (const flag of ["--model", "--context-window", "--write", "--reasoning"]) expect(codex.stdout).toContain(flag);
  });

  it("exits non-zero with one clear line: no --upstream, an unusable data folder, a port in use", async () => {
    const missing = await exitOf([]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^responses-bridge-server: missing --upstream URL/)]);

    const file = join(dir, "not-a-folder");
    writeFileSync(file, "");
    const data = await exitOf(["--upstream", upstream.url + "/v1", "--port", "0", "--data", join(file, "data")]);
    expect(data.code).toBe(1);
    expect(data.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^responses-bridge-server: cannot use the data folder .*not-a-folder\/data \(ENOTDIR\)/)]);

    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    try {
      const port = String((busy.address() as { port: number }).port);
      const inUse = await exitOf(["--upstream", upstream.url + "/v1", "--port", port, "--data", join(dir, "busy")]);
      expect(inUse.code).toBe(1);
      expect(inUse.stderr.trim().split("\n")).toEqual([`responses-bridge-server: port ${port} on 127.0.0.1 is in use; stop what is using it or choose another with --port N`]);
    } finally {
      busy.close();
    }
  });

  describe("serving", () => {
    let bin: Bin;
    let url: string;
    let client: OpenAI;
    const data = () => join(dir, "data");
    const args = () => ["--upstream", `${upstream.url}/v1`, "--port", "0", "--data", data(), "--var", `MODEL_MAP={"gpt-5.5":"scripted-tools@exec_command"}`];
    // The upstream's key from the environment, as a user would keep it out of shell history.
    const env = { UPSTREAM_API_KEY: SCRIPTED_KEY };

    beforeAll(async () => {
      bin = start(args(), env);
      url = await listening(bin);
      client = new OpenAI({ apiKey: "sk-local", baseURL: `${url}/v1`, maxRetries: 0 });
    });

    it("prints its address and a Codex provider block; never a secret", () => {
      const out = bin.output();
      expect(out).toContain(`listening on ${url}`);
      expect(out).toContain(`[model_providers.responses-bridge]\nname = "responses-bridge"\nbase_url = "${url}/v1"\nwire_api = "responses"\nsupports_websockets = true\nenv_key = "RESPONSES_BRIDGE_API_KEY"`);
      expect(out).toContain("UPSTREAM_API_KEY = (set)");
      expect(out).not.toContain(SCRIPTED_KEY);
    });

    it("serves the page at / with its icon", async () => {
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('<link rel="icon" href="/favicon.svg"');
      const icon = await fetch(`${url}/favicon.svg`);
      expect(icon.status).toBe(200);
      expect(icon.headers.get("content-type")).toContain("image/svg+xml");
      expect((await fetch(`${url}/lib/responses-bridge.js`)).status).toBe(200);
    });

    it("streams a response through the openai SDK, with the upstream key from the environment", async () => {
      const stream = client.responses.stream({ model: "scripted-text", input: "Hi" });
      let text = "";
      stream.on("response.output_text.delta", (e) => (text += e.delta));
      const final = await stream.finalResponse();
      expect(final.status).toBe("completed");
      expect(text).toBe("Hello from the scripted upstream.");
      expect(seen.requests.at(-1)!.headers.authorization).toBe(`Bearer ${SCRIPTED_KEY}`);
    });

    it("chains by previous_response_id: the upstream receives the earlier turn", async () => {
      const one = await client.responses.create({ model: "scripted-text", input: "My name is Ada." });
      const two = await client.responses.create({ model: "scripted-text", previous_response_id: one.id, input: "What is my name?" });
      expect(two.previous_response_id).toBe(one.id);
      const messages = (seen.requests.at(-1)!.body as { messages: Array<{ role: string; content: unknown }> }).messages;
      expect(JSON.stringify(messages)).toContain("My name is Ada.");
      expect(messages.at(-1)).toMatchObject({ role: "user", content: "What is my name?" });
    });

    it("runs a turn over the WebSocket (the SDK's ResponsesWS)", async () => {
      const socket = new ResponsesWS(client);
      const errors: unknown[] = [];
      socket.on("error", (e) => errors.push(e));
      try {
        const done = new Promise<OpenAI.Responses.Response>((resolve) => socket.once("response.completed", (e) => resolve(e.response)));
        socket.send({ type: "response.create", model: "scripted-text", store: false, input: "Over the socket" });
        const response = await done;
        expect(response.status).toBe("completed");
        expect(JSON.stringify(response.output)).toContain("Hello from the scripted upstream.");
        expect(errors).toEqual([]);
      } finally {
        socket.close();
      }
    });

    it("compacts (POST /v1/responses/compact), and the compacted output starts the next request", async () => {
      const compacted = await client.responses.compact({ model: "scripted-text", input: [{ role: "user", content: "Plan a trip" }] });
      expect(compacted.object).toBe("response.compaction");
      const next = await client.responses.create({ model: "scripted-text", input: [...(compacted.output as OpenAI.Responses.ResponseInputItem[]), { role: "user", content: "Go on." }] });
      expect(next.status).toBe("completed");
      expect(JSON.stringify(seen.requests.at(-1)!.body)).toContain("Summary of the earlier part of this conversation");
    });

    it("keeps a stored response across a restart (Ctrl-C stops everything cleanly)", async () => {
      const stored = await client.responses.create({ model: "scripted-text", input: "Remember this.", store: true });
      const pid = bin.child.pid!;
      await bin.stop();
      expect(groupAlive(pid)).toBe(false);
      expect(bin.output()).toContain("SIGINT: stopping");
      expect(readFileSync(join(data(), "do", "responses-bridge-ResponseStoreObject", readdir(join(data(), "do", "responses-bridge-ResponseStoreObject"))[0]!)).length).toBeGreaterThan(0);

      bin = start(args(), env);
      url = await listening(bin);
      client = new OpenAI({ apiKey: "sk-local", baseURL: `${url}/v1`, maxRetries: 0 });
      const again = await client.responses.retrieve(stored.id);
      expect(again).toMatchObject({ id: stored.id, status: "completed" });
      expect(JSON.stringify(again.output)).toContain("Hello from the scripted upstream.");
    });

    it("codex-config --write: a catalog from GET /models, merged into config.toml; codex exec runs a tool round trip with no fallback-metadata warning", async () => {
      const codexHome = mkdtempSync(join(dir, "codex-home-"));
      writeFileSync(join(codexHome, "config.toml"), `# mine\napproval_policy = "never"\nsandbox_mode = "danger-full-access"\ncheck_for_update_on_startup = false\n`);
      const port = new URL(url).port;
      const written = await exitOf(["codex-config", "--upstream", `${upstream.url}/v1`, "--port", port, "--write"], { CODEX_HOME: codexHome, PATH: `${CODEX_BIN_DIR}:${process.env.PATH}` });
      expect(written.code, written.stderr).toBe(0);
      const config = readFileSync(join(codexHome, "config.toml"), "utf8");
      expect(config).toContain("# mine");
      expect(config).toContain('approval_policy = "never"');
      expect(config).toContain(`model_catalog_json = "${join(codexHome, "responses-bridge-models.json")}"`);
      const catalog = JSON.parse(readFileSync(join(codexHome, "responses-bridge-models.json"), "utf8")) as { models: Array<Record<string, unknown>> };
      expect(catalog.models.map((m) => [m.slug, m.context_window, m.max_context_window, m.apply_patch_tool_type])).toEqual([
        ["scripted-tools", 65536, 65536, "freeform"],
        ["scripted-text", 32768, 32768, "freeform"],
      ]);
      // Codex's own instructions (from the installed Codex's gpt-5.5 entry), not the short fallback.
      expect(String(catalog.models[0]!.base_instructions).length).toBeGreaterThan(5000);

      const run = await runCodex({ config, prompt: "Run a command", args: ["-m", "scripted-tools@exec_command"], env: { RESPONSES_BRIDGE_API_KEY: "sk-codex" } });
      await run.cleanup();
      const explain = `${JSON.stringify(run.events, null, 1)}\n${run.stderr}\n${bin.output()}`;
      expect(run.exitCode, explain).toBe(0);
      expect(run.items.find((i) => i.type === "command_execution"), explain).toMatchObject({ status: "completed", exit_code: 0, aggregated_output: "bridged\n" });
      expect(run.items.at(-1)!.text).toMatch(/^The tool said: [\s\S]*bridged/);
      expect(`${JSON.stringify(run.events)}${run.stderr}`).not.toMatch(/Model metadata for .* not found/);
      // The catalog is what made the difference: without it, the same run warns.
      const bare = await runCodex({ config: config.replace(/^model_catalog_json = .*$/m, ""), prompt: "Run a command", args: ["-m", "scripted-tools@exec_command"], env: { RESPONSES_BRIDGE_API_KEY: "sk-codex" } });
      await bare.cleanup();
      expect(`${JSON.stringify(bare.events)}${bare.stderr}`).toMatch(/Model metadata for `scripted-tools@exec_command` not found/);
    });
  });
});



