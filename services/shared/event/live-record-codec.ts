import type { LiveProgress, LiveRecord, LiveStarted } from './live-record';

/** JSON codec for live records (the dashboard reads the same shapes over SSE). */

export function encodeLiveRecord(record: LiveRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isStrOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parses and checks a live record; throws naming the first bad field. */
export function decodeLiveRecord(value: Buffer): LiveRecord {
  const r = JSON.parse(value.toString('utf8')) as Record<string, unknown>;
  const need = (field: string, ok: boolean): void => {
    if (!ok) throw new Error(`live record: bad or missing field "${field}"`);
  };
  need('event_id', isStr(r.event_id));
  if (r.type === 'started') {
    need('started_at', isNum(r.started_at));
    for (const f of ['upstream', 'provider', 'endpoint']) need(f, isStr(r[f]));
    for (const f of ['model', 'user', 'app', 'prompt']) need(f, isStrOrNull(r[f]));
    need('streamed', typeof r.streamed === 'boolean');
    return r as unknown as LiveStarted;
  }
  if (r.type === 'progress') {
    need('at', isNum(r.at));
    need('text', isStr(r.text));
    need('chars', isNum(r.chars));
    need('ttft_ms', r.ttft_ms === null || isNum(r.ttft_ms));
    return r as unknown as LiveProgress;
  }
  throw new Error('live record: bad or missing field "type"');
}
