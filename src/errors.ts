import { isObject } from "./internal/is-object.ts";

/** The error object of OpenAI's HTTP error body `{"error": {...}}`. */
export interface ErrorPayload {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/**
 * A typed failure in the protocol's own shape. `status` is the HTTP status a
 * server should answer with; `toJSON()` gives the body.
 */
export class ResponsesError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;

  constructor(status: number, payload: Omit<ErrorPayload, "code" | "param"> & Partial<ErrorPayload>) {
    super(payload.message);
    this.name = "ResponsesError";
    this.status = status;
    this.type = payload.type;
    this.code = payload.code ?? null;
    this.param = payload.param ?? null;
  }

  get payload(): ErrorPayload {
    return { message: this.message, type: this.type, param: this.param, code: this.code };
  }

  toJSON(): { error: ErrorPayload } {
    return { error: this.payload };
  }
}

/** HTTP 400 naming the offending field, as OpenAI does. */
export function invalidRequest(message: string, param: string | null, code: string | null = null): ResponsesError {
  return new ResponsesError(400, { message, type: "invalid_request_error", param, code });
}

const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  408: "timeout_error",
  409: "conflict_error",
  413: "invalid_request_error",
  422: "invalid_request_error",
  429: "rate_limit_exceeded",
};


/** What an error body says, before it is put in OpenAI's shape. */
interface ErrorSource {
  message?: string;
  type?: unknown;
  code?: unknown;
  param?: unknown;
  /** Who said it, when the body names a provider (OpenRouter's `metadata.provider_name`; Google's own envelope). */
  provider?: string;
}

/** Nesting followed at most (an envelope's raw body holding another envelope…). */
const MAX_DEPTH = 4;

/** Google's canonical error codes, as its APIs put them in `error.status` (`INVALID_ARGUMENT`, `NOT_FOUND`…). */
const GOOGLE_STATUS = /^(INVALID_ARGUMENT|FAILED_PRECONDITION|OUT_OF_RANGE|UNAUTHENTICATED|PERMISSION_DENIED|NOT_FOUND|ABORTED|ALREADY_EXISTS|RESOURCE_EXHAUSTED|CANCELLED|DATA_LOSS|UNKNOWN|INTERNAL|NOT_IMPLEMENTED|UNAVAILABLE|DEADLINE_EXCEEDED)$/;

/**
 * FastAPI/pydantic validation errors (vLLM's 422 `detail`, Mistral's `message` and `detail`):
 * `[{type, loc: ["body", "x"], msg, input}]` read as `body.x: Extra inputs are not permitted`.
 */
function detailText(detail: unknown): string {
  const entry = (d: unknown): string => {
    if (typeof d === "string") return d;
    if (isObject(d) && typeof d["msg"] === "string") return Array.isArray(d["loc"]) && d["loc"].length ? `${d["loc"].join(".")}: ${d["msg"]}` : d["msg"];
    return JSON.stringify(d);
  };
  return Array.isArray(detail) ? detail.map(entry).join("; ") : entry(detail);
}

/** A body that is text: JSON inside it is read as such; an HTML page becomes its text. */
function fromText(text: string, depth: number): ErrorSource {
  const t = text.trim();
  if (t === "") return {};
  if (/^[[{]/.test(t) && depth < MAX_DEPTH) {
    try {
      const inner = fromBody(JSON.parse(t), depth + 1);
      if (inner.message) return inner;
    } catch {
      // Not JSON after all: the text is the message.
    }
  }
  if (/^<(!doctype|html|head|body)\b/i.test(t)) return { message: t.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 500) || t.slice(0, 500) };
  return { message: t };
}

/** An error object (`{message, type, code, param}` and the provider extras around it). */
function fromErrorObject(e: Record<string, unknown>, depth: number): ErrorSource {
  const m = e["message"];
  const src: ErrorSource = { type: e["type"], code: e["code"], param: e["param"] };
  if (typeof m === "string") {
    // A message that is itself a JSON error body (Gemini behind some proxies) is read for the words inside.
    const inner = /^\s*[[{]/.test(m) ? fromText(m, depth) : {};
    src.message = inner.message && inner.message !== m.trim() ? inner.message : m;
    if (inner.provider) src.provider = inner.provider;
  } else if (m !== undefined && m !== null) src.message = detailText(m);
  if (typeof e["status"] === "string" && GOOGLE_STATUS.test(e["status"]) && typeof e["code"] === "number") src.provider ??= "Google";
  // OpenRouter: `{"message":"Provider returned error","code":400,"metadata":{"raw":"…","provider_name":"Anthropic"}}`;
  // the provider's own body is in `raw` (often JSON as a string, sometimes plain text).
  const meta = e["metadata"];
  if (isObject(meta) && depth < MAX_DEPTH) {
    const provider = typeof meta["provider_name"] === "string" && meta["provider_name"] ? meta["provider_name"] : undefined;
    const raw = meta["raw"];
    const inner = typeof raw === "string" ? fromText(raw, depth + 1) : raw != null ? fromBody(raw, depth + 1) : {};
    if (inner.message) return { ...inner, provider: provider ?? inner.provider, code: inner.code ?? (typeof src.code === "string" ? src.code : undefined) };
    if (provider) src.provider = provider;
  }
  return src;
}

function fromBody(body: unknown, depth: number): ErrorSource {
  // Google's OpenAI-compatible endpoint wraps its error in an array: `[{"error": {...}}]`.
  if (Array.isArray(body)) return depth < MAX_DEPTH && body.length ? fromBody(body[0], depth + 1) : {};
  if (typeof body === "string") return fromText(body, depth);
  if (!isObject(body)) return {};
  const e = body["error"];
  if (isObject(e)) return fromErrorObject(e, depth);
  if (typeof e === "string" && e !== "") return { message: e };
  if (body["message"] !== undefined) return fromErrorObject(body, depth);
  if (body["detail"] !== undefined) return { message: detailText(body["detail"]) };
  return {};
}

/** An upstream's error in OpenAI's shape, and the provider that said it when the body names one. */
export interface UpstreamErrorReading {
  error: ErrorPayload;
  provider: string | null;
}

/**
 * Reads whatever error shape an upstream sent: OpenAI's `{error: {...}}`,
 * Google's array-wrapped `[{error: {code, message, status}}]`, OpenRouter's
 * envelope (the provider's own body in `error.metadata.raw`, itself perhaps
 * an Anthropic or OpenAI error body as a JSON string), Ollama's
 * `{error: "text"}`, vLLM's top-level `{object: "error", message}`,
 * FastAPI/pydantic's `{detail: [...]}` (and Mistral's `message` array),
 * a bare `{message}`, plain text or an HTML page. The upstream's message is
 * kept verbatim (it carries "try again in …" hints clients show to people).
 */
export function readUpstreamError(body: unknown, status?: number): UpstreamErrorReading {
  const src = fromBody(body, 0);
  const numericCode = typeof src.code === "number" && src.code >= 100 && src.code <= 599 ? src.code : undefined;
  const effectiveStatus = status ?? numericCode;
  const rateLimited =
    effectiveStatus === 429 || src.type === "rate_limit_error" || src.type === "rate_limit_exceeded" || src.code === "rate_limit_exceeded";
  let code: string | null = typeof src.code === "string" && src.code !== "" ? src.code : null;
  if (rateLimited) code = "rate_limit_exceeded";
  else if (code === null && effectiveStatus !== undefined && effectiveStatus >= 500) code = "server_error";
  const type =
    rateLimited
      ? "rate_limit_exceeded"
      : typeof src.type === "string" && src.type !== ""
        ? src.type
        : (effectiveStatus !== undefined && TYPE_BY_STATUS[effectiveStatus]) || (effectiveStatus !== undefined && effectiveStatus < 500 ? "invalid_request_error" : "server_error");
  const message =
    typeof src.message === "string" && src.message !== ""
      ? src.message
      : `Upstream error${effectiveStatus !== undefined ? ` (HTTP ${effectiveStatus})` : ""} with no message`;
  return { error: { message, type, param: typeof src.param === "string" ? src.param : null, code }, provider: src.provider ?? null };
}

/** `readUpstreamError`'s payload alone: the error in OpenAI's shape. */
export function normalizeUpstreamError(body: unknown, status?: number): ErrorPayload {
  return readUpstreamError(body, status).error;
}
