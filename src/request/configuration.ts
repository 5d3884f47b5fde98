import type { ChatResponseFormat } from "../types/chat.ts";
import { invalidRequest } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import type { ResponsesRequest } from "../types/responses.ts";

// The settings a turn runs with: the request's own, then the `configuration_update` items in its input.

/** What the chat request's `reasoning_effort` and `response_format` become (`undefined`: left out). */
export interface TurnSettings {
  effort: string | undefined;
  format: ChatResponseFormat | undefined;
}

/**
 * The request's `reasoning.effort` and `text.format`, then every
 * `configuration_update` input item in order, each replacing the settings it
 * names ("each setting stays in effect until a later update replaces it").
 * A chain continued from stored state brings its earlier updates back ahead
 * of the new input, so an update made turns ago holds until a later one.
 */
export function turnSettings(body: ResponsesRequest): TurnSettings {
  const settings: TurnSettings = {
    effort: isObject(body.reasoning) && typeof body.reasoning.effort === "string" ? body.reasoning.effort : undefined,
    format: convertTextFormat(isObject(body.text) ? body.text.format : undefined, "text.format"),
  };
  if (!Array.isArray(body.input)) return settings;
  (body.input as unknown[]).forEach((item, i) => {
    if (isObject(item) && item.type === "configuration_update") applyUpdate(item, `input[${i}]`, settings);
  });
  return settings;
}

function applyUpdate(item: Record<string, unknown>, param: string, settings: TurnSettings): void {
  const { reasoning, text } = item;
  if (reasoning == null && text == null) {
    throw invalidRequest(`Missing required parameter: '${param}.reasoning' or '${param}.text' (a configuration_update sets one or both).`, param, "missing_required_parameter");
  }
  if (reasoning != null) {
    if (!isObject(reasoning)) throw invalidRequest(`Invalid type for '${param}.reasoning': expected an object.`, `${param}.reasoning`, "invalid_type");
    for (const key of Object.keys(reasoning)) {
      if (key !== "effort") throw invalidRequest(`Unknown parameter: '${param}.reasoning.${key}'.`, `${param}.reasoning.${key}`, "unknown_parameter");
    }
    const effort = reasoning.effort;
    if (effort !== undefined && effort !== null && typeof effort !== "string") {
      throw invalidRequest(`Invalid type for '${param}.reasoning.effort': expected a string.`, `${param}.reasoning.effort`, "invalid_type");
    }
    // `effort: null` puts the upstream's own default back; an update without `effort` leaves it as it was.
    if (effort !== undefined) settings.effort = effort ?? undefined;
  }
  if (text != null) {
    if (!isObject(text)) throw invalidRequest(`Invalid type for '${param}.text': expected an object.`, `${param}.text`, "invalid_type");
    if (text.format == null) throw invalidRequest(`Missing required parameter: '${param}.text.format'.`, `${param}.text.format`, "missing_required_parameter");
    settings.format = convertTextFormat(text.format, `${param}.text.format`);
  }
}

/** A Responses `text.format` → the chat `response_format` (`undefined` for plain text); `param` names it in errors. */
function convertTextFormat(format: unknown, param: string): ChatResponseFormat | undefined {
  if (format == null) return undefined;
  if (!isObject(format)) throw invalidRequest(`Invalid value for '${param}'.`, param, "invalid_value");
  if (format.type === "text") return undefined;
  if (format.type === "json_object") return { type: "json_object" };
  if (format.type === "json_schema") {
    if (typeof format.name !== "string") throw invalidRequest(`Missing required parameter: '${param}.name'.`, `${param}.name`, "missing_required_parameter");
    const js: Extract<ChatResponseFormat, { type: "json_schema" }>["json_schema"] = { name: format.name };
    if (isObject(format.schema)) js.schema = format.schema;
    if (typeof format.strict === "boolean") js.strict = format.strict;
    if (typeof format.description === "string") js.description = format.description;
    return { type: "json_schema", json_schema: js };
  }
  throw invalidRequest(`Invalid value for '${param}.type': '${String(format.type)}'.`, `${param}.type`, "invalid_value");
}
