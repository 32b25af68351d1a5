/** A minimal server-sent-events reader for tests (what a browser's EventSource sees). */

export interface SseMessage {
  event: string;
  data: unknown;
  at: number;
}

export interface SseClient {
  status: number;
  messages: SseMessage[];
  waitFor(pred: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const messages: SseMessage[] = [];
  const waiters = new Set<() => void>();
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const event = /^event: (.*)$/m.exec(frame)?.[1];
            const data = /^data: (.*)$/m.exec(frame)?.[1];
            if (event && data !== undefined) messages.push({ event, data: JSON.parse(data), at: Date.now() });
          }
          waiters.forEach((w) => w());
        }
      } catch {
        // aborted
      }
    })();
  }
  return {
    status: res.status,
    messages,
    waitFor(pred, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const m = messages.find(pred);
          if (m) {
            waiters.delete(waiter);
            clearTimeout(timer);
            resolve(m);
          }
          return Boolean(m);
        };
        const waiter = (): void => void check();
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching SSE message in ${timeoutMs} ms; got: ${messages.map((m) => m.event).join(', ')}`));
        }, timeoutMs);
        waiters.add(waiter);
        check();
      });
    },
    close: () => abort.abort(),
  };
}
