import { invalidRequest } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import type { ResponsesRequest, ResponsesTool } from "../types/responses.ts";
import { convertMessages } from "./messages.ts";

export interface ToResponsesOptions {
  /** Rename or route the requested model. */
  model?: (requested: string) => string;
  /**
   * The reasoning summary asked for when the client sets `reasoning_effort` (its text comes back as
   * `reasoning_content`). Default `"auto"`; `null`: never ask (models that reject the field).
   */
  reasoningSummary?: "auto" | "concise" | "detailed" | null;
}

export interface ResponsesRequestTranslation {
  /** The body to POST to `/responses`. */
  request: ResponsesRequest;
  /** The client asked for a stream (`stream: true`). */
  stream: boolean;
  /** The client's `stream_options.include_usage`: give it to the converter (the upstream always reports usage). */
  includeUsage: boolean;
}

/** Chat fields that would change the answer and have no Responses equivalent: refused (400) rather than dropped. */
const REFUSED: Record<string, (v: unknown) => boolean> = {
  n: (v) => typeof v === "number" && v > 1,
  stop: (v) => (typeof v === "string" && v !== "") || (Array.isArray(v) && v.length > 0),
  logit_bias: (v) => isObject(v) && Object.keys(v).length > 0,
  audio: (v) => v != null,
  modalities: (v) => Array.isArray(v) && v.includes("audio"),
  web_search_options: (v) => v != null,
  functions: (v) => Array.isArray(v) && v.length > 0,
  function_call: (v) => v != null,
};

/** Fields with the same name and meaning in both APIs. */
const SAME = ["temperature", "top_p", "parallel_tool_calls", "prompt_cache_key", "prompt_cache_retention", "service_tier", "metadata"] as const;

/**
 * A Chat Completions request body → a Responses request body (the reverse
 * direction: a chat client in front of a Responses-only model). Throws
 * `ResponsesError` (400, naming the field) for what cannot be sent faithfully.
 *
 * Leading system and developer messages become `instructions`; later ones
 * stay input items where they were. `store` is `false` unless the client
 * sets it: a chat client keeps its own history.
 */
export function toResponsesRequest(body: unknown, options: ToResponsesOptions = {}): ResponsesRequestTranslation {
  if (!isObject(body)) throw invalidRequest("The request body must be a JSON object.", null);
  if (typeof body["model"] !== "string" || body["model"] === "") throw invalidRequest("you must provide a model parameter", "model", "missing_required_parameter");
  for (const [field, refused] of Object.entries(REFUSED)) {
    if (refused(body[field])) throw invalidRequest(`'${field}' has no equivalent in the Responses API this model is served by.`, field, "unsupported_parameter");
  }
  const { instructions, input } = convertMessages(body["messages"]);
  const request: ResponsesRequest = { model: options.model ? options.model(body["model"]) : body["model"], input };
  if (instructions !== null) request.instructions = instructions;
  const tools = convertTools(body["tools"]);
  if (tools) request.tools = tools;
  if (body["tool_choice"] != null) request.tool_choice = convertToolChoice(body["tool_choice"]);
  const text = convertText(body["response_format"], body["verbosity"]);
  if (text) request.text = text;
  const max = body["max_completion_tokens"] ?? body["max_tokens"];
  if (typeof max === "number") request.max_output_tokens = max;
  const effort = body["reasoning_effort"];
  if (typeof effort === "string") {
    const summary = options.reasoningSummary === undefined ? "auto" : options.reasoningSummary;
    request.reasoning = summary && effort !== "none" ? { effort, summary } : { effort };
  }
  for (const k of SAME) if (body[k] != null) (request as Record<string, unknown>)[k] = body[k];
  // Zero is both APIs' default; only a real penalty is sent (OpenAI's Responses rejects the fields).
  for (const k of ["presence_penalty", "frequency_penalty"] as const) if (typeof body[k] === "number" && body[k] !== 0) request[k] = body[k] as number;
  const user = typeof body["safety_identifier"] === "string" ? body["safety_identifier"] : typeof body["user"] === "string" ? body["user"] : undefined;
  if (user) request.safety_identifier = user;
  if (body["logprobs"] === true) {
    request.include = ["message.output_text.logprobs"];
    if (typeof body["top_logprobs"] === "number") request.top_logprobs = body["top_logprobs"];
  }
  request.store = body["store"] === true;
  const stream = body["stream"] === true;
  const so = isObject(body["stream_options"]) ? body["stream_options"] : {};
  if (stream) {
    request.stream = true;
    if (typeof so["include_obfuscation"] === "boolean") request["stream_options"] = { include_obfuscation: so["include_obfuscation"] };
  }
  return { request, stream, includeUsage: stream && so["include_usage"] === true };
}

function convertTools(tools: unknown): ResponsesTool[] | undefined {
  if (tools == null) return undefined;
  if (!Array.isArray(tools)) throw invalidRequest("Invalid type for 'tools': expected an array.", "tools", "invalid_type");
  return tools.map((t, i) => {
    const param = `tools[${i}]`;
    if (!isObject(t) || t["type"] !== "function" || !isObject(t["function"])) {
      throw invalidRequest(`Invalid value for '${param}.type': only function tools can be offered to a Responses model through this bridge.`, `${param}.type`, "invalid_value");
    }
    const fn = t["function"];
    if (typeof fn["name"] !== "string" || fn["name"] === "") throw invalidRequest(`Missing required parameter: '${param}.function.name'.`, `${param}.function.name`, "missing_required_parameter");
    const tool: ResponsesTool = {
      type: "function",
      name: fn["name"],
      parameters: isObject(fn["parameters"]) ? fn["parameters"] : { type: "object", properties: {} },
      // Chat tools are lenient unless they say otherwise; Responses tools are strict by default.
      strict: fn["strict"] === true,
    };
    if (typeof fn["description"] === "string") tool.description = fn["description"];
    return tool;
  });
}

function convertToolChoice(choice: unknown): unknown {
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  const name = (c: unknown) => (isObject(c) && isObject(c["function"]) && typeof c["function"]["name"] === "string" ? c["function"]["name"] : null);
  if (isObject(choice) && choice["type"] === "function" && name(choice)) return { type: "function", name: name(choice) };
  if (isObject(choice) && choice["type"] === "allowed_tools" && isObject(choice["allowed_tools"])) {
    const at = choice["allowed_tools"];
    const tools = Array.isArray(at["tools"]) ? at["tools"].map((t) => ({ type: "function", name: name(t) ?? "" })) : [];
    return { type: "allowed_tools", mode: at["mode"] === "required" ? "required" : "auto", tools };
  }
  throw invalidRequest("Invalid value for 'tool_choice'.", "tool_choice", "invalid_value");
}

function convertText(format: unknown, verbosity: unknown): ResponsesRequest["text"] | undefined {
  const text: NonNullable<ResponsesRequest["text"]> = {};
  if (typeof verbosity === "string") text.verbosity = verbosity;
  if (format != null) {
    if (!isObject(format)) throw invalidRequest("Invalid value for 'response_format'.", "response_format", "invalid_value");
    if (format["type"] === "text" || format["type"] === "json_object") text.format = { type: format["type"] };
    else if (format["type"] === "json_schema" && isObject(format["json_schema"])) {
      const js = format["json_schema"];
      if (typeof js["name"] !== "string") throw invalidRequest("Missing required parameter: 'response_format.json_schema.name'.", "response_format.json_schema.name", "missing_required_parameter");
      const f: Record<string, unknown> = { type: "json_schema", name: js["name"], schema: isObject(js["schema"]) ? js["schema"] : {} };
      if (typeof js["strict"] === "boolean") f["strict"] = js["strict"];
      if (typeof js["description"] === "string") f["description"] = js["description"];
      text.format = f;
    } else throw invalidRequest(`Invalid value for 'response_format.type': '${String(format["type"])}'.`, "response_format.type", "invalid_value");
  }
  return Object.keys(text).length ? text : undefined;
}
