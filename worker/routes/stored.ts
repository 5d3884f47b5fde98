import { invalidRequest, ResponsesError } from "../../src/index.ts";
import { type ListOptions, type ResponseStore, responseNotFound } from "../../src/server.ts";
import type { ClientContext } from "../context.ts";
import { json } from "../http.ts";

function storeOf(ctx: ClientContext, id: string): ResponseStore {
  if (!ctx.store) throw responseNotFound(id);
  return ctx.store;
}

/** `GET /v1/responses/{id}`: the Response object as the client received it. */
export async function getResponse(_request: Request, ctx: ClientContext, params: Record<string, string>): Promise<Response> {
  const id = params.id!;
  const stored = await storeOf(ctx, id).get(id);
  if (!stored) throw responseNotFound(id);
  return json(200, stored);
}

/** `DELETE /v1/responses/{id}`. */
export async function deleteResponse(_request: Request, ctx: ClientContext, params: Record<string, string>): Promise<Response> {
  const id = params.id!;
  if (!(await storeOf(ctx, id).delete(id))) throw responseNotFound(id);
  return json(200, { id, object: "response", deleted: true });
}

/** The API's pagination parameters: `limit` 1–100 (default 20), `order` asc/desc (default desc), `after`. */
export function listOptions(query: URLSearchParams): ListOptions {
  // OpenAI's words for each (`integer_above_max_value` and the rest, as its API answers a body's integers).
  const rawLimit = query.get("limit");
  const limit = rawLimit === null ? 20 : rawLimit.trim() === "" ? NaN : Number(rawLimit);
  if (!Number.isInteger(limit)) {
    const got = Number.isFinite(limit) ? "a decimal" : "a string";
    throw invalidRequest(`Invalid type for 'limit': expected an integer, but got ${got} instead.`, "limit", "invalid_type");
  }
  if (limit < 1) throw invalidRequest(`Invalid 'limit': integer below minimum value. Expected a value >= 1, but got ${limit} instead.`, "limit", "integer_below_min_value");
  if (limit > 100) throw invalidRequest(`Invalid 'limit': integer above maximum value. Expected a value <= 100, but got ${limit} instead.`, "limit", "integer_above_max_value");
  const order = query.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc") throw invalidRequest(`Invalid value: '${order}'. Supported values are: 'asc' and 'desc'.`, "order", "invalid_value");
  return { limit, order, after: query.get("after") ?? undefined };
}

/** `GET /v1/responses/{id}/input_items`: the items the response was given, after expansion, as a list page. */
export async function listInputItems(request: Request, ctx: ClientContext, params: Record<string, string>): Promise<Response> {
  const id = params.id!;
  const options = listOptions(new URL(request.url).searchParams);
  let page;
  try {
    page = await storeOf(ctx, id).list(id, options);
  } catch (e) {
    if (e instanceof RangeError) throw invalidRequest(`Invalid 'after': no input item with id '${options.after}' in response '${id}'.`, "after", "invalid_value");
    throw e;
  }
  if (!page) throw responseNotFound(id);
  return json(200, page);
}
