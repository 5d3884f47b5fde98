import { scriptedUpstream } from "./scripted-upstream.ts";
import { serve } from "./serve.ts";
import { startWorker } from "./start-worker.ts";
const up = await serve(scriptedUpstream, 8600);
const vars = process.env.STACK_VARS ? JSON.parse(process.env.STACK_VARS) : {};
const w = await startWorker(up.url, 8787, vars);
console.log("READY", w.url);
process.on("SIGTERM", async () => { await w.stop(); await up.close(); process.exit(0); });
setInterval(() => {}, 1000);
