export { ChatChunksToResponsesEventsStream, ChatToResponsesStream, type ChatToResponsesStreamOptions } from "./chat-to-responses-stream.js";
export {
  type ChatToResponsesConverter,
  type ConvertOptions,
  createChatToResponsesConverter,
  type ToolRouting,
  type ToolTarget,
} from "./convert-stream.js";
export { type ErrorPayload, invalidRequest, normalizeUpstreamError, ResponsesError } from "./errors.js";
export { createIdGenerator, type IdGenerator } from "./ids.js";
export { ChatSseDecoder, type ChatSseHandlers } from "./sse-decode.js";
export { DONE_FRAME, encodeEvent, encodeEvents } from "./sse-encode.js";
export type * from "./chat-types.js";
export type * from "./responses-types.js";
