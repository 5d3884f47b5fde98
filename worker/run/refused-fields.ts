import type { ErrorPayload } from "../../src/index.ts";
import type { ModelRoute } from "../config.ts";
import { UpstreamMemory } from "./upstream-memory.ts";

/**
 * Top-level Chat Completions fields the bridge adds or forwards that change nothing the client
 * asked the model for: caching and routing hints, tracing ids, usage reporting, storage flags,
 * sampling reproducibility. An upstream that refuses one (by name, in its own words) is
 * asked again without it. Everything else (`response_format`, `tools`, `tool_choice`,
 * `reasoning_effort`, `temperature`, `messages`, and `logprobs`/`top_logprobs`, which the bridge
 * sends only when the client asked for logprobs: without them its answer would silently lack
 * what it asked for…) carries what the client asked for, so the client
 * gets the upstream's 400 instead (MODEL_MAP's `omit` can leave such a field out on purpose);
 * only the output limit is sent again, under its other name (`OTHER_NAME`).
 * docs/request-mapping.md lists them.
 */
const DROPPABLE_FIELDS: ReadonlySet<string> = new Set([
  "prompt_cache_key",
  "prompt_cache_retention",
  "safety_identifier",
  "user",
  "metadata",
  "service_tier",
  "store",
  "stream_options",
  "parallel_tool_calls",
  "verbosity",
  "seed",
]);

/** `tools[0].function` → `tools.0.function`: one way to write a path. */
const dotted = (path: string) => path.replace(/\[(\d*)\]/g, (_, i: string) => (i ? `.${i}` : "")).replace(/^\.+|\.+$/g, "");

/** The quoted items of a Python tuple or list (`'body', 'x', 0`), as path segments. */
const items = (list: string) => [...list.matchAll(/'([^']*)'|"([^"]*)"|(\d+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);

/** A pydantic `loc` (`("body", "x")`) as a request path: the leading `body` is where, not what. */
const fromLoc = (segments: string[]) => (segments[0] === "body" ? segments.slice(1) : segments).join(".");

/** Each provider's words for "this request field is not one I know", with how to read the field's path out of them. */
const PATTERNS: Array<[RegExp, (m: RegExpMatchArray) => string[]]> = [
  // Google (Gemini's OpenAI-compatible endpoint): `Invalid JSON payload received. Unknown name "prompt_cache_key": Cannot find field.`,
  // nested: `Unknown name "strict" at 'tools[0].function': Cannot find field.`
  [/Unknown name "([^"]+)"(?: at '([^']+)')?: Cannot find field/g, (m) => [m[2] ? `${dotted(m[2])}.${m[1]}` : m[1]!]],
  // OpenAI (and servers copying it): `Unrecognized request argument supplied: x`, `Unrecognized request arguments supplied: x, y`.
  [/Unrecognized request arguments? supplied: ([^\n]+)/g, (m) => m[1]!.split(/,\s*/).map((s) => dotted(s.trim().replace(/\.$/, "")))],
  // OpenAI's newer words: `Unknown parameter: 'x'.`, `Unsupported parameter: 'x' is not supported with this model.`
  [/Un(?:known|supported) parameter: '([^']+)'/g, (m) => [dotted(m[1]!)]],
  // Groq: `property 'store' is unsupported, did you mean 'stop'?`; nested: `'messages.0' : property 'timestamp' is unsupported`.
  [/(?:'([^']+)' : )?property '([^']+)' is unsupported/g, (m) => [m[1] ? `${dotted(m[1])}.${m[2]}` : m[2]!]],
  // pydantic as vLLM quotes it (Python repr): `[{'type': 'extra_forbidden', 'loc': ('body', 'x'), 'msg': 'Extra inputs are not permitted', …}]`.
  [/'type': 'extra_forbidden', 'loc': \(([^)]*)\)/g, (m) => [fromLoc(items(m[1]!))]],
  // pydantic as JSON (FastAPI's 422 `detail`, Mistral's `message`): `{"type":"extra_forbidden","loc":["body","x"],…}`.
  [/"type":\s*"extra_forbidden",\s*"loc":\s*\[([^\]]*)\]/g, (m) => [fromLoc(items(m[1]!))]],
  // The same, once read into a message by readUpstreamError: `body.x: Extra inputs are not permitted`.
  [/(?:^|; )body\.([^:;]+): Extra inputs are not permitted/g, (m) => [m[1]!]],
  // LiteLLM's proxy: `litellm.UnsupportedParamsError: openai does not support parameters: ['x'], for model=…`.
  [/does not support parameters: \[([^\]]*)\]/g, (m) => items(m[1]!)],
];

/** Codes OpenAI-style servers put beside a `param` naming a field they do not take. */
const REFUSAL_CODES = new Set(["unknown_parameter", "unsupported_parameter", "unrecognized_parameter"]);

/**
 * The request fields (as paths: `prompt_cache_key`, `messages.0.timestamp`) an upstream's 400 or
 * 422 names as unknown or unsupported; empty when it names none. Pure: the error as
 * `readUpstreamError` put it.
 */
export function refusedFields(status: number, error: Pick<ErrorPayload, "message" | "param" | "code">): string[] {
  if (status !== 400 && status !== 422) return [];
  const found = new Set<string>();
  // The words come first in every form seen; a very long body (a page, a quoted request) is not searched whole.
  const message = error.message.slice(0, 20_000);
  for (const [pattern, read] of PATTERNS) for (const m of message.matchAll(pattern)) for (const f of read(m)) if (f) found.add(f);
  if (found.size === 0 && error.param && error.code && REFUSAL_CODES.has(error.code)) found.add(dotted(error.param));
  return [...found];
}

/** Refused-field retries for one request at most: each drops at least one more field, and there are few to drop. */
const MAX_RETRIES = 4;

/**
 * The output limit goes by two names; a server that knows only one refuses the other (OpenAI's
 * reasoning models: `Unsupported parameter: 'max_tokens' … Use 'max_completion_tokens' instead.`;
 * older vLLM: `extra_forbidden` on `max_completion_tokens`). The limit the client asked for is
 * kept: sent again under the other name.
 */
const OTHER_NAME: Record<string, string> = { max_tokens: "max_completion_tokens", max_completion_tokens: "max_tokens" };

/** A field's rule for one upstream: null, left out; a string, sent under that name. */
type Rule = string | null;

/** What this request's body leaves out or renames, and what it has tried. */
export interface RefusedState {
  /** Rules for every request to this upstream: MODEL_MAP's `omit`, then what it refused before. */
  rules: Map<string, Rule>;
  /** What the last body built actually left out (`x`) or renamed (`x→y`), for the log line. */
  dropped: string[];
  retries: number;
}

/**
 * Upstreams (by identity: base URL + model) and the fields they refused: later requests to them
 * are sent without (or renamed) from the first. Per isolate (`UpstreamMemory`).
 */
const learned = new UpstreamMemory<Map<string, Rule>>();

export function refusedFor(route: ModelRoute, upstream: string): RefusedState {
  const rules = new Map<string, Rule>((route.omit ?? []).map((f) => [f, null]));
  for (const [f, rule] of learned.get(upstream) ?? []) if (!rules.has(f)) rules.set(f, rule);
  return { rules, dropped: [], retries: 0 };
}

/** `body` without the fields this upstream does not take, and with those it takes under another name (the same object when none apply). */
export function asUpstreamTakesIt<T extends Record<string, unknown>>(body: T, state: RefusedState): T {
  const apply = Object.keys(body).filter((k) => state.rules.has(k));
  state.dropped = apply.map((k) => (state.rules.get(k) ? `${k}→${state.rules.get(k)}` : k));
  if (apply.length === 0) return body;
  const out: Record<string, unknown> = { ...body };
  for (const k of apply) {
    const to = state.rules.get(k);
    if (to && out[to] === undefined) out[to] = out[k];
    delete out[k];
  }
  return out as T;
}

/** What to do with a refused top-level field: a rule, or undefined when it must stay (the client gets the 400). */
function ruleFor(field: string, state: RefusedState, sent: Record<string, unknown>): Rule | undefined {
  if (sent[field] === undefined || state.rules.has(field)) return undefined;
  if (DROPPABLE_FIELDS.has(field)) return null;
  const other = OTHER_NAME[field];
  return other && sent[other] === undefined && !state.rules.has(other) ? other : undefined;
}

/**
 * After an upstream error: the fields to send again without (or renamed; now remembered for this
 * upstream), or null when the error names none, names one that carries meaning (the client gets
 * the 400), names one the request did not have, or the retries are spent.
 */
export function retryWithoutRefused(state: RefusedState, upstream: string, status: number, error: ErrorPayload, sent: Record<string, unknown>): string[] | null {
  const fields = refusedFields(status, error);
  if (fields.length === 0 || state.retries >= MAX_RETRIES) return null;
  const top = [...new Set(fields.map((f) => f.split(".")[0]!))];
  const rules = top.map((f) => ruleFor(f, state, sent));
  if (rules.some((r) => r === undefined)) return null;
  const remembered = learned.get(upstream) ?? new Map<string, Rule>();
  top.forEach((f, i) => {
    state.rules.set(f, rules[i]!);
    remembered.set(f, rules[i]!);
  });
  learned.set(upstream, remembered);
  state.retries++;
  return top;
}
