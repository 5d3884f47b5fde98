import type { ItemStatus, Logprob, MessageItem, OutputTextPart, RefusalPart, UrlCitation } from "../types/responses.ts";
import { DeltaTarget, type Emitter, type OpenItem } from "./emitter.ts";

/**
 * The assistant `message` item: `output_text` and `refusal` parts, each
 * `content_part.added` → deltas → `.done` → `content_part.done`.
 */
export class MessageWriter implements OpenItem {
  readonly item: MessageItem;
  readonly index: number;
  private part: OutputTextPart | RefusalPart | null = null;
  private partIndex = -1;
  private text = "";
  private target: DeltaTarget | null = null;

  private readonly out: Emitter;

  constructor(out: Emitter, id: string) {
    this.out = out;
    this.item = { id, type: "message", status: "in_progress", role: "assistant", content: [] };
    this.index = out.addItem(this.item, this);
  }

  /** True while an `output_text` part is open (logprobs alone may extend it). */
  get inText(): boolean {
    return this.part?.type === "output_text";
  }

  appendText(text: string, logprobs: Logprob[] | null): void {
    const part = this.ensurePart("output_text") as OutputTextPart;
    this.text += text;
    if (logprobs) for (const lp of logprobs) part.logprobs.push(lp);
    this.out.delta(this.target!, text, logprobs);
  }

  appendRefusal(text: string): void {
    this.ensurePart("refusal");
    this.text += text;
    this.out.delta(this.target!, text);
  }

  annotate(annotation: UrlCitation): void {
    const part = this.ensurePart("output_text") as OutputTextPart;
    part.annotations.push(annotation);
    this.out.event({
      type: "response.output_text.annotation.added",
      item_id: this.item.id,
      output_index: this.index,
      content_index: this.partIndex,
      annotation_index: part.annotations.length - 1,
      annotation,
    });
  }

  close(status: ItemStatus): void {
    this.closePart();
    this.item.status = status;
    this.out.finishItem(this.index, this.item);
  }

  private ensurePart(type: "output_text" | "refusal"): OutputTextPart | RefusalPart {
    if (this.part?.type === type) return this.part;
    this.closePart();
    const part: OutputTextPart | RefusalPart =
      type === "output_text" ? { type: "output_text", text: "", annotations: [], logprobs: [] } : { type: "refusal", refusal: "" };
    this.part = part;
    this.partIndex = this.item.content.length;
    this.target = new DeltaTarget(type === "output_text" ? "response.output_text.delta" : "response.refusal.delta", this.item.id, this.index, "content_index", this.partIndex);
    this.out.event({ type: "response.content_part.added", item_id: this.item.id, output_index: this.index, content_index: this.partIndex, part: clonePart(part) });
    return part;
  }

  private closePart(): void {
    const part = this.part;
    if (!part) return;
    const base = { item_id: this.item.id, output_index: this.index, content_index: this.partIndex };
    if (part.type === "output_text") {
      part.text = this.text;
      this.out.event({ type: "response.output_text.done", ...base, text: this.text, logprobs: part.logprobs });
    } else {
      part.refusal = this.text;
      this.out.event({ type: "response.refusal.done", ...base, refusal: this.text });
    }
    this.out.event({ type: "response.content_part.done", ...base, part: clonePart(part) });
    this.item.content.push(part);
    this.part = null;
    this.target = null;
    this.text = "";
  }
}

function clonePart<T extends OutputTextPart | RefusalPart>(part: T): T {
  return part.type === "output_text" ? ({ ...part, annotations: [...part.annotations], logprobs: [...part.logprobs] } as T) : { ...part };
}
