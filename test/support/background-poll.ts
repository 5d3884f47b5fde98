import type OpenAI from "openai";
import type { Stack } from "./stack.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A background response once it has ended, polled with the SDK's `retrieve` every 100 ms (30 s at most; the stack's output in the error then). */
export async function poll(client: OpenAI, id: string, stack: Stack): Promise<OpenAI.Responses.Response> {
  for (let i = 0; i < 300; i++) {
    const r = await client.responses.retrieve(id);
    if (r.status !== "queued" && r.status !== "in_progress") return r;
    await sleep(100);
  }
  throw new Error(`${id} never finished:\n${stack.output()}`);
}
