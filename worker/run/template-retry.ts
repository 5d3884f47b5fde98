import type { TemplateShape } from "../../src/index.ts";
import type { ModelRoute } from "../config.ts";
import { UpstreamMemory } from "./upstream-memory.ts";

/**
 * Strict chat templates (Qwen 3.5+, Mistral, Gemma, Llama-2-style ones under
 * vLLM, llama.cpp or Ollama) refuse what most servers take: a system message
 * after the first, or two turns of one role in a row. They say so in the
 * template's own words (vLLM with a 400; llama.cpp and Ollama with a 500
 * quoting the Jinja exception): `System message must be at the beginning.`,
 * `Conversation roles must alternate user/assistant/user/assistant/...`,
 * `After the optional system message, conversation roles must alternate …`.
 * Templates with no system role at all: `Only user and assistant roles are
 * supported!`, `Only user, assistant and tool roles are supported, got
 * system.`, `System role not supported`. Those words are the signal to send
 * the conversation once more in the shape asked for (see `TemplateShape`).
 */
export function templateShapeAskedFor(status: number, message: string, current: TemplateShape): TemplateShape | null {
  if (status !== 400 && status !== 422 && status !== 500) return null;
  if (/only user(,| and) assistant\b[^.!]*roles are supported|system role (is )?not supported/i.test(message)) return current === "no-system" ? null : "no-system";
  if (/system message must be at the beginning|roles must alternate/i.test(message)) return current === "join" ? "strict" : null;
  return null;
}

/** The shape this request's messages go upstream in; `learns` while MODEL_MAP names none. */
export interface TemplateState {
  shape: TemplateShape;
  learns: boolean;
}

/**
 * Upstreams (by identity: base URL + model) whose template asked for a shape:
 * later requests to them are sent that way the first time. Per isolate (`UpstreamMemory`).
 */
const learned = new UpstreamMemory<TemplateShape>();

export function templateFor(route: ModelRoute, upstream: string): TemplateState {
  if (route.template) return { shape: route.template, learns: false };
  return { shape: learned.get(upstream) ?? "join", learns: true };
}

/** After an upstream error: true (the shape changed and is remembered) when sending again in another shape may pass. */
export function retryTemplate(state: TemplateState, upstream: string, status: number, message: string): boolean {
  const next = state.learns ? templateShapeAskedFor(status, message, state.shape) : null;
  if (!next) return false;
  learned.set(upstream, next);
  state.shape = next;
  return true;
}
