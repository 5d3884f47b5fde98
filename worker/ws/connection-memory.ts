import type { ConversationItem, HistoryResolver, StoredResponse } from "../../src/server.ts";

/**
 * What one WebSocket connection remembers of its own responses, so that
 * `previous_response_id` can name one even with `store: false`, as in
 * OpenAI's WebSocket mode: each response with its whole input (already
 * expanded). Gone with the connection; bounded, oldest out first, since a
 * client continues from its latest responses. Layered over the durable
 * store (`layerResolvers`), it answers first.
 */
export class ConnectionMemory implements HistoryResolver {
  private readonly records = new Map<string, StoredResponse>();
  private readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }

  async history(id: string): Promise<ConversationItem[] | undefined> {
    const record = this.records.get(id);
    return record && [...record.input, ...record.response.output];
  }

  /** For `item_reference` to an item of this connection's responses; a handful of records, so a scan. */
  async item(id: string): Promise<ConversationItem | undefined> {
    for (const { input, response } of this.records.values()) {
      const found = [...input, ...response.output].find((item) => (item as { id?: unknown }).id === id);
      if (found) return found;
    }
    return undefined;
  }

  remember(record: StoredResponse): void {
    this.records.set(record.response.id, record);
    while (this.records.size > this.limit) this.records.delete(this.records.keys().next().value!);
  }

  forget(id: string): void {
    this.records.delete(id);
  }
}
