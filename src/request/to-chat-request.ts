import { convertInput } from "./messages.ts";
import { shapeMessages } from "./template-shape.ts";
import { type AddTools, addTool, convertToolChoice } from "./tools.ts";
import { turnSettings } from "./configuration.ts";
import type { ChatCompletionRequest, ChatFunctionTool } from "../types/chat.ts";
import type { ToolTarget } from "../convert/tool-calls.ts";
import { invalidRequest } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import type { ToChatOptions } from "./options.ts";
import type { ResponsesRequest } from "../types/responses.ts";

export interface ChatRequestTranslation {
  request: ChatCompletionRequest;
  /** Upstream function name → the tool the client declared; give it to the response converter. */
  tools: Map<string, ToolTarget>;
  /** Hosted tools that were dropped, by type: report them to the client (the Worker sets a header). */
  dropped: string[];
}


/** Parses a request body's text; malformed JSON is a 400 in OpenAI's shape. */
export function parseResponsesRequest(text: string): ResponsesRequest {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw invalidRequest(`We could not parse the JSON body of your request. (${(e as Error).message})`, null, "invalid_json");
  }
  if (!isObject(body)) throw invalidRequest("The request body must be a JSON object.", null);
  return body as ResponsesRequest;
}


/**
 * A Responses request body → a Chat Completions request body, plus what the
 * response side needs to map tool calls back. Throws `ResponsesError` (400)
 * naming the field for anything it cannot translate faithfully.
 */
export function toChatRequest(body: ResponsesRequest, options: ToChatOptions = {}): ChatRequestTranslation {
  if (!isObject(body)) throw invalidRequest("The request body must be a JSON object.", null);
  if (typeof body.model !== "string" || body.model === "") throw invalidRequest("Missing required parameter: 'model'.", "model", "missing_required_parameter");
  if (body.previous_response_id != null) {
    throw invalidRequest(
      "previous_response_id needs stored conversation state: resolve it before translating (`expandInput` with a store), or send the whole conversation in `input` (with store: false).",
      "previous_response_id",
      "unsupported_parameter",
    );
  }
  if (body.conversation != null) {
    throw invalidRequest(
      "conversation needs stored conversation state: resolve it before translating (`expandInput` with a conversation store), or send the whole conversation in `input`.",
      "conversation",
      "unsupported_parameter",
    );
  }
  if (body.prompt != null) throw invalidRequest("Stored prompts (`prompt`) cannot be resolved by this bridge.", "prompt", "unsupported_parameter");

  const tools = new Map<string, ToolTarget>();
  const dropped: string[] = [];
  // One chat tool per upstream name: a later declaration replaces an earlier one in place.
  const offered = new Map<string, ChatFunctionTool>();
  const addTools: AddTools = (list, param) => {
    if (list == null) return;
    if (!Array.isArray(list)) throw invalidRequest(`Invalid type for '${param}': expected an array.`, param, "invalid_type");
    list.forEach((tool, i) => addTool(tool, `${param}[${i}]`, undefined, offered, tools, dropped, options));
  };
  addTools(body.tools, "tools");
  const messages = shapeMessages(convertInput(body, options, addTools), options.template);
  const chatTools = [...offered.values()];

  const request: ChatCompletionRequest = { model: options.model ? options.model(body.model) : body.model, messages };
  if (body.stream === true) {
    request.stream = true;
    request.stream_options = { include_usage: true };
  }
  if (chatTools.length) {
    request.tools = chatTools;
    if (typeof body.parallel_tool_calls === "boolean") request.parallel_tool_calls = body.parallel_tool_calls;
  }
  const choice = convertToolChoice(body.tool_choice, request);
  if (choice !== undefined && (request.tools || choice === "none")) request.tool_choice = choice;

  // The request's own effort and format, or what the latest `configuration_update` in the input set them to.
  const { effort, format } = turnSettings(body);
  if (format) request.response_format = format;
  if (typeof body.text?.verbosity === "string") request.verbosity = body.text.verbosity;
  if (effort !== undefined) request.reasoning_effort = effort;
  if (typeof body.max_output_tokens === "number") request[options.maxTokensField ?? "max_tokens"] = body.max_output_tokens;
  for (const k of ["temperature", "top_p", "presence_penalty", "frequency_penalty"] as const) {
    if (typeof body[k] === "number") request[k] = body[k] as number;
  }
  const wantsLogprobs = Array.isArray(body.include) && body.include.includes("message.output_text.logprobs");
  if (typeof body.top_logprobs === "number" && body.top_logprobs > 0) {
    request.logprobs = true;
    request.top_logprobs = body.top_logprobs;
  } else if (wantsLogprobs) request.logprobs = true;
  const user = typeof body.safety_identifier === "string" ? body.safety_identifier : typeof body.user === "string" ? body.user : undefined;
  if (user) request.user = user;
  if (typeof body.prompt_cache_key === "string") request.prompt_cache_key = body.prompt_cache_key;
  if (!options.forward?.includes("prompt_cache_options")) checkPromptCacheOptions(body.prompt_cache_options);
  for (const k of options.forward ?? []) if (body[k] !== undefined && body[k] !== null) request[k] = body[k];
  for (const k of options.omit ?? []) delete request[k];
  return { request, tools, dropped };
}


/**
 * `prompt_cache_options` is OpenAI's own cache control; a chat upstream caches (or not) by itself, so
 * `mode`, `ttl` and `comparison_response_id` are dropped. `prewarm: true` asks for no answer at all,
 * only a warmed cache: answering it with a generated turn would be a different request, so it is a 400.
 */
function checkPromptCacheOptions(value: unknown): void {
  if (value == null) return;
  if (!isObject(value)) throw invalidRequest("Invalid type for 'prompt_cache_options': expected an object.", "prompt_cache_options", "invalid_type");
  if (value.prewarm === true) {
    throw invalidRequest(
      "prompt_cache_options.prewarm cannot be honoured through a Chat Completions upstream: it has no way to warm a cache without generating a response.",
      "prompt_cache_options.prewarm",
      "unsupported_parameter",
    );
  }
}
