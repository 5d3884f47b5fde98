export { ChatChunksToResponsesEventsStream, ChatToResponsesStream, type ChatToResponsesStreamOptions } from "./chat-to-responses-stream.ts";
export { chatToResponsesSse } from "./streams/responses-sse.ts";
export {
  createResponsesReader,
  DEFAULT_IDLE_TIMEOUT_MS,
  type ResponsesReader,
  type ResponsesReaderOptions,
  type UpstreamBody,
} from "./streams/responses-reader.ts";
export { DEFAULT_KEEP_ALIVE_MS, type EventSink } from "./streams/event-pump.ts";
export type { PendingEvents } from "./convert/emitter.ts";
export type { ObfuscationOption } from "./convert/obfuscation.ts";
export {
  type ChatToResponsesConverter,
  type ConvertOptions,
  createChatToResponsesConverter,
  type ToolRouting,
  type ToolTarget,
} from "./convert-stream.ts";
export { type ErrorPayload, invalidRequest, normalizeUpstreamError, ResponsesError } from "./errors.ts";
export { createIdGenerator, type IdGenerator } from "./ids.ts";
export { ChatSseDecoder, type ChatSseHandlers } from "./sse-decode.ts";
export { DONE_FRAME, encodeEvent, encodeEvents } from "./sse-encode.ts";
export type * from "./chat-types.ts";
export type * from "./responses-types.ts";
export { fromChatCompletion } from "./from-chat-completion.ts";
export { type ChatRequestTranslation, flatToolName, parseResponsesRequest, type ReasoningHistory, toChatRequest, type ToChatOptions } from "./to-chat-request.ts";
export { createSealer, type Sealer, type SealPurpose } from "./seal.ts";
export {
  type ConversationItem,
  type ItemPage,
  type ListOptions,
  MemoryResponseStore,
  pageItems,
  type ResponseStore,
  type StoredResponse,
  storedResponse,
} from "./store.ts";
export {
  type ExpandedInput,
  expandInput,
  type ExpandOptions,
  type HistoryResolver,
  type ItemExpander,
  layerResolvers,
  previousResponseNotFound,
  storeResolver,
} from "./history.ts";
export { reasoningExpander, sealReasoningEvents, sealReasoningItems, wantsEncryptedReasoning } from "./reasoning-seal.ts";
