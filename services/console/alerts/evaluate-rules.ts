import type { AlertRule } from '../../shared/config/alert-rules';
import type { AggregateGroupBy, AggregateRow, AggregatesQuery } from '../aggregates-contract';

/**
 * Alert rules against aggregate rows: pure. `queryFor` says which rows a rule
 * needs at `now`; `evaluateRule` turns those rows into one observation per
 * group the rule watches (firing or not).
 */

export interface Observation {
  /** Stable identity of what is alerted on: rule name, plus the group for per-group rules. */
  key: string;
  rule: string;
  kind: AlertRule['kind'];
  group: string | null;
  firing: boolean;
  /** The measured value (ms, ratio, USD or calls), null when there was nothing to measure. */
  value: number | null;
  threshold: number;
  message: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function targetGroupBy(rule: { model?: string; upstream?: string }): AggregateGroupBy {
  if (rule.model) return 'model';
  if (rule.upstream) return 'upstream';
  return 'overall';
}

export function queryFor(rule: AlertRule, now: number): AggregatesQuery {
  switch (rule.kind) {
    case 'latency':
    case 'error_rate':
      return { window: '1m', groupBy: targetGroupBy(rule), from: now - rule.windowMinutes * MINUTE, to: now };
    case 'no_traffic':
      return { window: '1m', groupBy: targetGroupBy(rule), from: now - rule.minutes * MINUTE, to: now };
    case 'cost':
      return rule.per === 'hour'
        ? { window: '1m', groupBy: rule.scope, from: now - HOUR, to: now }
        : { window: '1h', groupBy: rule.scope, from: now - 24 * HOUR, to: now };
  }
}

function inRange(rows: AggregateRow[], q: AggregatesQuery, group: string | null): AggregateRow[] {
  return rows.filter(
    (r) => Date.parse(r.windowEnd) > q.from && Date.parse(r.windowStart) < q.to && (group === null || r.group === group),
  );
}

const sum = (rows: AggregateRow[], f: (r: AggregateRow) => number): number => rows.reduce((n, r) => n + f(r), 0);

function describeTarget(rule: { model?: string; upstream?: string }): string {
  if (rule.model) return ` for model ${rule.model}`;
  if (rule.upstream) return ` for upstream ${rule.upstream}`;
  return '';
}

export function evaluateRule(rule: AlertRule, rows: AggregateRow[], now: number): Observation[] {
  const q = queryFor(rule, now);
  const base = { rule: rule.name, kind: rule.kind };
  switch (rule.kind) {
    case 'latency': {
      const target = rule.model ?? rule.upstream ?? '';
      const pick = (r: AggregateRow): number | null => (rule.metric === 'ttft' ? (r.ttftMs?.[rule.percentile] ?? null) : (r.latencyMs?.[rule.percentile] ?? null));
      const measured = inRange(rows, q, target).filter((r) => r.calls > 0 && pick(r) !== null);
      const calls = sum(measured, (r) => r.calls);
      // Percentiles of one-minute windows cannot be merged exactly; their call-weighted mean is the estimate.
      const value = calls > 0 ? sum(measured, (r) => pick(r)! * r.calls) / calls : null;
      const what = `${rule.percentile} ${rule.metric === 'ttft' ? 'time to first token' : 'latency'}${describeTarget(rule)}`;
      return [
        {
          ...base,
          key: rule.name,
          group: rule.model ?? rule.upstream ?? null,
          firing: value !== null && value > rule.aboveMs,
          value,
          threshold: rule.aboveMs,
          message: `${what} ${value === null ? 'not measured' : `${Math.round(value)} ms`} (limit ${rule.aboveMs} ms) over ${rule.windowMinutes} min`,
        },
      ];
    }
    case 'error_rate': {
      const measured = inRange(rows, q, rule.model ?? rule.upstream ?? '');
      const calls = sum(measured, (r) => r.calls);
      const errors = sum(measured, (r) => r.errors);
      const value = calls > 0 ? errors / calls : null;
      return [
        {
          ...base,
          key: rule.name,
          group: rule.model ?? rule.upstream ?? null,
          firing: value !== null && calls >= rule.minCalls && value > rule.above,
          value,
          threshold: rule.above,
          message: `error rate${describeTarget(rule)} ${value === null ? 'not measured' : `${(value * 100).toFixed(1)}%`} (${errors} of ${calls} calls, limit ${(rule.above * 100).toFixed(1)}%) over ${rule.windowMinutes} min`,
        },
      ];
    }
    case 'no_traffic': {
      const calls = sum(inRange(rows, q, rule.model ?? rule.upstream ?? ''), (r) => r.calls);
      return [
        {
          ...base,
          key: rule.name,
          group: rule.model ?? rule.upstream ?? null,
          firing: calls === 0,
          value: calls,
          threshold: rule.minutes,
          message: `${calls} calls${describeTarget(rule)} in the last ${rule.minutes} min`,
        },
      ];
    }
    case 'cost': {
      const measured = inRange(rows, q, null);
      const groups = rule.scope === 'overall' ? [''] : [...new Set(measured.map((r) => r.group))];
      return groups.map((group) => {
        const usd = sum(
          measured.filter((r) => r.group === group),
          (r) => r.costMicroUsd,
        ) / 1_000_000;
        const who = rule.scope === 'overall' ? '' : ` for ${rule.scope} ${group === '' ? '(none)' : group}`;
        return {
          ...base,
          key: rule.scope === 'overall' ? rule.name : `${rule.name}|${group}`,
          group: rule.scope === 'overall' ? null : group,
          firing: usd > rule.budgetUsd,
          value: usd,
          threshold: rule.budgetUsd,
          message: `cost${who} $${usd.toFixed(2)} in the last ${rule.per} (budget $${rule.budgetUsd})`,
        };
      });
    }
  }
}
