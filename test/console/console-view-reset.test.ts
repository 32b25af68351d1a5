import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '../../topology/topics';
import { CONSOLE_GROUP, runConsole } from '../../services/console/run-console';
import { loadConfig } from '../../services/shared/config/config';
import { inferenceEventSerde } from '../../services/shared/event/inference-serde';
import { openEventLog } from '../../services/shared/log/open-log';
import type { SqliteEventLog } from '../../services/shared/log/embedded/sqlite-log';
import { createLogger } from '../../services/shared/observability/logger';
import { createMetricsRegistry } from '../../services/shared/observability/metrics';
import { sampleEvent } from '../support/sample-event';

/**
 * The console's request view lives in its data directory (an emptyDir on
 * Kubernetes: gone with the pod) while its consumer group's offsets live in
 * the log. A console that starts with no view reads the log again over its
 * window (LLM_LOGGER_CONSOLE_VIEW_HOURS) instead of resuming where the lost
 * view had got to.
 */

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'llm-logger-view-reset-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

test('a console whose request view was deleted rebuilds it from the log, over its window', async () => {
  const config = loadConfig({ LLM_LOGGER_DATA_DIR: dataDir, LLM_LOGGER_CONSOLE_PORT: '0', LLM_LOGGER_LOG_LEVEL: 'silent' });
  const logger = createLogger('silent', 'test');
  const log = openEventLog(config, logger);
  const serde = await inferenceEventSerde(log.schemaRegistry);
  const at = (i: number, startedAt: number) =>
    sampleEvent({ event_id: `01890a5d-ac96-774b-bcce-b30209${String(i).padStart(6, '0')}`, started_at: startedAt, ended_at: startedAt + 900 });
  const events = Array.from({ length: 5 }, (_, i) => at(i, Date.now() - 60_000 + i));
  // Calls older than the view's window (72 hours by default) are neither read again nor kept.
  const old = [at(90, Date.now() - 100 * 3_600_000), at(91, Date.now() - 73 * 3_600_000)];
  await log.append(
    TOPICS.inference,
    [...old, ...events].map((e) => ({ key: e.event_id, value: serde.encode(e), timestamp: e.ended_at })),
  );

  const listed = async (port: number): Promise<string[]> => {
    const body = (await (await fetch(`http://127.0.0.1:${port}/api/requests?limit=100`)).json()) as { requests: { event_id: string }[] };
    return body.requests.map((r) => r.event_id).sort();
  };
  const untilListed = async (port: number): Promise<string[]> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ids = await listed(port);
      if (ids.length >= events.length || Date.now() > deadline) return ids;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const expected = events.map((e) => e.event_id).sort();

  const first = await runConsole(config, log, createMetricsRegistry(), logger);
  expect(await untilListed(first.port)).toEqual(expected);
  await first.close();
  // The group has committed past every event.
  expect([...(log as SqliteEventLog).committedOffsets(CONSOLE_GROUP, TOPICS.inference).values()].reduce((a, b) => a + b, 0)).toBe(
    old.length + events.length,
  );

  // The view is lost (a new pod's emptyDir); the log and its committed offsets are not.
  const viewDir = join(dataDir, 'console');
  for (const f of readdirSync(viewDir)) if (f.startsWith('requests.db')) rmSync(join(viewDir, f));
  const second = await runConsole(config, log, createMetricsRegistry(), logger);
  try {
    expect(await untilListed(second.port)).toEqual(expected);
  } finally {
    await second.close();
    await log.close();
  }
});

test("the view is rebuilt by the console's own subscription, not by resetting its group (on Kafka a crashed console can still be a member)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llm-logger-view-rewind-'));
  const config = loadConfig({ LLM_LOGGER_DATA_DIR: dir, LLM_LOGGER_CONSOLE_PORT: '0', LLM_LOGGER_LOG_LEVEL: 'silent' });
  const logger = createLogger('silent', 'test');
  const real = openEventLog(config, logger);
  // What the broker answered a reset while the previous console's session had not timed out yet.
  const busy = new Proxy(real, {
    get: (target, key, receiver) =>
      key === 'resetGroup' ? () => Promise.reject(new Error('group llm-logger-console has 1 running member(s)')) : Reflect.get(target, key, receiver),
  });
  try {
    const serde = await inferenceEventSerde(real.schemaRegistry);
    const event = sampleEvent({ event_id: '01890a5d-ac96-774b-bcce-b30209000777', started_at: Date.now() - 5_000, ended_at: Date.now() - 4_000 });
    await real.append(TOPICS.inference, [{ key: event.event_id, value: serde.encode(event), timestamp: event.ended_at }]);
    const first = await runConsole(config, busy, createMetricsRegistry(), logger);
    await first.close();
    for (const f of readdirSync(join(dir, 'console'))) if (f.startsWith('requests.db')) rmSync(join(dir, 'console', f));
    const second = await runConsole(config, busy, createMetricsRegistry(), logger);
    try {
      const deadline = Date.now() + 15_000;
      let status = 0;
      while (status !== 200 && Date.now() < deadline) {
        status = (await fetch(`http://127.0.0.1:${second.port}/api/requests/${event.event_id}`)).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(200);
    } finally {
      await second.close();
    }
  } finally {
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
