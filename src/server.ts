// Entry "./server": what a server that keeps state needs on top of ".":
// history expansion (`previous_response_id`, `item_reference`), the store
// interface and an in-memory store, sealed tokens, and compaction.
export {
  COMPACTION_INSTRUCTIONS,
  compactedResource,
  compactionExpander,
  compactionItem,
  compactionResponse,
  compactionTriggered,
  contextCompactionItem,
  currentTurnStart,
  fromLatestCompaction,
  isContextSummary,
  keptUserMessages,
  requireSealer,
  summaryRequest,
  summaryText,
} from "./state/compaction.ts";
export {
  checkItems,
  checkMetadata,
  conversationItemNotFound,
  conversationItems,
  conversationNotFound,
  conversationOf,
  type ConversationResource,
  type ConversationStore,
  includeOf,
  MemoryConversationStore,
  withInclude,
} from "./state/conversations.ts";
export {
  type ExpandedInput,
  expandInput,
  type ExpandOptions,
  type HistoryResolver,
  type ItemExpander,
  layerResolvers,
  ownItems,
  previousResponseNotFound,
  responseNotFound,
  storeResolver,
} from "./state/history.ts";
export { reasoningExpander, sealReasoningEvents, sealReasoningItems, wantsEncryptedReasoning } from "./state/reasoning-seal.ts";
export { createSealer, type Sealer, type SealPurpose } from "./state/seal.ts";
export {
  type ConversationItem,
  type ItemPage,
  type ListOptions,
  MemoryResponseStore,
  pageItems,
  type ResponseStore,
  type StoredResponse,
  storedTurn,
  type StoredTurn,
  type ItemSource,
  normaliseItems,
} from "./state/store.ts";
