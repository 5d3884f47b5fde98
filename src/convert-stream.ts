// The converter now lives in `convert/`, split by item kind; this module keeps the old import path.
export { type ChatToResponsesConverter, type ConvertOptions, convertLogprobs, createChatToResponsesConverter } from "./convert/converter.ts";
export { customInput, type ToolRouting, type ToolTarget } from "./convert/tool-calls.ts";
