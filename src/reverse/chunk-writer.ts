import type { ErrorPayload } from "../errors.ts";
import type { ChatChunkOut, ChatDeltaOut, ChatFinishReasonOut, ChatFrame, ChatTokenLogprobOut, ChatUsageOut } from "../types/chat-out.ts";

/** The delta fields that carry streamed text. */
export type TextField = "content" | "refusal" | "reasoning_content";

/** The stream's identity, known once the upstream's `response.created` arrived. */
export interface ChunkIdentity {
  id: string;
  created: number;
  model: string;
  /** `stream_options.include_usage`: `usage: null` on every chunk, a usage chunk at the end. */
  includeUsage: boolean;
}

/**
 * Writes chat chunks, either as SSE text (`data: {json}\n\n`, the stream
 * shells' wire mode) or as objects (the object-level API). In wire mode a
 * text delta costs one `JSON.stringify` of its string: everything around it
 * is a head and a tail made once per stream.
 */
export class ChunkWriter {
  /** Wire mode: the SSE text written since the last `take`. */
  text = "";
  /** Object mode: the frames written since the last `take`. */
  frames: ChatFrame[] = [];
  private readonly wire: boolean;
  private id: ChunkIdentity | null = null;
  private head = "";
  private tail = "";

  constructor(wire: boolean) {
    this.wire = wire;
  }

  start(identity: ChunkIdentity): void {
    this.id = identity;
    this.head = `data: {"id":${JSON.stringify(identity.id)},"object":"chat.completion.chunk","created":${identity.created},"model":${JSON.stringify(identity.model)},"choices":[{"index":0,"delta":{"`;
    this.tail = `},"logprobs":null,"finish_reason":null}]${identity.includeUsage ? ',"usage":null' : ""}}\n\n`;
  }

  /** The hot path: one text delta in one field. */
  delta(field: TextField, text: string): void {
    if (this.wire) this.text += this.head + field + '":' + JSON.stringify(text) + this.tail;
    else this.frames.push(this.chunk({ [field]: text }, null, null));
  }

  /** Any other chunk with one choice. */
  choice(delta: ChatDeltaOut, finish: ChatFinishReasonOut | null = null, logprobs: ChatTokenLogprobOut[] | null = null): void {
    this.write(this.chunk(delta, finish, logprobs));
  }

  /** The last chunk with `include_usage`: no choices, the usage. */
  usage(usage: ChatUsageOut): void {
    const { id, created, model } = this.id!;
    this.write({ id, object: "chat.completion.chunk", created, model, choices: [], usage });
  }

  error(error: ErrorPayload): void {
    if (this.wire) this.text += `data: ${JSON.stringify({ error })}\n\n`;
    else this.frames.push({ error });
  }

  /** An SSE comment (wire mode only): the upstream is alive, the client's connection should stay so. */
  comment(): void {
    if (this.wire) this.text += ": keep-alive\n\n";
  }

  /** `data: [DONE]`, after the last chunk of a stream that ended well (wire mode only: it is no object). */
  done(): void {
    if (this.wire) this.text += "data: [DONE]\n\n";
  }

  /** Object mode: the frames since the last call. */
  takeFrames(): ChatFrame[] {
    const out = this.frames;
    this.frames = [];
    return out;
  }

  /** Wire mode: the SSE text since the last call. */
  takeText(): string {
    const out = this.text;
    this.text = "";
    return out;
  }

  private chunk(delta: ChatDeltaOut, finish: ChatFinishReasonOut | null, logprobs: ChatTokenLogprobOut[] | null): ChatChunkOut {
    const { id, created, model, includeUsage } = this.id!;
    const c: ChatChunkOut = {
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, logprobs: logprobs ? { content: logprobs, refusal: null } : null, finish_reason: finish }],
    };
    if (includeUsage) c.usage = null;
    return c;
  }

  private write(c: ChatChunkOut): void {
    if (this.wire) this.text += `data: ${JSON.stringify(c)}\n\n`;
    else this.frames.push(c);
  }
}
