import type { ChatCompletionRequest, ChatFunctionTool, ChatToolChoice } from "../types/chat.ts";
import type { ToolTarget } from "../convert/tool-calls.ts";
import { invalidRequest } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import type { ToChatOptions } from "./options.ts";

// Declared tools → chat function tools, and the routing that maps calls back (`toChatRequest`'s tools half).

/**
 * The name a namespaced tool gets upstream, where names are flat. `functions`
 * is the namespace OpenAI's models see every plain function in (Codex's
 * `additional_tools` declare `functions.exec`), so its tools keep their names.
 */
export function flatToolName(namespace: string, name: string): string {
  return namespace === "functions" ? name : namespace.endsWith("_") ? namespace + name : `${namespace}__${name}`;
}

/** Offers a list of declared tools (`tools`, or an `additional_tools` item's) upstream; `param` names it in errors. */
export type AddTools = (list: unknown, param: string) => void;

export function addTool(
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
  if (tool.type === "tool_search" && tool.execution === "client") {
    // Codex's search over its deferred (MCP) tools: an ordinary function upstream, its calls streamed back as `tool_search_call`.
    routing.set(TOOL_SEARCH, { kind: "tool_search", name: TOOL_SEARCH });
    out.set(TOOL_SEARCH, functionTool(TOOL_SEARCH, { description: tool.description ?? "Searches for tools to load.", parameters: tool.parameters ?? SEARCH_PARAMETERS }));
    return;
  }
  if (options.hostedTools === "reject") {
    throw invalidRequest(`Tool type '${tool.type}' is run by OpenAI's servers and cannot be offered through a Chat Completions upstream.`, param, "unsupported_tool");
  }
  if (!dropped.includes(tool.type)) dropped.push(tool.type);
}

/** The function a client-executed `tool_search` becomes upstream; calls of it in history go back under this name. */
export const TOOL_SEARCH = "tool_search";

const SEARCH_PARAMETERS = { type: "object", properties: { query: { type: "string", description: "Search query for deferred tools." } }, required: ["query"] };

/** What the model reads as the result of its tool search: the tools it can call now, by their upstream names. */
export function loadedToolsText(tools: unknown): string {
  const lines: string[] = [];
  const add = (tool: unknown, namespace: string | undefined) => {
    if (!isObject(tool) || typeof tool.name !== "string") return;
    if (tool.type === "namespace" && Array.isArray(tool.tools)) return tool.tools.forEach((t) => add(t, tool.name as string));
    const description = typeof tool.description === "string" && tool.description ? `: ${tool.description.split("\n")[0]}` : "";
    lines.push(`- ${upstreamName(tool.name, namespace)}${description}`);
  };
  if (Array.isArray(tools)) tools.forEach((t) => add(t, undefined));
  return lines.length ? `Tools found, now available to call:\n${lines.join("\n")}` : "No tools matched the search.";
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

export function upstreamName(name: string, namespace: unknown): string {
  return typeof namespace === "string" && namespace ? flatToolName(namespace, name) : name;
}

export function convertToolChoice(choice: unknown, request: ChatCompletionRequest): ChatToolChoice | undefined {
  if (choice == null) return undefined;
  if (choice === "auto" || choice === "none" || choice === "required") return choice;
  if (!isObject(choice) || typeof choice.type !== "string") throw invalidRequest("Invalid value for 'tool_choice'.", "tool_choice", "invalid_value");
  if (choice.type === "function" || choice.type === "custom") {
    if (typeof choice.name !== "string") throw invalidRequest("Missing required parameter: 'tool_choice.name'.", "tool_choice.name", "missing_required_parameter");
    return { type: "function", function: { name: upstreamName(choice.name, choice.namespace) } };
  }
  if (choice.type === "allowed_tools") return allowedTools(choice, request);
  // A hosted tool was chosen; it was dropped with the tool itself.
  return "auto";
}

/**
 * `tool_choice: {type: "allowed_tools", mode, tools}` (the AI SDK 7's `providerOptions.openai.allowedTools`)
 * as Chat Completions can say it everywhere: only the allowed tools are offered, and `mode` becomes
 * `tool_choice`. Entries naming hosted tools go with the tools themselves (dropped, see `addTool`);
 * an entry naming no tool that was offered, or `required` with nothing left to call, is a 400.
 */
function allowedTools(choice: Record<string, unknown>, request: ChatCompletionRequest): ChatToolChoice {
  const mode = choice.mode ?? "auto";
  if (mode !== "auto" && mode !== "required" && mode !== "none") {
    throw invalidRequest(`Invalid value for 'tool_choice.mode': '${String(mode)}'. Supported: auto, required, none.`, "tool_choice.mode", "invalid_value");
  }
  if (!Array.isArray(choice.tools)) throw invalidRequest("Invalid type for 'tool_choice.tools': expected an array.", "tool_choice.tools", "invalid_type");
  if (choice.tools.length === 0) throw invalidRequest("Invalid 'tool_choice.tools': empty array. Expected an array with minimum length 1, but got an empty array instead.", "tool_choice.tools", "empty_array");
  if (choice.tools.length > MAX_ALLOWED) {
    throw invalidRequest(`Invalid 'tool_choice.tools': array too long. Expected an array with maximum length ${MAX_ALLOWED}, but got an array with length ${choice.tools.length} instead.`, "tool_choice.tools", "array_above_max_length");
  }
  const offered = new Set((request.tools ?? []).map((t) => t.function.name));
  const allowed = new Set<string>();
  const hosted: string[] = [];
  choice.tools.forEach((entry: unknown, i) => {
    const param = `tool_choice.tools[${i}]`;
    if (!isObject(entry) || typeof entry.type !== "string") throw invalidRequest(`Invalid value for '${param}': expected an object with a type.`, param, "invalid_type");
    const name = allowedName(entry, param, offered);
    if (name === undefined) return void hosted.push(entry.type as string);
    if (!offered.has(name)) throw invalidRequest(`Invalid value for '${param}': no tool named '${name}' is offered in 'tools' or an additional_tools item.`, param, "invalid_value");
    allowed.add(name);
  });
  if (request.tools) request.tools = request.tools.filter((t) => allowed.has(t.function.name));
  if (!request.tools?.length) {
    delete request.tools;
    delete request.parallel_tool_calls;
  }
  if (mode === "required" && !request.tools) {
    throw invalidRequest(
      `tool_choice.allowed_tools with mode 'required' allows only tools run by OpenAI's servers (${hosted.join(", ")}), which a Chat Completions upstream cannot call.`,
      "tool_choice.tools",
      "unsupported_tool",
    );
  }
  return mode;
}

/** Open Responses' `AllowedToolsParam.tools` `maxItems`. */
const MAX_ALLOWED = 128;

/** The upstream name an `allowed_tools` entry allows, or `undefined` for a hosted tool (dropped upstream). */
function allowedName(entry: Record<string, unknown>, param: string, offered: Set<string>): string | undefined {
  if (entry.type === "function" || entry.type === "custom") {
    if (typeof entry.name !== "string" || entry.name === "") throw invalidRequest(`Missing required parameter: '${param}.name'.`, `${param}.name`, "missing_required_parameter");
    return upstreamName(entry.name, entry.namespace);
  }
  // Codex's client-executed tool search is a function upstream; a server-executed one was dropped.
  if (entry.type === "tool_search" && offered.has(TOOL_SEARCH)) return TOOL_SEARCH;
  return undefined;
}
