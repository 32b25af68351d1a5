/**
 * How much answer text (and tool-call arguments) one call keeps for its
 * event. A stream that never ends would otherwise grow it without bound;
 * past the budget, pieces are dropped and counted, and the event says its
 * text was cut. Pure.
 */
/** What keeping one entry (choice, tool call, block, item) costs of the budget, in characters. */
export const ENTRY_CHARS = 64;

export class TextBudget {
  private kept = 0;
  /** Characters of streamed pieces dropped. */
  cutChars = 0;

  constructor(readonly maxChars: number = Number.POSITIVE_INFINITY) {}

  /** `current` followed by as much of `more` as the budget still allows. */
  append(current: string, more: string): string {
    if (more === '') return current;
    const room = this.maxChars - this.kept;
    if (more.length <= room) {
      this.kept += more.length;
      return current + more;
    }
    const part = room > 0 ? clipText(more, room) : '';
    this.kept += part.length;
    this.cutChars += more.length - part.length;
    return part === '' ? current : current + part;
  }

  /**
   * Whether one more entry (a choice, tool call, content block or output
   * item) may be kept: each costs ENTRY_CHARS of the budget, so a stream
   * cannot make the call hold unboundedly many of them either.
   */
  admit(): boolean {
    if (this.kept + ENTRY_CHARS > this.maxChars) {
      this.cutChars += 1;
      return false;
    }
    this.kept += ENTRY_CHARS;
    return true;
  }

  /** A whole value that replaces streamed pieces (e.g. a `.done` event's full text): no longer than the budget. */
  clip(value: string): string {
    return clipText(value, this.maxChars);
  }
}

/** The first `max` UTF-16 units of `text`, not ending inside a surrogate pair. */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max);
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end -= 1;
  return text.slice(0, end);
}
