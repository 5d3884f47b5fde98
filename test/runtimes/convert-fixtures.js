// The conversions as a user writes them, in plain JavaScript so that Node, Deno, Bun and a
// browser page run this very file: fetch a Chat Completions stream, pipe it through the
// library, pipe the result into a writable. `responses-bridge` is resolved the way each
// runtime resolves packages (package.json + node_modules, an import map, a deno.json).
import { ChatChunksToResponsesEventsStream, ChatToResponsesStream } from "responses-bridge";

const request = { model: "fixture-model", input: "hi", stream: true };

/** Every fixture the server lists → the Responses SSE text the library produced from it. */
export async function convertFixtures(base) {
  const names = await fetch(`${base}/fixtures`).then((r) => r.json());
  const out = {};
  for (const name of names) {
    let text = "";
    const decoder = new TextDecoder();
    await fetch(`${base}/fixtures/${name}`)
      .then((r) => r.body.pipeThrough(new ChatToResponsesStream({ request })))
      .then((sse) => sse.pipeTo(new WritableStream({ write: (bytes) => void (text += decoder.decode(bytes, { stream: true })) })));
    out[name] = text;
  }
  return out;
}

/** The object-mode stream: parsed chunks in (as an SDK yields them), event objects out. */
export async function convertChunks(chunks) {
  const events = [];
  await new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  })
    .pipeThrough(new ChatChunksToResponsesEventsStream({ request }))
    .pipeTo(new WritableStream({ write: (e) => void events.push(e) }));
  return events;
}
