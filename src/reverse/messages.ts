import { invalidRequest } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import type { ResponsesContentPart, ResponsesInputItem } from "../types/responses.ts";

// Chat messages → Responses input items and instructions (`toResponsesRequest`'s history half).

type Rec = Record<string, unknown>;

/**
 * System and developer messages before the first other message become
 * `instructions` (joined by a blank line); later ones stay messages in place,
 * where their order matters. Assistant `tool_calls` become `function_call`
 * items after the assistant's text; `tool` messages `function_call_output`.
 */
export function convertMessages(messages: unknown): { instructions: string | null; input: ResponsesInputItem[] } {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalidRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
  }
  const leading: string[] = [];
  const input: ResponsesInputItem[] = [];
  messages.forEach((m, i) => {
    const param = `messages[${i}]`;
    if (!isObject(m)) throw invalidRequest(`Invalid type for '${param}': expected an object.`, param, "invalid_type");
    const role = m["role"];
    switch (role) {
      case "system":
      case "developer": {
        const text = textOf(m["content"], `${param}.content`);
        if (input.length === 0) leading.push(text);
        else input.push({ type: "message", role, content: text });
        return;
      }
      case "user":
        input.push({ type: "message", role: "user", content: userContent(m["content"], `${param}.content`) });
        return;
      case "assistant":
        assistant(m, param, input);
        return;
      case "tool":
        if (typeof m["tool_call_id"] !== "string") throw invalidRequest(`Missing required parameter: '${param}.tool_call_id'.`, `${param}.tool_call_id`, "missing_required_parameter");
        input.push({ type: "function_call_output", call_id: m["tool_call_id"], output: textOf(m["content"], `${param}.content`) });
        return;
      default:
        throw invalidRequest(
          `Invalid value for '${param}.role': '${String(role)}'. Supported: system, developer, user, assistant, tool.`,
          `${param}.role`,
          "invalid_value",
        );
    }
  });
  return { instructions: leading.length ? leading.join("\n\n") : null, input };
}

function assistant(m: Rec, param: string, input: ResponsesInputItem[]): void {
  const content = m["content"];
  const text = content == null ? "" : textOf(content, `${param}.content`);
  const refusal = typeof m["refusal"] === "string" ? m["refusal"] : "";
  if (text || refusal) input.push({ type: "message", role: "assistant", content: text || refusal });
  const calls = m["tool_calls"];
  if (calls == null) return;
  if (!Array.isArray(calls)) throw invalidRequest(`Invalid type for '${param}.tool_calls': expected an array.`, `${param}.tool_calls`, "invalid_type");
  calls.forEach((c, j) => {
    const p = `${param}.tool_calls[${j}]`;
    if (!isObject(c) || typeof c["id"] !== "string" || !isObject(c["function"]) || typeof c["function"]["name"] !== "string") {
      throw invalidRequest(`'${p}' needs an id and a function with a name.`, p, "missing_required_parameter");
    }
    const args = c["function"]["arguments"];
    input.push({ type: "function_call", call_id: c["id"], name: c["function"]["name"], arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}) });
  });
}

/** String content, or the text of text (and refusal) parts, joined. */
function textOf(content: unknown, param: string): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw invalidRequest(`Invalid type for '${param}': expected a string or an array of content parts.`, param, "invalid_type");
  return content
    .map((p, j) => {
      if (isObject(p) && p["type"] === "text" && typeof p["text"] === "string") return p["text"];
      if (isObject(p) && p["type"] === "refusal" && typeof p["refusal"] === "string") return p["refusal"];
      throw invalidRequest(`Invalid value for '${param}[${j}].type': only text parts are allowed here.`, `${param}[${j}].type`, "invalid_value");
    })
    .join("\n");
}

function userContent(content: unknown, param: string): string | ResponsesContentPart[] {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) throw invalidRequest(`Invalid type for '${param}': expected a string or an array of content parts.`, param, "invalid_type");
  return content.map((p, j) => contentPart(p, `${param}[${j}]`));
}

function contentPart(p: unknown, param: string): ResponsesContentPart {
  if (!isObject(p)) throw invalidRequest(`Invalid type for '${param}': expected a content part object.`, param, "invalid_type");
  if (p["type"] === "text" && typeof p["text"] === "string") return { type: "input_text", text: p["text"] };
  if (p["type"] === "image_url" && isObject(p["image_url"]) && typeof p["image_url"]["url"] === "string") {
    const d = p["image_url"]["detail"];
    return { type: "input_image", image_url: p["image_url"]["url"], detail: d === "low" || d === "high" ? d : "auto" };
  }
  if (p["type"] === "file" && isObject(p["file"])) {
    const f = p["file"];
    const part: Extract<ResponsesContentPart, { type: "input_file" }> = { type: "input_file" };
    if (typeof f["file_data"] === "string") part.file_data = f["file_data"];
    if (typeof f["file_id"] === "string") part.file_id = f["file_id"];
    if (typeof f["filename"] === "string") part.filename = f["filename"];
    if (!part.file_data && !part.file_id) throw invalidRequest(`'${param}.file' needs file_data or file_id.`, `${param}.file`, "missing_required_parameter");
    return part;
  }
  throw invalidRequest(`Invalid value for '${param}.type': '${String(p["type"])}' cannot be sent to a Responses model.`, `${param}.type`, "invalid_value");
}
