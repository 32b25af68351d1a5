import type { Logger } from '../shared/observability/logger';

/**
 * Watches that the topics the gateway writes to exist. On a fresh broker
 * before `llm-logger topology apply` (or before Strimzi's Topic Operator has
 * made them) every event would time out in the producer while /healthz says
 * all is well; instead /readyz answers 503 naming the missing topics, so
 * Kubernetes sends no traffic, and the log says the one command to run.
 *
 * A failed check (Kafka unreachable) changes nothing: that is the spool's
 * business, and an unreachable broker must not take the gateway out of
 * service. Once every topic was seen the watch stops (topics are not
 * deleted under a running pipeline).
 */
export interface TopicPresenceOptions {
  topics: readonly string[];
  /** The topics of `names` the cluster lacks; throws when it cannot tell. */
  probe: (names: readonly string[]) => Promise<string[]>;
  intervalMs?: number;
  logger: Logger;
}

export class TopicPresence {
  /** Null until the first check answered. */
  private missing: string[] | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private warned = '';
  readonly firstCheck: Promise<void>;

  constructor(private readonly options: TopicPresenceOptions) {
    this.firstCheck = this.check();
  }

  /** Not ready only when a topic is known to be missing. */
  ready(): boolean {
    return this.missing === null || this.missing.length === 0;
  }

  details(): Record<string, unknown> {
    return this.missing && this.missing.length > 0
      ? { missing_topics: this.missing, fix: 'create the topics: npx llm-logger topology apply (or let Strimzi apply strimzi/topics.yaml)' }
      : {};
  }

  private async check(): Promise<void> {
    if (this.stopped) return;
    try {
      this.missing = await this.options.probe(this.options.topics);
      const key = this.missing.join(',');
      if (this.missing.length > 0 && key !== this.warned) {
        this.options.logger.error(
          { missingTopics: this.missing },
          `Kafka has no topic ${this.missing.join(', ')}: not ready until it exists. Create the topics with \`npx llm-logger topology apply\``,
        );
      } else if (this.missing.length === 0 && this.warned !== '') {
        this.options.logger.info('every topic the gateway writes to exists now: ready');
      }
      this.warned = key;
    } catch (err) {
      this.options.logger.warn({ err }, 'could not check that the topics exist; trying again');
    }
    if (this.stopped || this.missing?.length === 0) return;
    this.timer = setTimeout(() => void this.check(), this.options.intervalMs ?? 5_000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
