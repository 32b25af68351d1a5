import { parentPort, workerData } from 'node:worker_threads';
import type { InferenceEvent } from '../shared/event/inference-event';
import { buildRedactor } from '../shared/redaction/redaction-config';
import { toAuditDocument, type AuditDocument } from './core/audit-document';
import type { DocumentsFromWorker, DocumentsToWorker, DocumentWorkerInit } from './document-thread';

/** The indexer's mapping thread (see document-thread.ts): events in, redacted audit documents out, in order. */

const init = workerData as DocumentWorkerInit;
const port = parentPort!;
const redactor = buildRedactor(init.settings.file, init.settings.envMode);

port.on('message', (m: DocumentsToWorker) => {
  const docs: (AuditDocument | null)[] = [];
  const failures: { index: number; message: string }[] = [];
  m.events.forEach((event: InferenceEvent, index) => {
    try {
      docs.push(toAuditDocument(event, redactor));
    } catch (err) {
      docs.push(null);
      failures.push({ index, message: (err as Error).message });
    }
  });
  const reply: DocumentsFromWorker = { seq: m.seq, docs, failures };
  port.postMessage(reply);
});
