import type { ReasoningReturnField } from "../convert/reasoning-origin.ts";
import type { TemplateShape } from "./template-shape.ts";

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
  /** How far messages are reshaped for the upstream's chat template (default `"join"`; see `TemplateShape`). */
  template?: TemplateShape;
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
