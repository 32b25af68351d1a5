import { Counter, type Registry } from 'prom-client';
import { request } from 'undici';
import { TOPICS } from '../../../topology/topics';
import type { AlertsConfig } from '../../shared/config/alert-rules';
import type { EventLog } from '../../shared/log/event-log';
import type { Logger } from '../../shared/observability/logger';
import type { AggregateRow, AggregatesQuery, AggregatesSource } from '../aggregates-contract';
import { jsonBody, slackBody } from './alert-format';
import { AlertTracker, type AlertTransition } from './alert-tracker';
import { evaluateRule, queryFor, type Observation } from './evaluate-rules';

export interface AlertRunner {
  /** Conditions holding now. */
  active(): AlertTransition[];
  /** The latest transitions, newest first (bounded). */
  recent(): AlertTransition[];
  /** One evaluation round now (also run on the timer). */
  evaluate(): Promise<AlertTransition[]>;
  stop(): Promise<void>;
}

const RECENT_MAX = 200;
const WEBHOOK_TIMEOUT_MS = 5_000;
const WEBHOOK_ATTEMPTS = 3;

/**
 * Evaluates the configured rules on a timer against the aggregates and sends
 * each transition to `llm.alerts.v1` (JSON, keyed by the alert key), to every
 * webhook, and to open dashboards. One round at a time; a failed read of the
 * aggregates skips the round (no transition is invented from missing data).
 */
export function startAlertRunner(opts: {
  config: AlertsConfig;
  source: AggregatesSource;
  log: EventLog;
  registry: Registry;
  logger: Logger;
  onTransition: (t: AlertTransition) => void;
  now?: () => number;
  /**
   * The timer evaluates only once this resolves (then at once): the console's
   * aggregate view has been read to its end. A round on a half-loaded view
   * would fire "no traffic" or resolve conditions that still hold.
   */
  ready?: Promise<void>;
  /**
   * The transitions sent before this start (`llm.alerts.v1`, in log order):
   * taken back before the first round, so that a condition notified before a
   * restart is not notified again while it holds, and cool-downs go on.
   */
  history?: Promise<AlertTransition[]>;
}): AlertRunner {
  const { config, logger } = opts;
  const now = opts.now ?? Date.now;
  const tracker = new AlertTracker(config.cooldownMinutes * 60_000);
  const recent: AlertTransition[] = [];
  const transitions = new Counter({
    name: 'llm_logger_console_alert_transitions_total',
    help: 'Alert transitions, by rule and state.',
    labelNames: ['rule', 'state'] as const,
    registers: [opts.registry],
  });
  const webhookFailures = new Counter({
    name: 'llm_logger_console_webhook_failures_total',
    help: 'Alert webhook deliveries that failed after retries.',
    registers: [opts.registry],
  });
  const ruleNames = new Set(config.rules.map((r) => r.name));
  let running: Promise<AlertTransition[]> | null = null;

  const round = async (): Promise<AlertTransition[]> => {
    const t = now();
    const cache = new Map<string, Promise<AggregateRow[]>>();
    const fetchRows = (q: AggregatesQuery): Promise<AggregateRow[]> => {
      const key = `${q.window}|${q.groupBy}|${q.from}|${q.to}|${q.rollup === true}`;
      let p = cache.get(key);
      if (!p) cache.set(key, (p = opts.source(q)));
      return p;
    };
    const observations: Observation[] = [];
    for (const rule of config.rules) observations.push(...evaluateRule(rule, await fetchRows(queryFor(rule, t)), t));
    const out = tracker.step(observations, ruleNames, t);
    for (const tr of out) {
      transitions.inc({ rule: tr.rule, state: tr.state });
      recent.unshift(tr);
      if (recent.length > RECENT_MAX) recent.pop();
      logger.warn({ alert: tr.key, state: tr.state, value: tr.value, threshold: tr.threshold }, `alert ${tr.state}: ${tr.message}`);
      opts.onTransition(tr);
    }
    if (out.length > 0) {
      await opts.log
        .append(
          TOPICS.alerts,
          out.map((tr) => ({ key: tr.key, value: Buffer.from(JSON.stringify(tr)) })),
        )
        .catch((err: unknown) => logger.error({ err }, 'alert transitions not written to the log'));
      await Promise.all(out.flatMap((tr) => config.webhooks.map((w) => deliver(w.url, w.format === 'slack' ? slackBody(tr) : jsonBody(tr)))));
    }
    return out;
  };

  const deliver = async (url: string, body: unknown): Promise<void> => {
    let failure = '';
    for (let attempt = 1; attempt <= WEBHOOK_ATTEMPTS; attempt++) {
      let retriable = true;
      try {
        const res = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          headersTimeout: WEBHOOK_TIMEOUT_MS,
          bodyTimeout: WEBHOOK_TIMEOUT_MS,
        });
        await res.body.dump();
        if (res.statusCode < 300) return;
        failure = `answered ${res.statusCode}`;
        retriable = res.statusCode >= 500 || res.statusCode === 429;
      } catch (err) {
        failure = (err as Error).message;
      }
      if (!retriable || attempt === WEBHOOK_ATTEMPTS) break;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
    webhookFailures.inc();
    // The URL may hold a secret (Slack's do): log only its origin.
    logger.error({ webhook: new URL(url).origin, failure }, 'alert webhook failed');
  };

  const evaluate = (): Promise<AlertTransition[]> => {
    running ??= round()
      .catch((err: unknown) => {
        logger.warn({ err }, 'alert rules not evaluated this round: aggregates unavailable');
        return [];
      })
      .finally(() => (running = null));
    return running;
  };

  let ready = opts.ready === undefined && opts.history === undefined;
  let stopped = false;
  const history = (opts.history ?? Promise.resolve([])).catch((err: unknown) => {
    logger.warn({ err }, 'earlier alert transitions not read: conditions still holding will be notified again');
    return [] as AlertTransition[];
  });
  void Promise.all([opts.ready, history]).then(([, earlier]) => {
    tracker.restore(earlier, ruleNames, now());
    for (const tr of earlier.slice(-RECENT_MAX)) recent.unshift(tr);
    ready = true;
    if (!stopped && config.rules.length > 0) void evaluate();
  });
  const timer = config.rules.length > 0 ? setInterval(() => ready && void evaluate(), config.evaluateEverySeconds * 1000) : null;
  timer?.unref();
  return {
    active: () => tracker.active(),
    recent: () => [...recent],
    evaluate,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
