import { BoundedCapture, utf8SafeEnd } from './body-capture';

const TEXT = 'ab😀c€d'; // 1 + 1 + 4 + 1 + 3 + 1 bytes
const BYTES = Buffer.from(TEXT, 'utf8');

function captureOf(chunks: Buffer[], maxBytes: number): BoundedCapture {
  const c = new BoundedCapture(maxBytes);
  for (const chunk of chunks) c.push(chunk);
  return c;
}

describe('BoundedCapture', () => {
  it('keeps a body within the limit whole', () => {
    const c = captureOf([Buffer.from('{"a":'), Buffer.from('1}')], 100);
    expect(c.text()).toBe('{"a":1}');
    expect(c.truncated).toBe(false);
    expect(c.totalBytes).toBe(7);
  });

  it('keeps a body of exactly the limit untruncated', () => {
    const c = captureOf([BYTES], BYTES.length);
    expect(c.text()).toBe(TEXT);
    expect(c.truncated).toBe(false);
  });

  it('cuts at the limit, flags truncation and counts every byte seen', () => {
    const c = captureOf([Buffer.from('hello '), Buffer.from('world'), Buffer.from('!!!')], 8);
    expect(c.text()).toBe('hello wo');
    expect(c.truncated).toBe(true);
    expect(c.totalBytes).toBe(14);
  });

  it('captures nothing with a zero limit but still counts', () => {
    const c = captureOf([Buffer.from('abc')], 0);
    expect(c.text()).toBe('');
    expect(c.truncated).toBe(true);
    expect(c.totalBytes).toBe(3);
  });

  it('is empty before anything was pushed', () => {
    const c = new BoundedCapture(10);
    expect(c.text()).toBe('');
    expect(c.truncated).toBe(false);
    expect(c.totalBytes).toBe(0);
  });

  it('reassembles a multi-byte character split across chunks when not truncated', () => {
    for (let split = 0; split <= BYTES.length; split++) {
      const c = captureOf([BYTES.subarray(0, split), BYTES.subarray(split)], 1024);
      expect(c.text()).toBe(TEXT);
    }
  });

  it('never produces U+FFFD when the limit falls at any byte of a multi-byte character', () => {
    for (let max = 0; max <= BYTES.length; max++) {
      // The same body in one chunk and split at every position.
      for (let split = 0; split <= BYTES.length; split++) {
        const c = captureOf([BYTES.subarray(0, split), BYTES.subarray(split)], max);
        const text = c.text();
        expect(text).not.toContain('\uFFFD');
        expect(TEXT.startsWith(text)).toBe(true);
        // Only the character cut by the limit is dropped: at most 3 bytes.
        expect(max - Buffer.byteLength(text)).toBeLessThanOrEqual(3);
        expect(c.truncated).toBe(max < BYTES.length);
        expect(c.totalBytes).toBe(BYTES.length);
      }
    }
  });

  it('drops an emoji cut at each of its inner byte positions', () => {
    const emoji = Buffer.from('x😀', 'utf8'); // 78 F0 9F 98 80
    expect(captureOf([emoji], 1).text()).toBe('x');
    expect(captureOf([emoji], 2).text()).toBe('x');
    expect(captureOf([emoji], 3).text()).toBe('x');
    expect(captureOf([emoji], 4).text()).toBe('x');
    expect(captureOf([emoji], 5).text()).toBe('x😀');
  });
});

describe('utf8SafeEnd', () => {
  it('keeps complete text whole', () => {
    expect(utf8SafeEnd(BYTES)).toBe(BYTES.length);
    expect(utf8SafeEnd(Buffer.alloc(0))).toBe(0);
  });

  it('backs off to the start of a cut 2-, 3- and 4-byte character', () => {
    expect(utf8SafeEnd(Buffer.from([0x61, 0xc3]))).toBe(1);
    expect(utf8SafeEnd(Buffer.from([0x61, 0xe2, 0x82]))).toBe(1);
    expect(utf8SafeEnd(Buffer.from([0x61, 0xf0, 0x9f, 0x98]))).toBe(1);
  });
});
