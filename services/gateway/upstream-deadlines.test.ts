import { UpstreamDeadlines, UpstreamTimeoutError } from './upstream-deadlines';

describe('UpstreamDeadlines', () => {
  let now = 0;
  let deadlines: UpstreamDeadlines;
  beforeEach(() => {
    now = 1_000;
    deadlines = new UpstreamDeadlines(500, 200, () => now);
  });
  afterEach(() => deadlines.close());

  const watch = (): { expired: UpstreamTimeoutError[]; deadline: ReturnType<UpstreamDeadlines['watch']> } => {
    const expired: UpstreamTimeoutError[] = [];
    const deadline = deadlines.watch(now, (err) => expired.push(err));
    return { expired, deadline };
  };

  test('no headers within the headers timeout: expires once, naming the setting', () => {
    const { expired } = watch();
    now += 499;
    deadlines.check();
    expect(expired).toHaveLength(0);
    now += 1;
    deadlines.check();
    deadlines.check();
    expect(expired).toHaveLength(1);
    expect(expired[0]).toBeInstanceOf(UpstreamTimeoutError);
    expect(expired[0]!.message).toBe('no response headers within 500 ms (LLM_LOGGER_UPSTREAM_HEADERS_TIMEOUT_MS)');
  });

  test('after the headers, silence between chunks is timed from the last check that saw data', () => {
    const { expired, deadline } = watch();
    now += 400;
    deadline.headersReceived();
    deadlines.check(); // saw the headers: silence starts at 1,400
    now += 150;
    deadline.active = true; // a chunk
    deadlines.check(); // silence starts at 1,550
    now += 199;
    deadlines.check();
    expect(expired).toHaveLength(0);
    now += 1;
    deadlines.check();
    expect(expired.map((e) => e.message)).toEqual(['no data from the upstream for 200 ms (LLM_LOGGER_UPSTREAM_BODY_TIMEOUT_MS)']);
  });

  test('never early: data just before a check still counts from that check', () => {
    const { expired, deadline } = watch();
    deadline.headersReceived();
    deadlines.check();
    now += 190;
    deadline.active = true;
    now += 10;
    deadlines.check(); // 200 ms after the previous check, but data came 10 ms ago
    expect(expired).toHaveLength(0);
  });

  test('a paused call (the client is not reading) does not time out; it does once resumed and silent', () => {
    const { expired, deadline } = watch();
    deadline.headersReceived();
    deadline.paused = true;
    for (let i = 0; i < 10; i++) {
      now += 300;
      deadlines.check();
    }
    expect(expired).toHaveLength(0);
    deadline.paused = false;
    deadlines.check();
    now += 200;
    deadlines.check();
    expect(expired).toHaveLength(1);
  });

  test('a call that is done is forgotten; the timer stops when none is left', () => {
    const { expired, deadline } = watch();
    deadline.done();
    now += 10_000;
    deadlines.check();
    expect(expired).toHaveLength(0);
    expect((deadlines as unknown as { timer: unknown }).timer).toBeNull();
  });

  test('checks run on their own, about four times per shorter timeout', async () => {
    const real = new UpstreamDeadlines(60, 1_000);
    try {
      const started = performance.now();
      const err = await new Promise<UpstreamTimeoutError>((resolve) => real.watch(started, resolve));
      const elapsed = performance.now() - started;
      expect(err.message).toMatch(/within 60 ms/);
      expect(elapsed).toBeGreaterThanOrEqual(60);
      expect(elapsed).toBeLessThan(1_000);
    } finally {
      real.close();
    }
  });
});
