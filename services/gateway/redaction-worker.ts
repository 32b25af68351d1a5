import { parentPort, workerData } from 'node:worker_threads';
import avro from 'avsc';
import type { InferenceEvent } from '../shared/event/inference-event';
import { fitEvent, type Fitted } from '../shared/event/record-fit';
import { HEADER_BYTES, writeHeader } from '../shared/event/wire-format';
import { buildRedactor } from '../shared/redaction/redaction-config';
import { redactEvent, strippedEvent } from '../shared/redaction/redact-event';
import { packValues } from '../shared/threads/packed-values';
import type { RedactionFromWorker, RedactionToWorker, RedactionWorkerInit } from './redaction-thread';

/**
 * The gateway's redaction thread (see redaction-thread.ts): redacts each
 * event of a batch, encodes it in the log's wire format within the record
 * limit, and sends the batch back as one transferred buffer, in order.
 */

const init = workerData as RedactionWorkerInit;
const port = parentPort!;
const redactor = buildRedactor(init.settings.file, init.settings.envMode);
const type = avro.Type.forSchema(JSON.parse(init.schemaText) as avro.Schema);

function encode(event: InferenceEvent): Buffer {
  const body = type.toBuffer(event);
  const out = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  body.copy(out, HEADER_BYTES);
  return writeHeader(out, init.schemaId);
}

const EMPTY = Buffer.alloc(0);

port.on('message', (m: RedactionToWorker) => {
  const values: Buffer[] = [];
  const failed: number[] = [];
  const stripped: number[] = [];
  const shrunk: { index: number; fitted: Fitted | null }[] = [];
  m.events.forEach((raw, i) => {
    let event: InferenceEvent;
    try {
      event = redactEvent(raw, redactor).event;
    } catch {
      // A defect in redaction must never let the raw event through: only its numbers are kept.
      event = strippedEvent(raw);
      stripped.push(i);
    }
    try {
      let value = encode(event);
      if (init.maxRecordBytes !== null && value.length > init.maxRecordBytes) {
        const fit = fitEvent(event, (e) => encode(e).length, init.maxRecordBytes);
        shrunk.push({ index: i, fitted: fit?.fitted ?? null });
        value = fit ? encode(fit.event) : EMPTY;
        if (!fit) failed.push(i);
      }
      values.push(value);
    } catch {
      values.push(EMPTY);
      failed.push(i);
    }
  });
  const packed = packValues(values.length, (i) => values[i]!);
  const reply: RedactionFromWorker = { seq: m.seq, values: packed.values.buffer as ArrayBuffer, ends: packed.ends.buffer, failed, stripped, shrunk };
  port.postMessage(reply, [reply.values, reply.ends]);
});
