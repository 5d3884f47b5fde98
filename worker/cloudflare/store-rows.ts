/** Internal to the response store object: how rows of JSON text leave the object without one RPC message holding them all. */

/** Where a row is, and how big: enough to plan a read without reading values. */
export interface RowKey {
  rid: number;
  /** 0: the JSON is in the row's `data`; n: in n rows of `item_chunks`. */
  parts: number;
  /** The JSON's length in UTF-16 units. */
  size: number;
  turn: string;
  pos: number;
  [key: string]: SqlStorageValue;
}

/** JSON texts, one per row: inline (an array) when small, else an NDJSON byte stream. */
export type Answer = string[] | ReadableStream<Uint8Array>;

/** Answer of a list (a response's `input_items`, a conversation's items): a page's ids and its items (`Answer` of their JSON); `unknownAfter` when `after` names no item of it. */
export type ListResult = { ids: Array<string | null>; hasMore: boolean; items: Answer } | { unknownAfter: true } | undefined;

/** Up to this many characters answer inline (one RPC message; its limit is 32 MiB, and a message is copied whole). */
export const INLINE_CHARS = 8_000_000;
/** One stream pull reads about this much (a row larger than it goes alone, chunk by chunk). */
const PULL_CHARS = 1_000_000;
/** Durable Objects' SQLite allows at most 100 bound parameters. */
const MAX_BINDINGS = 100;

/**
 * The rows of one page from `from`: whole rows up to `INLINE_CHARS` (at least one), or a chunked row
 * alone (it streams). Returns them and where the next page starts. Inline pages cross RPC about
 * twice as fast as a stream of the same bytes (measured in workerd, bench/store.md).
 */
export function pageOf(keys: readonly RowKey[], from: number): [RowKey[], number] {
  if (keys[from]?.parts) return [[keys[from]!], from + 1];
  let to = from;
  let size = 0;
  while (to < keys.length && keys[to]!.parts === 0 && (to === from || size + keys[to]!.size <= INLINE_CHARS)) size += keys[to++]!.size;
  return [keys.slice(from, to), to];
}

/** The rows' JSON texts in `keys` order, inline or streamed, as their size says. */
export function sendRows(sql: SqlStorage, keys: readonly RowKey[]): Answer {
  let size = 0;
  for (const k of keys) size += k.size;
  if (size <= INLINE_CHARS && keys.every((k) => k.parts === 0)) return readValues(sql, keys);
  return streamRows(sql, keys);
}

/** The `data` of rows stored whole, in batches of rowids. */
function readValues(sql: SqlStorage, keys: readonly RowKey[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < keys.length; i += MAX_BINDINGS) {
    const batch = keys.slice(i, i + MAX_BINDINGS);
    const rows = sql.exec<{ rid: number; data: string | null }>(`SELECT rowid AS rid, data FROM turn_items WHERE rowid IN (${batch.map(() => "?").join(",")})`, ...batch.map((k) => k.rid)).toArray();
    const byId = new Map(rows.map((r) => [r.rid, r.data]));
    for (const k of batch) {
      const data = byId.get(k.rid);
      if (typeof data !== "string") throw new Error(`Stored item ${k.turn}#${k.pos} is gone.`);
      out.push(data);
    }
  }
  return out;
}

/** NDJSON, pulled on demand: small rows in batches, a chunked row one chunk per pull. */
function streamRows(sql: SqlStorage, keys: readonly RowKey[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  let chunk = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i >= keys.length) return controller.close();
      const key = keys[i]!;
      if (key.parts > 0) {
        const row = sql.exec<{ data: string }>("SELECT data FROM item_chunks WHERE turn = ? AND pos = ? AND n = ?", key.turn, key.pos, chunk).toArray()[0];
        if (!row) throw new Error(`Stored item ${key.turn}#${key.pos} is gone.`);
        chunk++;
        const end = chunk === key.parts;
        if (end) [i, chunk] = [i + 1, 0];
        return controller.enqueue(encoder.encode(end ? row.data + "\n" : row.data));
      }
      let j = i;
      let size = 0;
      while (j < keys.length && keys[j]!.parts === 0 && j - i < MAX_BINDINGS && (j === i || size + keys[j]!.size <= PULL_CHARS)) size += keys[j++]!.size;
      const texts = readValues(sql, keys.slice(i, j));
      i = j;
      controller.enqueue(encoder.encode(texts.join("\n") + "\n"));
    },
  });
}

/** The lines of an NDJSON byte stream (JSON text never holds a raw newline). Each piece is searched once, so a line of many megabytes costs no rescans. */
export async function* ndjsonLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending: string[] = [];
  const take = (last: string) => {
    pending.push(last);
    const line = pending.length === 1 ? last : pending.join("");
    pending = [];
    return line;
  };
  for await (const bytes of stream) {
    const text = decoder.decode(bytes, { stream: true });
    let from = 0;
    let at: number;
    while ((at = text.indexOf("\n", from)) >= 0) {
      yield take(text.slice(from, at));
      from = at + 1;
    }
    if (from < text.length) pending.push(text.slice(from));
  }
  const rest = take(decoder.decode());
  if (rest !== "") yield rest;
}
