/** Internal to the response store object: objects written before linear storage (schema 1), migrated in place on first use. */

interface V1Record {
  response: { output?: Array<{ id?: unknown }> } & Record<string, unknown>;
  input: Array<{ id?: unknown }>;
}

const idOf = (item: { id?: unknown }) => (typeof item.id === "string" ? item.id : null);

/**
 * Schema 1 kept, per response, the whole conversation so far as one JSON
 * record split into `parts`. Each record becomes a turn of its own (no
 * parent, every item its own row): exactly as readable and continuable as
 * before, its size unchanged; what continues it from now on is linear.
 * Runs inside the schema transaction: all or nothing.
 */
export function migrateV1(sql: SqlStorage, insertRow: (turn: string, pos: number, itemId: string | null, json: string) => void): void {
  if (!sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'responses'").toArray().length) return;
  for (const { id, expires_at } of sql.exec<{ id: string; expires_at: number }>("SELECT id, expires_at FROM responses").toArray()) {
    const json = sql
      .exec<{ data: string }>("SELECT data FROM parts WHERE response_id = ? ORDER BY n", id)
      .toArray()
      .map((p) => p.data)
      .join("");
    const record = JSON.parse(json) as V1Record;
    const output = record.response.output ?? [];
    record.input.forEach((item, pos) => insertRow(id, pos, idOf(item), JSON.stringify(item)));
    output.forEach((item, n) => insertRow(id, record.input.length + n, idOf(item), JSON.stringify(item)));
    insertRow(id, -1, null, JSON.stringify({ ...record.response, output: [] }));
    sql.exec("INSERT INTO turns (id, parent, base, inputs, outputs, expires_at) VALUES (?, NULL, 0, ?, ?, ?)", id, record.input.length, output.length, expires_at);
  }
  sql.exec("DROP TABLE responses; DROP TABLE parts; DROP TABLE items;");
}
