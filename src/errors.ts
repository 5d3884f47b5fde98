import type { ChatErrorBody } from "./types/chat.ts";
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


/**
 * Reads whatever error shape an upstream sent: OpenAI's `{error: {...}}`,
 * Ollama's `{error: "text"}`, vLLM/FastAPI's `{detail: ...}`, a bare
 * `{message}`, or plain text. The upstream's message is kept verbatim
 * (it carries "try again in …" hints clients show to people).
 */
export function normalizeUpstreamError(body: unknown, status?: number): ErrorPayload {
  let src: ChatErrorBody = {};
  if (isObject(body)) {
    const e = body["error"];
    if (isObject(e)) src = e as ChatErrorBody;
    else if (typeof e === "string") src = { message: e };
    else if (typeof body["message"] === "string") src = body as ChatErrorBody;
    else if (body["detail"] !== undefined) {
      const d = body["detail"];
      src = { message: typeof d === "string" ? d : JSON.stringify(d) };
    }
  } else if (typeof body === "string" && body.trim() !== "") {
    src = { message: body.trim() };
  }
  const numericCode = typeof src.code === "number" ? src.code : undefined;
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
  return { message, type, param: typeof src.param === "string" ? src.param : null, code };
}
