import type {
  ChatCompletionRequest,
  ChatContentPart,
  ChatFunctionTool,
  ChatMessage,
  ChatResponseFormat,
  ChatTextPart,
  ChatToolCall,
  ChatToolChoice,
} from "./chat-types.ts";
import type { ToolTarget } from "./convert-stream.ts";
import { invalidRequest } from "./errors.ts";
import { isObject } from "./is-object.ts";
import { reasoningOrigin, type ReasoningReturnField, reasoningText, returnField, upstreamTag } from "./reasoning-origin.ts";
import type { ResponsesRequest } from "./responses-types.ts";

/**
 * What happens to `reasoning` items in the input. `"auto"`: each goes back in
 * the field it came from, to the upstream that produced it (both read from its
 * id, see `reasoning-origin.ts`), and is dropped everywhere else, as is
 * reasoning this bridge did not produce. `"drop"`: none goes back.
 * `"reasoning_content"` / `"reasoning"`: every item's text goes back in that
 * field, whatever its origin (an upstream known to need it).
 */
export type ReasoningHistory = "auto" | "drop" | ReasoningReturnField;

export interface ToChatOptions {
  /** `developer` messages become `system` (most chat providers reject `developer`) unless this is `"developer"`. */
  developerRole?: "system" | "developer";
  /** Reasoning items from history (default `"auto"`: back to the upstream that produced them, in their own field; see `ReasoningHistory`). */
  reasoningHistory?: ReasoningHistory;
  /** Names the upstream this request goes to, as the converter's `upstream` option did (default: the requested model). */
  upstream?: string;
  /** Which field carries `max_output_tokens`: `max_tokens` (default; every provider reads it) or `max_completion_tokens` (OpenAI, Azure). */
  maxTokensField?: "max_tokens" | "max_completion_tokens";
  /** Hosted tools (web_search, file_search, mcp …) are dropped and reported, or rejected with 400 when `"reject"`. */
  hostedTools?: "drop" | "reject";
  /** Rename or route the requested model. */
  model?: (requested: string) => string;
  /** Chat fields to leave out for upstreams that reject them (e.g. `["verbosity", "prompt_cache_key"]`). */
  omit?: readonly string[];
  /** Responses-only fields to forward as they are, for upstreams that understand them (e.g. `["service_tier", "metadata", "store"]`). */
  forward?: readonly string[];
}

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
 * The name a namespaced tool gets upstream, where names are flat. `functions`
 * is the namespace OpenAI's models see every plain function in (Codex's
 * `additional_tools` declare `functions.exec`), so its tools keep their names.
 */
export function flatToolName(namespace: string, name: string): string {
  return namespace === "functions" ? name : namespace.endsWith("_") ? namespace + name : `${namespace}__${name}`;
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
    throw invalidRequest("conversation needs stored conversation state, which this bridge does not keep.", "conversation", "unsupported_parameter");
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
  const messages = convertInput(body, options, addTools);
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

  const format = convertTextFormat(body.text?.format);
  if (format) request.response_format = format;
  if (typeof body.text?.verbosity === "string") request.verbosity = body.text.verbosity;
  if (isObject(body.reasoning) && typeof body.reasoning.effort === "string") request.reasoning_effort = body.reasoning.effort;
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
  for (const k of options.forward ?? []) if (body[k] !== undefined && body[k] !== null) request[k] = body[k];
  for (const k of options.omit ?? []) delete request[k];
  return { request, tools, dropped };
}

// ---- tools ----

/** Offers a list of declared tools (`tools`, or an `additional_tools` item's) upstream; `param` names it in errors. */
type AddTools = (list: unknown, param: string) => void;

function addTool(
  tool: unknown,
  param: string,
  namespace: string | undefined,
  out: Map<string, ChatFunctionTool>,
  routing: Map<string, ToolTarget>,
  dropped: string[],
  options: ToChatOptions,
): void {
  if (!isObject(tool) || typeof tool.type !== "string") throw invalidRequest(`Invalid tool at '${param}': expected an object with a type.`, param, "invalid_type");
  const name = tool.name;
  if (tool.type === "namespace") {
    if (typeof name !== "string" || !Array.isArray(tool.tools)) throw invalidRequest(`Invalid namespace tool at '${param}': needs a name and tools.`, param);
    tool.tools.forEach((t, j) => addTool(t, `${param}.tools[${j}]`, name, out, routing, dropped, options));
    return;
  }
  if (tool.type === "function" || tool.type === "custom") {
    if (typeof name !== "string" || name === "") throw invalidRequest(`Missing required parameter: '${param}.name'.`, `${param}.name`, "missing_required_parameter");
    const flat = namespace ? flatToolName(namespace, name) : name;
    const target: ToolTarget = { kind: tool.type, name };
    if (namespace) target.namespace = namespace;
    routing.set(flat, target);
    out.set(flat, tool.type === "function" ? functionTool(flat, tool) : customTool(flat, tool));
    return;
  }
  if (options.hostedTools === "reject") {
    throw invalidRequest(`Tool type '${tool.type}' is run by OpenAI's servers and cannot be offered through a Chat Completions upstream.`, param, "unsupported_tool");
  }
  if (!dropped.includes(tool.type)) dropped.push(tool.type);
}

function functionTool(name: string, tool: Record<string, unknown>): ChatFunctionTool {
  const fn: ChatFunctionTool["function"] = { name };
  if (typeof tool.description === "string") fn.description = tool.description;
  fn.parameters = isObject(tool.parameters) ? tool.parameters : { type: "object", properties: {} };
  if (typeof tool.strict === "boolean") fn.strict = tool.strict;
  return { type: "function", function: fn };
}

/** A freeform tool becomes a function taking one string; its grammar, if any, goes into the description. */
function customTool(name: string, tool: Record<string, unknown>): ChatFunctionTool {
  let description = typeof tool.description === "string" ? tool.description : "";
  const format = tool.format;
  if (isObject(format) && format.type === "grammar" && typeof format.definition === "string") {
    description += `${description ? "\n\n" : ""}The \`input\` must follow this ${String(format.syntax ?? "")} grammar:\n${format.definition}`;
  }
  return {
    type: "function",
    function: {
      name,
      description: description || `Freeform tool ${name}: pass the raw input as the string \`input\`.`,
      parameters: { type: "object", properties: { input: { type: "string", description: "The raw input for the tool." } }, required: ["input"], additionalProperties: false },
    },
  };
}

function upstreamName(name: string, namespace: unknown): string {
  return typeof namespace === "string" && namespace ? flatToolName(namespace, name) : name;
}

function convertToolChoice(choice: unknown, request: ChatCompletionRequest): ChatToolChoice | undefined {
  if (choice == null) return undefined;
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (!isObject(choice) || typeof choice.type !== "string") throw invalidRequest("Invalid value for 'tool_choice'.", "tool_choice", "invalid_value");
  if (choice.type === "function" || choice.type === "custom") {
    if (typeof choice.name !== "string") throw invalidRequest("Missing required parameter: 'tool_choice.name'.", "tool_choice.name", "missing_required_parameter");
    return { type: "function", function: { name: upstreamName(choice.name, choice.namespace) } };
  }
  if (choice.type === "allowed_tools") {
    // Few chat providers know `allowed_tools`; offering only the allowed tools means the same.
    const allowed = new Set(
      (Array.isArray(choice.tools) ? choice.tools : [])
        .filter(isObject)
        .map((t) => (typeof t.name === "string" ? upstreamName(t.name, t.namespace) : ""))
        .filter(Boolean),
    );
    if (request.tools) request.tools = request.tools.filter((t) => allowed.has(t.function.name));
    if (request.tools?.length === 0) delete request.tools;
    return choice.mode === "required" ? "required" : "auto";
  }
  // A hosted tool was chosen; it was dropped with the tool itself.
  return "auto";
}

function convertTextFormat(format: unknown): ChatResponseFormat | undefined {
  if (format == null) return undefined;
  if (!isObject(format)) throw invalidRequest("Invalid value for 'text.format'.", "text.format", "invalid_value");
  if (format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type === "json_schema") {
    if (typeof format.name !== "string") throw invalidRequest("Missing required parameter: 'text.format.name'.", "text.format.name", "missing_required_parameter");
    const js: Extract<ChatResponseFormat, { type: "json_schema" }>["json_schema"] = { name: format.name };
    if (isObject(format.schema)) js.schema = format.schema;
    if (typeof format.strict === "boolean") js.strict = format.strict;
    if (typeof format.description === "string") js.description = format.description;
    return { type: "json_schema", json_schema: js };
  }
  throw invalidRequest(`Invalid value for 'text.format.type': '${String(format.type)}'.`, "text.format.type", "invalid_value");
}

// ---- input ----

type AssistantMessage = Extract<ChatMessage, { role: "assistant" }>;

function convertInput(body: ResponsesRequest, options: ToChatOptions, addTools: AddTools): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (typeof body.instructions === "string" && body.instructions !== "") messages.push({ role: "system", content: body.instructions });
  const input = body.input;
  if (input === undefined || input === null) return messages;
  if (typeof input === "string") {
    messages.push({ role: "user", content: input });
    return messages;
  }
  if (!Array.isArray(input)) throw invalidRequest("Invalid type for 'input': expected a string or an array of input items.", "input", "invalid_type");

  // The assistant message the next function_call joins, if nothing came in between.
  let assistant: AssistantMessage | null = null;
  const reasoning = reasoningCollector(options, typeof body.model === "string" ? body.model : "");
  let toolImages: ChatContentPart[] = [];
  const flushToolImages = () => {
    if (!toolImages.length) return;
    messages.push({ role: "user", content: [{ type: "text", text: "Images returned by the tool call above:" }, ...toolImages] });
    toolImages = [];
  };
  const newAssistant = (content: string | null): AssistantMessage => {
    const m: AssistantMessage = { role: "assistant", content };
    reasoning.attach(m);
    messages.push(m);
    return m;
  };

  (input as unknown[]).forEach((raw, i) => {
    const param = `input[${i}]`;
    if (!isObject(raw)) throw invalidRequest(`Invalid type for '${param}': expected an object.`, param, "invalid_type");
    const type = raw.type ?? (typeof raw.role === "string" ? "message" : undefined);
    if (type !== "function_call_output" && type !== "custom_tool_call_output") flushToolImages();
    switch (type) {
      case "message": {
        const role = raw.role;
        if (role === "assistant") {
          assistant = newAssistant(textOf(raw.content, `${param}.content`, ["output_text", "input_text", "refusal", "text"]));
          return;
        }
        assistant = null;
        if (role === "user") {
          messages.push({ role: "user", content: userContent(raw.content, `${param}.content`) });
        } else if (role === "system" || role === "developer") {
          const r = role === "developer" && options.developerRole === "developer" ? "developer" : "system";
          messages.push({ role: r, content: textOf(raw.content, `${param}.content`, ["input_text", "text", "output_text"]) });
        } else {
          throw invalidRequest(`Invalid value for '${param}.role': '${String(role)}'. Supported: user, assistant, system, developer.`, `${param}.role`, "invalid_value");
        }
        return;
      }
      case "function_call":
      case "custom_tool_call": {
        if (typeof raw.call_id !== "string" || typeof raw.name !== "string") {
          throw invalidRequest(`'${param}' needs a string call_id and name.`, param, "missing_required_parameter");
        }
        const args = type === "function_call" ? (typeof raw.arguments === "string" ? raw.arguments : JSON.stringify(raw.arguments ?? {})) : JSON.stringify({ input: String(raw.input ?? "") });
        const call: ChatToolCall = { id: raw.call_id, type: "function", function: { name: upstreamName(raw.name, raw.namespace), arguments: args } };
        const target: AssistantMessage = assistant ?? newAssistant(null);
        (target.tool_calls ??= []).push(call);
        assistant = target;
        return;
      }
      case "function_call_output":
      case "custom_tool_call_output": {
        assistant = null;
        if (typeof raw.call_id !== "string") throw invalidRequest(`Missing required parameter: '${param}.call_id'.`, `${param}.call_id`, "missing_required_parameter");
        const { text, images } = toolOutput(raw.output, `${param}.output`);
        messages.push({ role: "tool", tool_call_id: raw.call_id, content: text });
        toolImages.push(...images);
        return;
      }
      case "reasoning":
        // Reasoning between an answer and its calls starts a new assistant turn, as it did upstream.
        if (reasoning.add(raw)) assistant = null;
        return;
      case "additional_tools":
        // Codex 0.169 (gpt-5.6 and later) declares its tools here instead of in `tools`: offered alike.
        addTools(raw.tools, `${param}.tools`);
        return;
      case "item_reference":
        // The Vercel AI SDK (store: true) refers to earlier reasoning by id. Left unresolved (no stored
        // state), it is dropped: its text is not here to send, and asking the client for it helps nobody.
        if (typeof raw.id === "string" && raw.id.startsWith("rs_")) return;
        throw invalidRequest("item_reference needs stored items: resolve it before translating (`expandInput` with a store), or send the item itself.", param, "unsupported_parameter");
      default:
        throw invalidRequest(`Invalid value for '${param}.type': '${String(type)}' is not an input item type this bridge can translate.`, `${param}.type`, "invalid_value");
    }
  });
  flushToolImages();
  return messages;
}

/**
 * Reasoning items, held until the assistant message they preceded: the text
 * of each goes into the field the policy picks for it (see `ReasoningHistory`).
 */
function reasoningCollector(options: ToChatOptions, model: string) {
  const policy = options.reasoningHistory ?? "auto";
  const here = upstreamTag(options.upstream ?? model);
  const pending: Partial<Record<ReasoningReturnField, string>> = {};
  const fieldFor = (item: Record<string, unknown>): ReasoningReturnField | undefined => {
    if (policy === "drop") return undefined;
    if (policy !== "auto") return policy;
    const origin = reasoningOrigin(item.id);
    return origin && origin.upstream === here ? returnField(origin.field) : undefined;
  };
  return {
    /** Holds the item's text for the next assistant message; true when it is kept. */
    add(item: Record<string, unknown>): boolean {
      const field = fieldFor(item);
      if (!field) return false;
      const text = reasoningText(item);
      if (!text) return false;
      pending[field] = (pending[field] ?? "") + text;
      return true;
    },
    attach(message: AssistantMessage): void {
      for (const field of ["reasoning_content", "reasoning"] as const) {
        if (pending[field]) message[field] = pending[field];
        delete pending[field];
      }
    },
  };
}

function textOf(content: unknown, param: string, allowed: readonly string[]): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw invalidRequest(`Invalid type for '${param}': expected a string or an array of content parts.`, param, "invalid_type");
  return content
    .map((part, j) => {
      if (!isObject(part) || !allowed.includes(String(part.type))) {
        throw invalidRequest(`Invalid value for '${param}[${j}].type': '${String(isObject(part) ? part.type : part)}' is not allowed here.`, `${param}[${j}].type`, "invalid_value");
      }
      return String(part.type === "refusal" ? part.refusal : part.text);
    })
    .join("\n");
}

function userContent(content: unknown, param: string): string | ChatContentPart[] {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw invalidRequest(`Invalid type for '${param}': expected a string or an array of content parts.`, param, "invalid_type");
  const parts = content.map((p, j) => contentPart(p, `${param}[${j}]`));
  // Many chat servers (DeepSeek, older vLLM and llama.cpp) take only string content; text alone needs no array.
  return parts.every((p) => p.type === "text") ? parts.map((p) => (p as ChatTextPart).text).join("\n") : parts;
}

function contentPart(part: unknown, param: string): ChatContentPart {
  if (!isObject(part)) throw invalidRequest(`Invalid type for '${param}': expected a content part object.`, param, "invalid_type");
  switch (part.type) {
    case "input_text":
    case "output_text":
    case "text":
      if (typeof part.text !== "string") throw invalidRequest(`Missing required parameter: '${param}.text'.`, `${param}.text`, "missing_required_parameter");
      return { type: "text", text: part.text };
    case "input_image": {
      if (typeof part.image_url !== "string") {
        throw invalidRequest(
          part.file_id ? `'${param}.file_id' cannot be resolved: this bridge has no file storage; send image_url (a URL or data URL).` : `Missing required parameter: '${param}.image_url'.`,
          part.file_id ? `${param}.file_id` : `${param}.image_url`,
          part.file_id ? "unsupported_parameter" : "missing_required_parameter",
        );
      }
      const image: Extract<ChatContentPart, { type: "image_url" }>["image_url"] = { url: part.image_url };
      if (part.detail === "low" || part.detail === "high" || part.detail === "auto") image.detail = part.detail;
      return { type: "image_url", image_url: image };
    }
    case "input_file": {
      if (typeof part.file_data === "string") {
        const file: Extract<ChatContentPart, { type: "file" }>["file"] = { file_data: part.file_data };
        if (typeof part.filename === "string") file.filename = part.filename;
        return { type: "file", file };
      }
      const which = part.file_id ? "file_id" : part.file_url ? "file_url" : "file_data";
      throw invalidRequest(`'${param}.${which}' cannot be resolved by this bridge; send the file inline as file_data.`, `${param}.${which}`, "unsupported_parameter");
    }
    default:
      throw invalidRequest(`Invalid value for '${param}.type': '${String(part.type)}'.`, `${param}.type`, "invalid_value");
  }
}

function toolOutput(output: unknown, param: string): { text: string; images: ChatContentPart[] } {
  if (typeof output === "string") return { text: output, images: [] };
  if (!Array.isArray(output)) throw invalidRequest(`Invalid type for '${param}': expected a string or an array of content parts.`, param, "invalid_type");
  const texts: string[] = [];
  const images: ChatContentPart[] = [];
  output.forEach((p, j) => {
    const part = contentPart(p, `${param}[${j}]`);
    if (part.type === "text") texts.push(part.text);
    else images.push(part);
  });
  return { text: texts.join("\n"), images };
}
