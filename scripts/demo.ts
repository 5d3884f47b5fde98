/**
 * `npm run demo`: no provider needed. Starts the scripted chat-completions
 * server, the Worker in front of it (wrangler dev), prints the Responses
 * event stream a client receives for a text turn and a tool-call turn, then
 * keeps serving the page at / (sample streams and prompts on a timeline)
 * until Ctrl-C. `--once` stops after printing.
 */
import { spawn } from "node:child_process";
import { scriptedUpstream } from "../test/support/scripted-upstream.ts";
import { serve } from "../test/support/serve.ts";
import { startWorker } from "../test/support/start-worker.ts";

const upstream = await serve(scriptedUpstream);
console.log(`scripted chat-completions server  ${upstream.url}/v1`);
const worker = await startWorker(upstream.url, Number(process.env.PORT ?? 8787));
console.log(`responses-bridge worker            ${worker.url}/v1/responses\n`);

async function show(title: string, body: unknown): Promise<void> {
  console.log(`── ${title} ──`);
  const res = await fetch(`${worker.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const bytes of res.body!) {
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame.split("\n").find((l) => l.startsWith("data: "))?.slice(6);
      if (!data || data === "[DONE]") continue;
      const e = JSON.parse(data) as Record<string, unknown>;
      const detail = "delta" in e ? JSON.stringify(e.delta) : "item" in e ? `${(e.item as { type: string }).type}` : "response" in e ? `status=${(e.response as { status: string }).status}` : "";
      console.log(`${String(e.sequence_number).padStart(3)}  ${String(e.type).padEnd(42)} ${detail}`);
    }
  }
  console.log();
}

let stopping = false;
try {
  await show("text with reasoning", { model: "scripted-reasoning", input: "Say hello", stream: true });
  await show("a tool call", {
    model: "scripted-tools",
    input: "Weather in Paris?",
    stream: true,
    tools: [{ type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } }],
  });
  if (!process.argv.includes("--once")) {
    const page = `${worker.url}/`;
    console.log(`Watch it: ${page}  (pick a sample, or send a prompt to a scripted-* model; Ctrl-C stops)`);
    // Open a browser where there is a desktop; harmless where there is none.
    const opener = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? "xdg-open" : null;
    if (opener) spawn(opener, [page], { stdio: "ignore", detached: true }).on("error", () => {}).unref();
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    stopping = true;
  }
} finally {
  if (stopping) console.log("\nstopping…");
  await worker.stop();
  await upstream.close();
}
