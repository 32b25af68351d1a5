import { LineBreakFinder } from './line-breaks';

/** Every break position, walked as the parsers do. */
function breaksOf(text: string, from = 0): number[] {
  const finder = new LineBreakFinder();
  finder.reset(text, from);
  const out: number[] = [];
  for (let at = finder.next(from); at !== -1; at = finder.next(at + 1)) out.push(at);
  return out;
}

describe('LineBreakFinder', () => {
  it('finds LF, CR and both halves of CRLF, in order', () => {
    expect(breaksOf('a\nb\rc\r\nd')).toEqual([1, 3, 5, 6]);
    expect(breaksOf('no breaks')).toEqual([]);
    expect(breaksOf('\r\r\n\n')).toEqual([0, 1, 2, 3]);
    expect(breaksOf('x\ny\rz', 2)).toEqual([3]);
  });

  it('keeps its place when the handled start of the text is cut off', () => {
    const finder = new LineBreakFinder();
    let text = 'ab\n\ncd\r\nef\n';
    finder.reset(text);
    expect(finder.next(0)).toBe(2);
    text = text.slice(4); // 'cd\r\nef\n'
    finder.dropped(text, 4);
    expect(finder.next(0)).toBe(2);
    expect(finder.next(3)).toBe(3);
    text = text.slice(4); // 'ef\n': the CR was before the cut
    finder.dropped(text, 4);
    expect(finder.next(0)).toBe(2);
  });
});
