/**
 * Finds the line breaks (CR or LF) of server-sent-event text with native
 * searches (indexOf) rather than a regular expression. Most streams end lines
 * with LF only; the position of the next CR is remembered, so such a text is
 * searched for a CR once.
 */
export class LineBreakFinder {
  private text = '';
  /** The first CR at or after the last search position; -1: none. */
  private cr = -1;

  /** Starts on `text`; breaks before `from` are already handled. */
  reset(text: string, from = 0): void {
    this.text = text;
    this.cr = text.indexOf('\r', from);
  }

  /** The text now lacks its first `n` characters (handled): `text` is what is left. */
  dropped(text: string, n: number): void {
    this.text = text;
    if (this.cr !== -1) this.cr = this.cr >= n ? this.cr - n : text.indexOf('\r');
  }

  /** Where the first CR or LF at or after `from` is, or -1. `from` must not go back between resets. */
  next(from: number): number {
    if (this.cr !== -1 && this.cr < from) this.cr = this.text.indexOf('\r', from);
    const lf = this.text.indexOf('\n', from);
    return this.cr === -1 ? lf : lf === -1 ? this.cr : Math.min(this.cr, lf);
  }
}
