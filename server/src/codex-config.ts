// Internal: what Codex needs to use the bridge, from the upstream's `GET /models`. Pure.
// Codex 0.169 reads `model_catalog_json` (a path) as `{"models": [ModelInfo…]}`; a model it finds
// there (longest slug prefix) gets that metadata instead of the fallback and its warning.
import { parse } from "smol-toml";

/** The provider id in `[model_providers.<id>]` (not Codex's reserved `openai`). */
const PROVIDER_ID = "responses-bridge";
/** The environment variable Codex sends as `Authorization: Bearer …`. */
export const KEY_ENV = "RESPONSES_BRIDGE_API_KEY";
export const CATALOG_FILE = "responses-bridge-models.json";

const tomlString = (s: string) => JSON.stringify(s);

/** `[model_providers.responses-bridge]`: the bridge as a Responses provider with its WebSocket. */
export function providerBlock(baseURL: string): string {
  return `[model_providers.${PROVIDER_ID}]
name = "responses-bridge"
base_url = ${tomlString(baseURL)}
wire_api = "responses"
supports_websockets = true
env_key = "${KEY_ENV}"
`;
}

/** The top-level keys that select the provider, a model and the catalog. */
export function topLevelKeys(model: string | undefined, catalogPath: string | undefined): string {
  return [
    model === undefined ? null : `model = ${tomlString(model)}`,
    `model_provider = "${PROVIDER_ID}"`,
    catalogPath === undefined ? null : `model_catalog_json = ${tomlString(catalogPath)}`,
  ]
    .filter((l) => l !== null)
    .join("\n");
}

/** One entry of an OpenAI-style `GET /models`, with the extras some servers add. */
export interface UpstreamModel {
  id: string;
  /** vLLM. */
  max_model_len?: number;
  /** OpenRouter (also under top_provider), Together. */
  context_length?: number;
  top_provider?: { context_length?: number };
  /** LM Studio. */
  max_context_length?: number;
  /** llama.cpp server (the training context). */
  meta?: { n_ctx_train?: number };
  /** OpenRouter: e.g. `["tools", "reasoning", "include_reasoning"]`. */
  supported_parameters?: string[];
  architecture?: { input_modalities?: string[] };
}

export interface CatalogOptions {
  /** The models to list, in this order; none: every model the upstream lists. */
  models: string[];
  /** Models to treat as reasoning models whatever their name. */
  reasoning: string[];
  /** The window Codex should plan with (`context_window`), when the upstream's is too big for the machine or unknown. */
  contextWindow: number | undefined;
}

type Json = Record<string, unknown>;

const positive = (n: unknown) => (typeof n === "number" && Number.isFinite(n) && n > 0 ? n : undefined);

/** The context window the upstream reports for the model, if it does. */
function reportedWindow(m: UpstreamModel): number | undefined {
  return positive(m.max_model_len) ?? positive(m.context_length) ?? positive(m.top_provider?.context_length) ?? positive(m.max_context_length) ?? positive(m.meta?.n_ctx_train);
}

// Open-weight and hosted families that think before answering (when the upstream says nothing).
const REASONING_NAME = /(reason|think|\br1\b|-r1|qwq|qwen3|gpt-oss|\bo[134](-|$)|gpt-5|magistral|deepseek-v3\.[12]|glm-4\.[5-9]|minimax-m|kimi-k2\.5|seed-oss|phi-4-reasoning)/i;

/** Whether Codex should offer reasoning efforts for it: what the upstream reports, else the name. */
export function reasons(m: UpstreamModel, marked: string[]): boolean {
  if (marked.includes(m.id)) return true;
  if (m.supported_parameters) return m.supported_parameters.some((p) => p === "reasoning" || p === "reasoning_effort" || p === "include_reasoning");
  return REASONING_NAME.test(m.id);
}

const EFFORTS = [
  { effort: "low", description: "Fast responses with lighter reasoning" },
  { effort: "medium", description: "Balances speed and reasoning depth for everyday tasks" },
  { effort: "high", description: "Greater reasoning depth for complex problems" },
];

/** Used when no Codex is at hand to lend its own model entry (its instructions are long and versioned with it). */
export const FALLBACK_TEMPLATE: Json = {
  shell_type: "shell_command",
  visibility: "list",
  supported_in_api: true,
  support_verbosity: false,
  truncation_policy: { mode: "tokens", limit: 10_000 },
  experimental_supported_tools: [],
  input_modalities: ["text", "image"],
  base_instructions:
    "You are Codex, a coding agent running in the user's terminal. You share the user's workspace: read files, run commands and edit code with the tools you have to carry the task to completion, then say briefly what you did. Prefer small, verifiable steps; use apply_patch to edit files.",
};

/**
 * The entry to copy settings from in a catalog Codex prints (`codex debug models --bundled`):
 * gpt-5.5, the bundled model that calls tools directly (the newer ones use code mode).
 */
export function pickTemplate(bundled: unknown): Json | undefined {
  const models = (bundled as { models?: Json[] } | null)?.models;
  if (!Array.isArray(models)) return undefined;
  return models.find((m) => m.slug === "gpt-5.5") ?? models.find((m) => m.apply_patch_tool_type === "freeform" && !m.tool_mode && !m.use_responses_lite);
}

// Fields of the template that describe OpenAI's model or service, not the upstream's.
const NOT_INHERITED = ["description", "upgrade", "availability_nux", "comp_hash", "tool_mode", "default_service_tier", "multi_agent_reasoning_effort", "model_specialty", "auto_compact_token_limit", "default_reasoning_level", "default_verbosity", "context_window", "max_context_window"];

/** One ModelInfo for Codex. */
function modelEntry(m: UpstreamModel, priority: number, options: CatalogOptions, template: Json): Json {
  const entry: Json = { ...template };
  for (const k of NOT_INHERITED) delete entry[k];
  const reported = reportedWindow(m);
  const thinks = reasons(m, options.reasoning);
  Object.assign(entry, {
    slug: m.id,
    display_name: m.id,
    description: `${m.id} through responses-bridge`,
    priority,
    visibility: "list",
    supported_in_api: true,
    // Levels only for a model that reasons: an empty list tells Codex there is nothing to pick.
    supported_reasoning_levels: thinks ? EFFORTS : [],
    ...(thinks ? { default_reasoning_level: "medium" } : {}),
    // The window Codex plans with, apart from the most the model takes.
    ...((options.contextWindow ?? reported) ? { context_window: options.contextWindow ?? reported } : {}),
    ...((reported ?? options.contextWindow) ? { max_context_window: reported ?? options.contextWindow } : {}),
    // Every model gets Codex's freeform apply_patch (the bridge carries custom tools to any upstream).
    apply_patch_tool_type: "freeform",
    support_verbosity: false,
    supports_search_tool: false,
    use_responses_lite: false,
    additional_speed_tiers: [],
    service_tiers: [],
    ...(m.architecture?.input_modalities ? { input_modalities: m.architecture.input_modalities.filter((x) => x === "text" || x === "image") } : {}),
  });
  return entry;
}

/** `{"models": […]}` from the upstream's `GET /models` body (null when it could not be read). */
export function buildCatalog(list: unknown, options: CatalogOptions, template: Json = FALLBACK_TEMPLATE): { models: Json[] } {
  const data = (list as { data?: unknown } | null)?.data;
  const listed = Array.isArray(data) ? (data as UpstreamModel[]).filter((m) => typeof m?.id === "string") : [];
  const chosen = options.models.length ? options.models.map((id) => listed.find((m) => m.id === id) ?? { id }) : listed;
  if (!chosen.length) throw new Error("the upstream lists no models; name them with --model M");
  return { models: chosen.map((m, i) => modelEntry(m, i + 1, options, template)) };
}

/** The top-level region of a TOML text: the lines before its first table header. */
const HEADER = /^\s*\[/;

/**
 * `existing` config.toml text with the bridge's keys set: its top-level `model`,
 * `model_provider` and `model_catalog_json` replaced and its `[model_providers.responses-bridge]`
 * table replaced (or added); every other line, comments included, stays as it was.
 */
export function mergeConfig(existing: string, top: string, provider: string): string {
  parse(existing); // refuse to edit what Codex itself could not read
  const lines = existing.split("\n");
  const firstTable = lines.findIndex((l) => HEADER.test(l));
  const head = firstTable === -1 ? lines : lines.slice(0, firstTable);
  const tail = firstTable === -1 ? [] : lines.slice(firstTable);
  const ours = new Set(top.split("\n").map((l) => l.split("=")[0]!.trim()));
  const keptHead = head.filter((l) => !ours.has(l.split("=")[0]!.trim()));
  const keptTail: string[] = [];
  let inOurs = false;
  for (const l of tail) {
    if (HEADER.test(l)) inOurs = /^\s*\[\s*model_providers\s*\.\s*("responses-bridge"|responses-bridge)\s*\]/.test(l);
    if (!inOurs) keptTail.push(l);
  }
  const trim = (ls: string[]) => ls.join("\n").replace(/^\n+|\n+$/g, "");
  const out = [top, trim(keptHead), trim(keptTail), provider.trimEnd()].filter((s) => s !== "").join("\n\n") + "\n";
  parse(out);
  return out;
}
