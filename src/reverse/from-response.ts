import { ResponsesError } from "../errors.ts";
import { isObject } from "../internal/is-object.ts";
import type { ChatCompletionOut, ChatToolCallOut, ChatTokenLogprobOut, ChatUrlCitationOut } from "../types/chat-out.ts";
import type { ResponsesToChatOptions } from "./converter.ts";
import { chatCompletionId, chatLogprobs, chatUrlCitation, errorTypeFor, finishReasonOf } from "./shapes.ts";
import { chatUsage } from "./usage.ts";

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/**
 * A whole Responses `Response` object (a non-streamed answer) → one
 * `chat.completion`, with the same content the stream would carry: text,
 * refusal, reasoning summary as `reasoning_content`, function calls as
 * `tool_calls`, usage. A `failed` response throws `ResponsesError` with the
 * upstream's error (429 for a rate limit, else 502); a body that is not a Response, 502.
 */
export function fromResponse(response: unknown, options: Pick<ResponsesToChatOptions, "model" | "now"> = {}): ChatCompletionOut {
  if (!isObject(response) || !Array.isArray(response["output"])) {
    throw new ResponsesError(502, { message: "Upstream answered with something that is not a Response object.", type: "server_error", code: "server_error" });
  }
  if (response["status"] === "failed") {
    const err = isObject(response["error"]) ? response["error"] : {};
    const code = str(err["code"]) || "server_error";
    // A rate limit keeps its 429 (clients back off on it); any other failure is the upstream's: 502.
    throw new ResponsesError(code === "rate_limit_exceeded" ? 429 : 502, { message: str(err["message"]) || "The upstream response failed.", type: errorTypeFor(code), code });
  }
  let content: string | null = null;
  let refusal: string | null = null;
  let reasoning = "";
  const annotations: ChatUrlCitationOut[] = [];
  const calls: ChatToolCallOut[] = [];
  let logprobs: ChatTokenLogprobOut[] | null = null;
  for (const item of response["output"] as unknown[]) {
    if (!isObject(item)) continue;
    const parts = (k: string): Array<Record<string, unknown>> => (Array.isArray(item[k]) ? (item[k] as unknown[]).filter(isObject) : []);
    if (item["type"] === "message") {
      for (const p of parts("content")) {
        if (p["type"] === "output_text") {
          content = (content ?? "") + str(p["text"]);
          if (Array.isArray(p["annotations"])) for (const a of p["annotations"]) {
            const c = chatUrlCitation(a);
            if (c) annotations.push(c);
          }
          const lp = chatLogprobs(p["logprobs"]);
          if (lp) (logprobs ??= []).push(...lp);
        } else if (p["type"] === "refusal") refusal = (refusal ?? "") + str(p["refusal"]);
      }
    } else if (item["type"] === "reasoning") {
      for (const p of [...parts("summary"), ...parts("content")]) {
        const t = str(p["text"]);
        if (t) reasoning += (reasoning ? "\n\n" : "") + t;
      }
    } else if (item["type"] === "function_call") {
      calls.push({ id: str(item["call_id"]) || str(item["id"]), type: "function", function: { name: str(item["name"]), arguments: str(item["arguments"]) } });
    }
  }
  const message: ChatCompletionOut["choices"][number]["message"] = { role: "assistant", content, refusal, annotations };
  if (calls.length) message.tool_calls = calls;
  if (reasoning) message.reasoning_content = reasoning;
  const status = str(response["status"]);
  const completion: ChatCompletionOut = {
    id: chatCompletionId(response["id"]),
    object: "chat.completion",
    created: typeof response["created_at"] === "number" ? response["created_at"] : (options.now ?? (() => Math.floor(Date.now() / 1000)))(),
    model: str(response["model"]) || (options.model ?? ""),
    choices: [{ index: 0, message, logprobs: logprobs ? { content: logprobs, refusal: null } : null, finish_reason: finishReasonOf(status, response["incomplete_details"], calls.length > 0) }],
  };
  const usage = chatUsage(response["usage"]);
  if (usage) completion.usage = usage;
  return completion;
}
