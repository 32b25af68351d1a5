import type { Observation } from './evaluate-rules';

/**
 * Turns each round of observations into firing / resolved transitions: pure,
 * the clock is an argument. De-duplication: a condition that stays true is
 * notified once. Cool-down: after a firing notification, the same key is not
 * notified as firing again before `cooldownMs` (a flapping condition stays
 * quiet); if it is still firing when the cool-down ends it is notified then.
 * A resolved notification is sent only for a notified firing.
 */

export interface AlertTransition {
  /** Unique per notification: key and the time the condition started. */
  id: string;
  key: string;
  rule: string;
  kind: Observation['kind'];
  group: string | null;
  state: 'firing' | 'resolved';
  value: number | null;
  threshold: number;
  message: string;
  /** ISO time of this transition. */
  at: string;
  /** ISO time the condition started to hold. */
  since: string;
}

interface KeyState {
  firing: boolean;
  since: number;
  notified: boolean;
  lastFiringNotifiedAt: number | null;
  last: Observation;
}

export class AlertTracker {
  private readonly keys = new Map<string, KeyState>();

  constructor(private readonly cooldownMs: number) {}

  /**
   * One evaluation round. `rules` are the rule names evaluated this round: a
   * firing key of one of them that was not observed (its group had no rows)
   * counts as no longer firing.
   */
  step(observations: Observation[], rules: ReadonlySet<string>, now: number): AlertTransition[] {
    const out: AlertTransition[] = [];
    const seen = new Set<string>();
    for (const o of observations) {
      seen.add(o.key);
      const s = this.keys.get(o.key);
      if (o.firing) {
        if (!s || !s.firing) {
          const next: KeyState = { firing: true, since: now, notified: false, lastFiringNotifiedAt: s?.lastFiringNotifiedAt ?? null, last: o };
          this.keys.set(o.key, next);
          this.maybeNotifyFiring(next, now, out);
        } else {
          s.last = o;
          if (!s.notified) this.maybeNotifyFiring(s, now, out);
        }
      } else if (s?.firing) {
        s.firing = false;
        s.last = o;
        if (s.notified) out.push(transition(s, 'resolved', now));
        s.notified = false;
      }
    }
    for (const [key, s] of this.keys) {
      if (seen.has(key) || !rules.has(s.last.rule) || !s.firing) continue;
      s.firing = false;
      if (s.notified) out.push(transition(s, 'resolved', now, `${s.last.rule}: no data for ${s.last.group ?? 'the rule'} any more`));
      s.notified = false;
    }
    this.forgetSettled(now);
    return out;
  }

  /** Keys neither firing nor inside a cool-down carry no state worth keeping. */
  private forgetSettled(now: number): void {
    for (const [key, s] of this.keys) {
      if (!s.firing && (s.lastFiringNotifiedAt === null || now - s.lastFiringNotifiedAt >= this.cooldownMs)) this.keys.delete(key);
    }
  }

  /**
   * Takes back the state that notifications left, from the transitions sent
   * before a restart (`llm.alerts.v1`, in log order): a condition notified as
   * firing and not resolved is firing and notified, so it is not notified
   * again while it holds; a firing notified within the cool-down still holds
   * the cool-down. Transitions of rules no longer configured are ignored.
   */
  restore(history: readonly AlertTransition[], rules: ReadonlySet<string>, now: number): void {
    for (const t of history) {
      if (!rules.has(t.rule)) continue;
      const prefix = `${t.rule}: `;
      const last: Observation = {
        key: t.key,
        rule: t.rule,
        kind: t.kind,
        group: t.group,
        firing: t.state === 'firing',
        value: t.value,
        threshold: t.threshold,
        message: t.message.startsWith(prefix) ? t.message.slice(prefix.length) : t.message,
      };
      const at = Date.parse(t.at);
      const before = this.keys.get(t.key);
      if (t.state === 'firing') {
        this.keys.set(t.key, { firing: true, since: Date.parse(t.since), notified: true, lastFiringNotifiedAt: at, last });
      } else {
        this.keys.set(t.key, { firing: false, since: Date.parse(t.since), notified: false, lastFiringNotifiedAt: before?.lastFiringNotifiedAt ?? null, last });
      }
    }
    this.forgetSettled(now);
  }

  /** Conditions holding now (notified or held back by the cool-down). */
  active(): AlertTransition[] {
    return [...this.keys.values()].filter((s) => s.firing).map((s) => transition(s, 'firing', s.since));
  }

  private maybeNotifyFiring(s: KeyState, now: number, out: AlertTransition[]): void {
    if (s.lastFiringNotifiedAt !== null && now - s.lastFiringNotifiedAt < this.cooldownMs) return;
    s.notified = true;
    s.lastFiringNotifiedAt = now;
    out.push(transition(s, 'firing', now));
  }
}

function transition(s: KeyState, state: AlertTransition['state'], now: number, message?: string): AlertTransition {
  const o = s.last;
  return {
    id: `${o.key}@${s.since}`,
    key: o.key,
    rule: o.rule,
    kind: o.kind,
    group: o.group,
    state,
    value: o.value,
    threshold: o.threshold,
    message: message ?? `${o.rule}: ${o.message}`,
    at: new Date(now).toISOString(),
    since: new Date(s.since).toISOString(),
  };
}
