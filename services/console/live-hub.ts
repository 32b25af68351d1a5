import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LiveProgress, LiveRecord, LiveStarted } from '../shared/event/live-record';
import type { AlertTransition } from './alerts/alert-tracker';
import type { RequestSummary } from './requests-store';

/**
 * `GET /api/live`: one server-sent-event stream per open dashboard. Events:
 * `snapshot` (calls in flight and active alerts, sent first on every
 * (re)connection), `started`, `progress`, `finished`, `aggregates` (new
 * aggregates may be available: refetch), `alert`. Memory is bounded: calls in
 * flight are capped in number and text, a client that stops reading is cut
 * off (its browser reconnects and gets a fresh snapshot). A client attached
 * without text (a viewer) gets the same events with no prompt, no answer
 * text and no answer preview: only sizes and metadata.
 */

export interface LiveHubOptions {
  maxClients: number;
  heartbeatMs: number;
  /** Calls in flight remembered for snapshots. */
  maxInFlight: number;
  /** Answer text remembered per call in flight (the start of it). */
  maxTextChars: number;
  /** A client with more unsent bytes than this is disconnected. */
  maxBufferedBytes: number;
  /** `aggregates` notifications at most this often. */
  aggregatesEveryMs: number;
}

export const DEFAULT_LIVE_HUB_OPTIONS: LiveHubOptions = {
  maxClients: 200,
  heartbeatMs: 15_000,
  maxInFlight: 500,
  maxTextChars: 16_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  aggregatesEveryMs: 2_000,
};

/** A call in flight as snapshots show it. */
export interface InFlight extends LiveStarted {
  text: string;
  chars: number;
  ttft_ms: number | null;
}

export class LiveHub {
  /** Each client, and whether it may see prompt and answer text. */
  private readonly clients = new Map<ServerResponse, { text: boolean }>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly heartbeat: NodeJS.Timeout;
  private aggregatesTimer: NodeJS.Timeout | null = null;
  private lastAggregatesAt = 0;

  constructor(
    private readonly activeAlerts: () => AlertTransition[],
    private readonly options: LiveHubOptions = DEFAULT_LIVE_HUB_OPTIONS,
  ) {
    this.heartbeat = setInterval(() => this.broadcastRaw(': keep-alive\n\n'), options.heartbeatMs);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  attach(req: IncomingMessage, res: ServerResponse, options: { text: boolean } = { text: true }): void {
    if (this.clients.size >= this.options.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '10' });
      res.end('too many live connections');
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx-style proxies must not buffer the stream
    });
    res.write('retry: 2000\n\n');
    const inFlight = [...this.inFlight.values()];
    res.write(frame('snapshot', { inFlight: options.text ? inFlight : inFlight.map(withoutText), alerts: this.activeAlerts() }));
    this.clients.set(res, { text: options.text });
    const drop = (): void => {
      this.clients.delete(res);
    };
    req.on('close', drop);
    res.on('close', drop);
  }

  onLive(records: LiveRecord[]): void {
    for (const r of records) {
      if (r.type === 'started') this.onStarted(r);
      else this.onProgress(r);
    }
  }

  onFinished(summaries: RequestSummary[]): void {
    for (const s of summaries) {
      this.inFlight.delete(s.event_id);
      this.broadcast('finished', s, s.response_preview === null ? undefined : { ...s, response_preview: null });
    }
  }

  /** Forgets the prompt and answer text of a user's calls in flight (erasure); answers how many. */
  eraseUser(user: string): number {
    let n = 0;
    for (const call of this.inFlight.values()) {
      if (call.user !== user || (call.prompt === null && call.text === '')) continue;
      call.prompt = null;
      call.text = '';
      n++;
    }
    return n;
  }

  /** New data may change the aggregates: tell dashboards to refetch (throttled). */
  onAggregates(): void {
    if (this.aggregatesTimer) return;
    const wait = Math.max(0, this.lastAggregatesAt + this.options.aggregatesEveryMs - Date.now());
    this.aggregatesTimer = setTimeout(() => {
      this.aggregatesTimer = null;
      this.lastAggregatesAt = Date.now();
      this.broadcast('aggregates', { at: new Date().toISOString() });
    }, wait);
    this.aggregatesTimer.unref();
  }

  onAlert(t: AlertTransition): void {
    this.broadcast('alert', t);
  }

  close(): void {
    clearInterval(this.heartbeat);
    if (this.aggregatesTimer) clearTimeout(this.aggregatesTimer);
    for (const res of this.clients.keys()) res.end();
    this.clients.clear();
  }

  private onStarted(r: LiveStarted): void {
    if (!this.inFlight.has(r.event_id) && this.inFlight.size >= this.options.maxInFlight) {
      // The oldest call is the likeliest to have been missed finishing.
      const oldest = this.inFlight.keys().next().value;
      if (oldest !== undefined) this.inFlight.delete(oldest);
    }
    this.inFlight.set(r.event_id, { ...r, text: '', chars: 0, ttft_ms: null });
    this.broadcast('started', r, r.prompt === null ? undefined : { ...r, prompt: null });
  }

  private onProgress(r: LiveProgress): void {
    const call = this.inFlight.get(r.event_id);
    if (call) {
      if (call.text.length < this.options.maxTextChars) call.text = (call.text + r.text).slice(0, this.options.maxTextChars);
      call.chars = r.chars;
      call.ttft_ms = r.ttft_ms;
    }
    this.broadcast('progress', r, r.text === '' ? undefined : { ...r, text: '' });
  }

  /** `withoutText`: what clients without text get instead (undefined: the same). */
  private broadcast(event: string, data: unknown, withoutText?: unknown): void {
    if (this.clients.size === 0) return;
    const full = frame(event, data);
    let stripped: string | null = null;
    this.broadcastRaw((client) => (client.text || withoutText === undefined ? full : (stripped ??= frame(event, withoutText))));
  }

  private broadcastRaw(text: string | ((client: { text: boolean }) => string)): void {
    for (const [res, client] of this.clients) {
      if (res.writableLength > this.options.maxBufferedBytes) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(typeof text === 'string' ? text : text(client));
    }
  }
}

function withoutText(call: InFlight): InFlight {
  return { ...call, prompt: null, text: '' };
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
