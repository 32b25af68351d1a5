import { request } from 'undici';
import type { AggregateRow, AggregatesQuery, AggregatesSource } from './aggregates-contract';

/** Reads aggregates through `GET /api/aggregates` of a console (this one, for the alert rules). */
export function httpAggregatesSource(baseUrl: () => string, token: string | null): AggregatesSource {
  return async (q: AggregatesQuery): Promise<AggregateRow[]> => {
    const params = new URLSearchParams({ window: q.window, groupBy: q.groupBy, from: String(q.from), to: String(q.to) });
    const res = await request(`${baseUrl()}/api/aggregates?${params}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const body = (await res.body.json()) as { rows?: AggregateRow[]; error?: { message?: string } };
    if (res.statusCode !== 200 || !Array.isArray(body.rows)) {
      throw new Error(`GET /api/aggregates answered ${res.statusCode}: ${body.error?.message ?? 'no rows'}`);
    }
    return body.rows;
  };
}
