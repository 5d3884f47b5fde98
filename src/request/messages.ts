import type { ChatContentPart, ChatMessage, ChatTextPart, ChatToolCall } from "../types/chat.ts";
import type { AddTools } from "./tools.ts";
import { loadedToolsText, TOOL_SEARCH, upstreamName } from "./tools.ts";
import { invalidRequest } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import { reasoningOrigin, type ReasoningReturnField, reasoningText, returnField, upstreamTag } from "../convert/reasoning-origin.ts";
import type { ResponsesRequest } from "../types/responses.ts";
import type { ToChatOptions } from "./options.ts";
import { callStates, stateFrom } from "./provider-state.ts";
import type { ChatReasoningDetail } from "../types/chat.ts";

// Input items → chat messages (`toChatRequest`'s history half).

type AssistantMessage = Extract<ChatMessage, { role: "assistant" }>;

export function convertInput(body: ResponsesRequest, options: ToChatOptions, addTools: AddTools): ChatMessage[] {
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
  const here = upstreamTag(options.upstream ?? (typeof body.model === "string" ? body.model : ""));
  const reasoning = reasoningCollector(options, here);
  // Gemini's thought signatures, back on the calls they came with (only those this upstream made).
  const signed = callStates(input, here);
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
    if (type !== "function_call_output" && type !== "custom_tool_call_output" && type !== "tool_search_output") flushToolImages();
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
        const extra = signed.get(raw.call_id);
        if (extra) call.extra_content = extra;
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
      case "tool_search_call":
      case "tool_search_output":
        assistant = toolSearch(raw, param, messages, assistant ?? (type === "tool_search_call" ? newAssistant(null) : null), addTools);
        return;
      case "reasoning": {
        // State that came after the answer began (see provider-state.ts) goes back on that answer's message.
        const state = stateFrom(raw, here);
        if (state?.after) {
          if (assistant && state.message) assistant.extra_content = state.message;
          if (assistant && state.details) {
            assistant.reasoning_details = [...(assistant.reasoning_details ?? []), ...state.details];
            delete assistant.reasoning;
          }
          return;
        }
        // Reasoning between an answer and its calls starts a new assistant turn, as it did upstream.
        if (reasoning.add(raw)) assistant = null;
        return;
      }
      case "additional_tools":
        // Codex 0.169 (gpt-5.6 and later) declares its tools here instead of in `tools`, the AI SDK 7 tools loaded mid-conversation: offered alike.
        if (raw.role != null && raw.role !== "developer") throw invalidRequest(`Invalid value for '${param}.role': '${String(raw.role)}'. Supported: developer.`, `${param}.role`, "invalid_value");
        addTools(raw.tools, `${param}.tools`);
        return;
      case "configuration_update":
        // A change of reasoning effort or text format for the turns after it: applied by `turnSettings`, no message.
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
 * Codex's tool search in history: its call as a call of the `tool_search` function (joining the
 * assistant message at hand), its output as that call's result, naming the tools it loaded, which
 * are offered from now on as inline namespace tools are. Returns the assistant message a next call joins.
 */
function toolSearch(raw: Record<string, unknown>, param: string, messages: ChatMessage[], assistant: AssistantMessage | null, addTools: AddTools): AssistantMessage | null {
  const callId = typeof raw.call_id === "string" && raw.call_id ? raw.call_id : null;
  if (raw.type === "tool_search_call") {
    const id = callId ?? (typeof raw.id === "string" ? raw.id : null);
    if (!id) throw invalidRequest(`Missing required parameter: '${param}.call_id'.`, `${param}.call_id`, "missing_required_parameter");
    const args = typeof raw.arguments === "string" ? raw.arguments : JSON.stringify(raw.arguments ?? {});
    (assistant!.tool_calls ??= []).push({ id, type: "function", function: { name: TOOL_SEARCH, arguments: args } });
    return assistant;
  }
  addTools(raw.tools ?? [], `${param}.tools`);
  // A server-executed search has no call to answer; its tools are offered all the same.
  if (callId) messages.push({ role: "tool", tool_call_id: callId, content: loadedToolsText(raw.tools) });
  return null;
}

/**
 * Reasoning items, held until the assistant message they preceded: the text
 * of each goes into the field the policy picks for it (see `ReasoningHistory`);
 * OpenRouter's `reasoning_details` from this upstream go back whole, in place
 * of the text they repeat.
 */
function reasoningCollector(options: ToChatOptions, here: string) {
  const policy = options.reasoningHistory ?? "auto";
  const pending: Partial<Record<ReasoningReturnField, string>> = {};
  let details: ChatReasoningDetail[] = [];
  const fieldFor = (item: Record<string, unknown>): ReasoningReturnField | undefined => {
    if (policy === "drop") return undefined;
    if (policy !== "auto") return policy;
    const origin = reasoningOrigin(item.id);
    return origin && origin.upstream === here ? returnField(origin.field) : undefined;
  };
  const addText = (item: Record<string, unknown>): boolean => {
    const field = fieldFor(item);
    if (!field) return false;
    const text = reasoningText(item);
    if (!text) return false;
    pending[field] = (pending[field] ?? "") + text;
    return true;
  };
  return {
    /** Holds the item's text (and this upstream's reasoning_details) for the next assistant message; true when any is kept. */
    add(item: Record<string, unknown>): boolean {
      const kept = stateFrom(item, here)?.details;
      if (kept?.length) details = details.concat(kept);
      return addText(item) || Boolean(kept?.length);
    },
    attach(message: AssistantMessage): void {
      for (const field of ["reasoning_content", "reasoning"] as const) {
        if (pending[field]) message[field] = pending[field];
        delete pending[field];
      }
      if (!details.length) return;
      message.reasoning_details = details;
      delete message.reasoning;
      details = [];
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
