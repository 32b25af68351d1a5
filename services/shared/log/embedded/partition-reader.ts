import type { TopicName } from '../../../../topology/topics';
import type { ConsumedRecord } from '../event-log';
import type { SqliteEventLog } from './sqlite-log';

/**
 * Where a subscription is in each partition, and its fetch: from a different
 * partition each time, so one backlog cannot starve the others.
 */
export class PartitionReader {
  readonly positions = new Map<number, number>();
  private startAt = 0;

  constructor(
    private readonly log: SqliteEventLog,
    private readonly topic: TopicName,
    private readonly maxBatch: number,
  ) {}

  lag(): number {
    let lag = 0;
    for (const [p, next] of this.log.endOffsets(this.topic)) lag += Math.max(0, next - (this.positions.get(p) ?? 0));
    return lag;
  }

  fetch(): ConsumedRecord[] {
    const batch: ConsumedRecord[] = [];
    const entries = [...this.positions];
    this.startAt = (this.startAt + 1) % Math.max(1, entries.length);
    for (let i = 0; i < entries.length && batch.length < this.maxBatch; i++) {
      const [p, from] = entries[(this.startAt + i) % entries.length]!;
      batch.push(...this.log.readPartition(this.topic, p, from, this.maxBatch - batch.length));
    }
    return batch;
  }
}

