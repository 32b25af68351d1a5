import type { LiveProgress, LiveStarted } from '../../../shared/event/live-record';
import type { InFlight } from '../../live-hub';
import type { AlertTransition, RequestSummary } from './api';

/**
 * One EventSource for the whole page. EventSource reconnects by itself (the
 * server asks for 2 s); every (re)connection starts with a snapshot, and
 * listeners get `reconnected` to refetch what they may have missed.
 */

export type InFlightSnapshot = InFlight;

export interface LiveEvents {
  snapshot: { inFlight: InFlightSnapshot[]; alerts: AlertTransition[] };
  started: LiveStarted;
  progress: LiveProgress;
  finished: RequestSummary;
  aggregates: { at: string };
  alert: AlertTransition;
  reconnected: null;
}

type Listener<K extends keyof LiveEvents> = (data: LiveEvents[K]) => void;

const listeners: { [K in keyof LiveEvents]?: Set<Listener<K>> } = {};
let source: EventSource | null = null;
let everOpened = false;

export function on<K extends keyof LiveEvents>(event: K, fn: Listener<K>): () => void {
  let set = listeners[event] as Set<Listener<K>> | undefined;
  if (!set) {
    set = new Set();
    (listeners as Record<string, Set<Listener<K>>>)[event] = set;
  }
  set.add(fn);
  return () => set.delete(fn);
}

function emit<K extends keyof LiveEvents>(event: K, data: LiveEvents[K]): void {
  const set = listeners[event] as Set<Listener<K>> | undefined;
  set?.forEach((fn) => fn(data));
}

export function connect(status: (text: string, ok: boolean) => void): void {
  if (source) return;
  source = new EventSource('/api/live');
  source.onopen = () => {
    status('live', true);
    if (everOpened) emit('reconnected', null);
    everOpened = true;
  };
  source.onerror = () => {
    status('reconnecting…', false);
    // A 401 ends the stream for good: the session is gone, sign in again.
    if (source?.readyState === EventSource.CLOSED) {
      void fetch('/api/alerts').then((r) => {
        if (r.status === 401) location.href = '/login';
      });
    }
  };
  for (const name of ['snapshot', 'started', 'progress', 'finished', 'aggregates', 'alert'] as const) {
    source.addEventListener(name, (e) => emit(name, JSON.parse((e as MessageEvent<string>).data) as LiveEvents[typeof name]));
  }
}
