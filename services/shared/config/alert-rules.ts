import { z } from 'zod';

/**
 * The `alerts:` key of the config file: rules evaluated by the console on the
 * aggregates, and where their transitions are sent. Parsed with the rest of
 * the config file, so a bad rule stops start-up with its key named
 * (e.g. `alerts.rules.2.aboveMs`).
 */

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'must be 1-100 letters, digits, ".", "_" or "-"');
const windowMinutes = z.number().int().min(1).max(24 * 60);
/**
 * What a rule watches: one model (the model the calls asked for, as the
 * aggregates' `model` groups), one served model (the snapshot that answered,
 * `served_model`), one upstream, or else all traffic.
 */
const target = {
  model: z.string().min(1).optional(),
  servedModel: z.string().min(1).optional(),
  upstream: z.string().min(1).optional(),
};
export type RuleTarget = { model?: string; servedModel?: string; upstream?: string };
const TARGET_KEYS = ['model', 'servedModel', 'upstream'] as const;
function oneTarget(r: RuleTarget, ctx: z.RefinementCtx): void {
  const set = TARGET_KEYS.filter((k) => r[k] !== undefined);
  if (set.length > 1) ctx.addIssue({ code: 'custom', message: `set one of model, servedModel or upstream, not ${set.join(' and ')}`, path: [set[1]!] });
}

const latencyRule = z
  .object({
    name,
    kind: z.literal('latency'),
    /** Which measure: total latency or time to first token. */
    metric: z.enum(['latency', 'ttft']).default('latency'),
    percentile: z.enum(['p50', 'p90', 'p95', 'p99']),
    aboveMs: z.number().positive(),
    windowMinutes: windowMinutes.default(5),
    ...target,
  })
  .strict()
  .superRefine(oneTarget);

const errorRateRule = z
  .object({
    name,
    kind: z.literal('error_rate'),
    above: z.number().min(0).max(1),
    windowMinutes: windowMinutes.default(5),
    /** Fewer calls than this in the window never fire (one error in two calls is not a trend). */
    minCalls: z.number().int().min(1).default(1),
    ...target,
  })
  .strict()
  .superRefine(oneTarget);

const costRule = z
  .object({
    name,
    kind: z.literal('cost'),
    per: z.enum(['hour', 'day']),
    budgetUsd: z.number().positive(),
    /** overall: all traffic; user / app: each user (app) against the budget on its own. */
    scope: z.enum(['overall', 'user', 'app']).default('overall'),
  })
  .strict();

const noTrafficRule = z
  .object({
    name,
    kind: z.literal('no_traffic'),
    minutes: z.number().int().min(1).max(24 * 60),
    ...target,
  })
  .strict()
  .superRefine(oneTarget);

export const alertRuleSchema = z.discriminatedUnion('kind', [latencyRule, errorRateRule, costRule, noTrafficRule]);

const webhookSchema = z
  .object({
    url: z.url(),
    /** slack: `{ "text": … }` (Slack, Mattermost, Rocket.Chat incoming webhooks); json: the transition itself. */
    format: z.enum(['slack', 'json']).default('json'),
  })
  .strict();

export const alertsFileSchema = z
  .object({
    evaluateEverySeconds: z.number().int().min(1).max(3600).default(15),
    /** After a notification for a rule (and group), a new firing is not notified again before this. */
    cooldownMinutes: z.number().min(0).max(24 * 60).default(10),
    webhooks: z.array(webhookSchema).default([]),
    rules: z.array(alertRuleSchema).default([]),
  })
  .strict()
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.rules.forEach((r, i) => {
      if (seen.has(r.name)) ctx.addIssue({ code: 'custom', message: `duplicate rule name "${r.name}"`, path: ['rules', i, 'name'] });
      seen.add(r.name);
    });
  });

export type AlertRule = z.infer<typeof alertRuleSchema>;
export type AlertsConfig = z.infer<typeof alertsFileSchema>;

export function defaultAlertsConfig(): AlertsConfig {
  return alertsFileSchema.parse({});
}
