import { Counter, type Registry } from 'prom-client';
import { v7 as uuidv7 } from 'uuid';
import { TOPICS } from '../../../topology/topics';
import type { EventLog } from '../../shared/log/event-log';
import { clip, encodeAccessRecord, type AccessAction, type AccessRecord } from './access-record';
import type { Principal } from './authenticate';

/**
 * Writes access records to `llm.access.v1` (Kafka or the embedded log). A
 * read is recorded before its answer is sent, and the answer is not sent
 * when the record could not be written: the access log never misses a read
 * it is told about.
 */

export interface ClientInfo {
  ip: string;
  forwardedFor: string | null;
  userAgent: string | null;
}

export interface AccessRead {
  action: AccessAction;
  eventIds?: readonly string[];
  query?: string | null;
  filters?: Record<string, string>;
  results?: number | null;
}

export class AccessLogWriter {
  private readonly written: Counter<'action'>;
  private readonly failed: Counter<'action'>;

  constructor(
    private readonly log: EventLog,
    private readonly instance: string,
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    const existing = registry.getSingleMetric('llm_logger_console_access_records_total') as Counter<'action'> | undefined;
    this.written =
      existing ??
      new Counter({ name: 'llm_logger_console_access_records_total', help: 'Access-log records written (reads of bodies and searches).', labelNames: ['action'], registers: [registry] });
    this.failed =
      (registry.getSingleMetric('llm_logger_console_access_record_failures_total') as Counter<'action'> | undefined) ??
      new Counter({
        name: 'llm_logger_console_access_record_failures_total',
        help: 'Reads refused because their access-log record could not be written.',
        labelNames: ['action'],
        registers: [registry],
      });
  }

  async record(principal: Pick<Principal, 'name' | 'role' | 'via' | 'email' | 'groups'>, client: ClientInfo, read: AccessRead): Promise<AccessRecord> {
    const at = this.now();
    const record: AccessRecord = {
      v: 1,
      id: uuidv7({ msecs: at }),
      at: new Date(at).toISOString(),
      actor: { name: principal.name, role: principal.role, via: principal.via, email: principal.email, groups: principal.groups },
      action: read.action,
      event_ids: [...(read.eventIds ?? [])],
      query: clip(read.query ?? null),
      filters: Object.fromEntries(Object.entries(read.filters ?? {}).map(([k, v]) => [k, clip(v) ?? ''])),
      results: read.results ?? null,
      client: { ip: client.ip, forwarded_for: clip(client.forwardedFor), user_agent: clip(client.userAgent) },
      console: this.instance,
    };
    try {
      await this.log.append(TOPICS.access, [{ key: record.actor.name, value: encodeAccessRecord(record), timestamp: at }]);
    } catch (err) {
      this.failed.inc({ action: read.action });
      throw err;
    }
    this.written.inc({ action: read.action });
    return record;
  }
}
