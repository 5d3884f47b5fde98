/**
 * Type-level test, checked by `npm run typecheck` (part of `npm test`): every
 * event this library emits is assignable to the `openai` package's own
 * `ResponseStreamEvent`. If a field goes missing or changes type, the build fails.
 */
import type { Response as SdkResponse, ResponseStreamEvent as SdkEvent } from "openai/resources/responses/responses";
import type { ResponseResource, ResponsesRequest, ResponseStreamEvent } from "../../src/index.ts";

// `output_text` is computed by the SDK from `output`; it is not on the wire.
type SdkWireResponse = Omit<SdkResponse, "output_text">;
type Wire<T> = T extends { response: SdkResponse } ? Omit<T, "response"> & { response: SdkWireResponse } : T;
type SdkWireEvent = Wire<SdkEvent>;

// Open Responses types `error.code` as any string so upstream codes such as
// `context_length_exceeded` pass through; the SDK narrows it to OpenAI's own list.
// `tools`, `tool_choice`, `text`, `reasoning` and `service_tier` are echoed
// from the client's own request, so they have whatever type the client sent.
// `usage` is `null` until known, as the spec (and OpenAI's wire) has it; the
// SDK types only the known case, which is what is checked.
type SdkErrorCode = NonNullable<SdkResponse["error"]>["code"];
type Echoed = "tools" | "tool_choice" | "text" | "reasoning" | "service_tier";
type NarrowedResponse = Omit<ResponseResource, "error" | "usage" | Echoed> &
  Pick<SdkResponse, Echoed> & { error: { code: SdkErrorCode; message: string } | null; usage?: NonNullable<ResponseResource["usage"]> };
type Narrowed<E> = E extends { response: ResponseResource } ? Omit<E, "response"> & { response: NarrowedResponse } : E;

/** Resolves to `true`, or to the event types that are not assignable (shown in the compiler error). */
type Mismatches<E> = E extends unknown ? (Narrowed<E> extends SdkWireEvent ? never : E) : never;
type Assert<T extends never> = T;

export type EveryEventIsAnSdkEvent = Assert<Mismatches<ResponseStreamEvent>>;

// And the other direction for the core items: what the SDK calls an output item covers ours.
type SdkItem = SdkResponse["output"][number];
export type ItemsAreSdkItems = Assert<ResponseResource["output"][number] extends SdkItem ? never : ResponseResource["output"][number]>;

// The request side, for the fields the AI SDK 7 brought: what the SDK lets a client send, our request types take.
type SdkCreate = import("openai/resources/responses/responses").ResponseCreateParamsBase;
type SdkUpdate = import("openai/resources/responses/responses").ResponseConfigurationUpdateItemParam;
type OurItem = Exclude<NonNullable<ResponsesRequest["input"]>, string>[number];
type OurUpdate = Extract<OurItem, { type: "configuration_update" }>;
export type ConfigurationUpdatesFit = Assert<SdkUpdate extends OurUpdate ? never : SdkUpdate>;
export type PromptCacheOptionsFit = Assert<NonNullable<SdkCreate["prompt_cache_options"]> extends NonNullable<ResponsesRequest["prompt_cache_options"]> ? never : SdkCreate["prompt_cache_options"]>;
export type ReasoningFits = Assert<NonNullable<SdkCreate["reasoning"]> extends NonNullable<ResponsesRequest["reasoning"]> ? never : SdkCreate["reasoning"]>;
