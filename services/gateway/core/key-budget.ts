/**
 * What each gateway key has spent in its budget period, from the costs of the
 * events this gateway recorded. Pure: times come in as arguments.
 *
 * Counted per gateway process (replica), in memory: a key's spend is the sum
 * of `cost_micro_usd` of the calls this process recorded for it since the
 * period began (UTC day or month). Calls without a known price count 0. So
 * with N replicas a key can spend up to N times its budget, and a restart
 * starts the period's count again; a call is checked when it starts, so calls
 * running when the budget is reached still finish and are counted.
 */

export type BudgetPeriod = 'day' | 'month';

/** [start, end) of the UTC period holding `at` (epoch ms). */
export function periodBounds(period: BudgetPeriod, at: number): { start: number; end: number } {
  const d = new Date(at);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  if (period === 'day') {
    const start = Date.UTC(y, m, d.getUTCDate());
    return { start, end: start + 86_400_000 };
  }
  return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
}

interface Spend {
  period: BudgetPeriod;
  start: number;
  end: number;
  microUsd: number;
}

export class KeyBudgets {
  private readonly spent = new Map<string, Spend>();

  /** Adds a recorded call's cost; its end time decides the period (a late call of a past period is not counted). */
  add(keyId: string, period: BudgetPeriod, microUsd: number | null, at: number): void {
    if (microUsd === null || microUsd <= 0) return;
    let s = this.spent.get(keyId);
    if (s && s.period === period && at < s.start) return;
    if (!s || s.period !== period || at >= s.end) {
      s = { period, ...periodBounds(period, at), microUsd: 0 };
      this.spent.set(keyId, s);
    }
    s.microUsd += microUsd;
  }

  /** Spent so far in the period holding `now`, and when that period ends. */
  spentIn(keyId: string, period: BudgetPeriod, now: number): { microUsd: number; resetsAt: number } {
    const s = this.spent.get(keyId);
    if (!s || s.period !== period || now < s.start || now >= s.end) return { microUsd: 0, resetsAt: periodBounds(period, now).end };
    return { microUsd: s.microUsd, resetsAt: s.end };
  }

  /** Forgets keys no longer configured (a rotated key keeps its id, so its spend). */
  retain(ids: ReadonlySet<string>): void {
    for (const id of this.spent.keys()) if (!ids.has(id)) this.spent.delete(id);
  }
}
