import type { ItemStatus, ReasoningItem } from "../types/responses.ts";
import { DeltaTarget, type Emitter, type OpenItem } from "./emitter.ts";

/**
 * A `reasoning` item from upstream reasoning text: as one summary part
 * (default; what Codex, the `openai` SDK and the AI SDK display) or, raw, as
 * one `reasoning_text` content part. With no text (a turn whose only
 * reasoning is provider state, see `provider-state.ts`), no part at all.
 */
export class ReasoningWriter implements OpenItem {
  readonly item: ReasoningItem;
  readonly index: number;
  private text = "";
  private started = false;
  private readonly target: DeltaTarget;

  private readonly out: Emitter;
  private readonly raw: boolean;

  constructor(out: Emitter, id: string, raw: boolean) {
    this.out = out;
    this.raw = raw;
    this.item = { id, type: "reasoning", summary: [], status: "in_progress" };
    if (raw) this.item.content = [];
    const index = (this.index = out.addItem(this.item, this));
    this.target = raw
      ? new DeltaTarget("response.reasoning_text.delta", id, index, "content_index", 0)
      : new DeltaTarget("response.reasoning_summary_text.delta", id, index, "summary_index", 0);
  }

  /** Its one part opens with the first text: an item that only carries provider state has none. */
  private openPart(): void {
    const { item, index, out } = this;
    this.started = true;
    if (this.raw) out.event({ type: "response.content_part.added", item_id: item.id, output_index: index, content_index: 0, part: { type: "reasoning_text", text: "" } });
    else out.event({ type: "response.reasoning_summary_part.added", item_id: item.id, output_index: index, summary_index: 0, part: { type: "summary_text", text: "" } });
  }

  append(text: string): void {
    if (!this.started) this.openPart();
    this.text += text;
    this.out.delta(this.target, text);
  }

  close(status: ItemStatus): void {
    // With no text, the item closes with no part, as OpenAI's reasoning items without a summary do.
    if (this.started) this.closePart();
    this.item.status = status;
    this.out.finishItem(this.index, this.item);
  }

  private closePart(): void {
    const { item, index, text, out } = this;
    if (this.raw) {
      const part = { type: "reasoning_text" as const, text };
      out.event({ type: "response.reasoning_text.done", item_id: item.id, output_index: index, content_index: 0, text });
      out.event({ type: "response.content_part.done", item_id: item.id, output_index: index, content_index: 0, part });
      item.content = [part];
    } else {
      const part = { type: "summary_text" as const, text };
      out.event({ type: "response.reasoning_summary_text.done", item_id: item.id, output_index: index, summary_index: 0, text });
      out.event({ type: "response.reasoning_summary_part.done", item_id: item.id, output_index: index, summary_index: 0, part });
      item.summary = [part];
    }
  }
}
