// Entry ".": what a browser page or a `fetch` pipeline needs. Conversion, its
// stream shells, request translation, errors and the wire types. Stored state,
// sealing and compaction (what only a server needs) are in "./server".
export { type ChatToResponsesConverter, type ConvertOptions, createChatToResponsesConverter } from "./convert/converter.ts";
export type { PendingEvents } from "./convert/emitter.ts";
export { fromChatCompletion } from "./convert/from-completion.ts";
export type { ObfuscationOption } from "./convert/obfuscation.ts";
export type { ToolRouting, ToolTarget } from "./convert/tool-calls.ts";
export { type ErrorPayload, invalidRequest, normalizeUpstreamError, readUpstreamError, ResponsesError, type UpstreamErrorReading } from "./errors.ts";
// The reverse direction: Chat Completions clients in front of a Responses upstream.
export {
  createResponsesToChatConverter,
  type ErrorInput,
  type ResponsesEventLike,
  type ResponsesToChatConverter,
  type ResponsesToChatOptions,
} from "./reverse/converter.ts";
export { fromResponse } from "./reverse/from-response.ts";
export { type ResponsesRequestTranslation, type ToResponsesOptions, toResponsesRequest } from "./reverse/to-responses-request.ts";
export { createIdGenerator, type IdGenerator } from "./ids.ts";
export type { ReasoningHistory, ToChatOptions } from "./request/options.ts";
export { type ChatRequestTranslation, parseResponsesRequest, toChatRequest } from "./request/to-chat-request.ts";
export { checkToolPairing } from "./request/pairing.ts";
export { shapeMessages, type TemplateShape } from "./request/template-shape.ts";
export { flatToolName } from "./request/tools.ts";
export { DEFAULT_KEEP_ALIVE_MS, type EventSink } from "./streams/event-pump.ts";
export {
  createResponsesReader,
  DEFAULT_IDLE_TIMEOUT_MS,
  type ResponsesReader,
  type ResponsesReaderOptions,
  type UpstreamBody,
} from "./streams/responses-reader.ts";
export { chatToResponsesSse } from "./streams/responses-sse.ts";
export { ChatSseDecoder, type ChatSseHandlers } from "./streams/sse-decode.ts";
export { DONE_FRAME, encodeEvent, encodeEvents } from "./streams/sse-encode.ts";
export { ResponsesToChatStream, type ResponsesToChatStreamOptions, responsesToChatSse, type ResponsesToChatSseOptions } from "./streams/chat-streams.ts";
export { ChatChunksToResponsesEventsStream, ChatToResponsesStream, type ChatToResponsesStreamOptions } from "./streams/transform-streams.ts";
export type * from "./types/chat.ts";
export type * from "./types/chat-out.ts";
export type * from "./types/responses.ts";
