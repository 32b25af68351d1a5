import type { AlertRule, RuleTarget } from '../../shared/config/alert-rules';
import type { AggregateGroupBy, AggregateRow, AggregatesQuery } from '../aggregates-contract';

/**
 * Alert rules against aggregate rows: pure. `queryFor` says which rows a rule
 * needs at `now`; `evaluateRule` turns those rows into one observation per
 * group the rule watches (firing or not). A latency rule reads a rollup: one
 * row per group whose sketches merge every call of its minutes, so its
 * percentile is the percentile of those calls (within the sketches' 1%),
 * and one slow minute among quiet ones counts for what it is.
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

function targetGroupBy(rule: RuleTarget): AggregateGroupBy {
  if (rule.model) return 'model';
  if (rule.servedModel) return 'served_model';
  if (rule.upstream) return 'upstream';
  return 'overall';
}

/** The group a rule watches in its dimension ('' for all traffic: the overall group). */
function targetGroup(rule: RuleTarget): string {
  return rule.model ?? rule.servedModel ?? rule.upstream ?? '';
}

export function queryFor(rule: AlertRule, now: number): AggregatesQuery {
  switch (rule.kind) {
    case 'latency':
      return { window: '1m', groupBy: targetGroupBy(rule), from: now - rule.windowMinutes * MINUTE, to: now, rollup: true };
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

function describeTarget(rule: RuleTarget): string {
  if (rule.model) return ` for model ${rule.model}`;
  if (rule.servedModel) return ` for served model ${rule.servedModel}`;
  if (rule.upstream) return ` for upstream ${rule.upstream}`;
  return '';
}

export function evaluateRule(rule: AlertRule, rows: AggregateRow[], now: number): Observation[] {
  const q = queryFor(rule, now);
  const base = { rule: rule.name, kind: rule.kind };
  switch (rule.kind) {
    case 'latency': {
      // The rollup row of the group: its sketches hold every call of the rule's minutes.
      const merged = rows.find((r) => r.group === targetGroup(rule) && r.calls > 0);
      const value = (rule.metric === 'ttft' ? merged?.ttftMs : merged?.latencyMs)?.[rule.percentile] ?? null;
      const what = `${rule.percentile} ${rule.metric === 'ttft' ? 'time to first token' : 'latency'}${describeTarget(rule)}`;
      return [
        {
          ...base,
          key: rule.name,
          group: targetGroup(rule) || null,
          firing: value !== null && value > rule.aboveMs,
          value,
          threshold: rule.aboveMs,
          message: `${what} ${value === null ? 'not measured' : `${Math.round(value)} ms`} (limit ${rule.aboveMs} ms) over ${rule.windowMinutes} min`,
        },
      ];
    }
    case 'error_rate': {
      const measured = inRange(rows, q, targetGroup(rule));
      const calls = sum(measured, (r) => r.calls);
      const errors = sum(measured, (r) => r.errors);
      const value = calls > 0 ? errors / calls : null;
      return [
        {
          ...base,
          key: rule.name,
          group: targetGroup(rule) || null,
          firing: value !== null && calls >= rule.minCalls && value > rule.above,
          value,
          threshold: rule.above,
          message: `error rate${describeTarget(rule)} ${value === null ? 'not measured' : `${(value * 100).toFixed(1)}%`} (${errors} of ${calls} calls, limit ${(rule.above * 100).toFixed(1)}%) over ${rule.windowMinutes} min`,
        },
      ];
    }
    case 'no_traffic': {
      const calls = sum(inRange(rows, q, targetGroup(rule)), (r) => r.calls);
      return [
        {
          ...base,
          key: rule.name,
          group: targetGroup(rule) || null,
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
