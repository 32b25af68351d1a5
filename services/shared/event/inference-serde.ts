import type { SchemaRegistry } from '../log/event-log';
import { INFERENCE_EVENT_SCHEMA_FILE, INFERENCE_EVENT_SUBJECT, readSchemaText, type InferenceEvent } from './inference-event';
import { AvroSerde } from './serde';

/** A ready-to-use serde for `llm.inference.v1` values. */
export async function inferenceEventSerde(registry: SchemaRegistry): Promise<AvroSerde<InferenceEvent>> {
  const serde = new AvroSerde<InferenceEvent>(registry, INFERENCE_EVENT_SUBJECT, readSchemaText(INFERENCE_EVENT_SCHEMA_FILE));
  await serde.init();
  return serde;
}
