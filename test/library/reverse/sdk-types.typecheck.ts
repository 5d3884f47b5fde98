/**
 * Type-level test, checked by `npm run typecheck`: every chat chunk and
 * completion the reverse direction emits is assignable to the `openai`
 * package's own `ChatCompletionChunk` / `ChatCompletion`.
 */
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions";
import type { ChatChunkOut, ChatCompletionOut } from "../../../src/index.ts";

type Assert<T extends true> = T;
export type ChunksAreSdkChunks = Assert<ChatChunkOut extends ChatCompletionChunk ? true : false>;
export type CompletionsAreSdkCompletions = Assert<ChatCompletionOut extends ChatCompletion ? true : false>;
