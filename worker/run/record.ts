import { type IdGenerator, type ResponseResource, type ResponsesRequest } from "../../src/index.ts";
import { type ConversationItem, storedResponse } from "../../src/server.ts";
import type { ClientContext } from "../context.ts";
import { redact } from "../upstream.ts";

/**
 * Hands the finished response (any status; `cancelled` when the client went away) to the context
 * (a connection's memory) and, unless `store: false`, to the store. Called just before the terminal
 * event goes out, so the write is on its way before the client can send a continuation; the answer
 * never waits for it.
 */
export function recordEnd(request: ResponsesRequest, input: ConversationItem[], response: ResponseResource, ids: IdGenerator, ctx: ClientContext, persist: boolean): void {
  const record = storedResponse(input, response, ids);
  ctx.onRecord?.(record);
  const store = ctx.store;
  if (!persist || !store || request.store === false) return;
  ctx.waitUntil(
    store.put(record).catch((e: unknown) => {
      // The client has its answer; a lost write shows up as an unknown id later, and here once.
      console.error(`responses-bridge: storing ${response.id} failed: ${redact(String((e as Error)?.message ?? e), ctx.config)}`);
    }),
  );
}

