import { request } from 'undici';
import { LlmLoggerError } from '../../errors';
import type { SchemaRegistry } from '../event-log';

/**
 * Client of the Confluent schema-registry REST API (Confluent, Apicurio's
 * `/apis/ccompat/v7`, Karapace). Only the calls this project needs; the
 * official clients pull in cloud KMS SDKs or need Node 22.
 */

export interface RegistryClientOptions {
  /** Base URL, path included (e.g. http://127.0.0.1:8081/apis/ccompat/v7). */
  url: string;
  username?: string;
  password?: string;
  timeoutMs?: number;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FULL' | 'NONE';

export class ConfluentRegistryClient implements SchemaRegistry {
  private readonly base: string;
  private readonly auth: string | null;
  private readonly byId = new Map<number, string>();
  private readonly ids = new Map<string, number>();

  constructor(private readonly options: RegistryClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.auth =
      options.username !== undefined
        ? `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`
        : null;
  }

  private async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; json: T }> {
    let res;
    try {
      res = await request(`${this.base}${path}`, {
        method,
        headers: {
          accept: CONTENT_TYPE,
          ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }),
          ...(this.auth ? { authorization: this.auth } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.options.timeoutMs ?? 10_000,
        bodyTimeout: this.options.timeoutMs ?? 10_000,
      });
    } catch (cause) {
      throw new LlmLoggerError('LOG_UNAVAILABLE', `schema registry ${this.base} unreachable: ${(cause as Error).message}`, {
        cause,
        retriable: true,
      });
    }
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = { message: text };
    }
    return { status: res.statusCode, json: json as T };
  }

  private fail(what: string, status: number, json: unknown): never {
    const message = (json as { message?: string } | null)?.message ?? JSON.stringify(json);
    throw new LlmLoggerError('LOG_UNAVAILABLE', `schema registry: ${what} failed with ${status}: ${message}`, {
      retriable: status >= 500 || status === 429,
    });
  }

  async register(subject: string, schema: string): Promise<number> {
    const key = `${subject}\n${schema}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const { status, json } = await this.call<{ id: number }>('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
      schemaType: 'AVRO',
      schema,
    });
    if (status === 409) {
      throw new LlmLoggerError('EVENT_INVALID', `schema registry: the new schema for ${subject} is not compatible with the registered one`);
    }
    if (status !== 200) this.fail(`registering ${subject}`, status, json);
    this.ids.set(key, json.id);
    this.byId.set(json.id, schema);
    return json.id;
  }

  async schemaById(id: number): Promise<string> {
    const cached = this.byId.get(id);
    if (cached !== undefined) return cached;
    const { status, json } = await this.call<{ schema: string }>('GET', `/schemas/ids/${id}`);
    if (status === 404) throw new LlmLoggerError('DECODE_FAILED', `schema id ${id} is not in the registry`);
    if (status !== 200) this.fail(`reading schema ${id}`, status, json);
    this.byId.set(id, json.schema);
    return json.schema;
  }

  async setCompatibility(subject: string, level: Compatibility): Promise<void> {
    const { status, json } = await this.call('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level });
    if (status !== 200) this.fail(`setting compatibility of ${subject}`, status, json);
  }

  /** True when `schema` may be registered after the latest version of `subject` (true for a new subject). */
  async isCompatible(subject: string, schema: string): Promise<boolean> {
    const { status, json } = await this.call<{ is_compatible: boolean }>(
      'POST',
      `/compatibility/subjects/${encodeURIComponent(subject)}/versions/latest`,
      { schemaType: 'AVRO', schema },
    );
    if (status === 404) return true;
    if (status !== 200) this.fail(`checking compatibility of ${subject}`, status, json);
    return json.is_compatible;
  }

  async deleteSubject(subject: string): Promise<void> {
    const { status, json } = await this.call('DELETE', `/subjects/${encodeURIComponent(subject)}`);
    if (status !== 200 && status !== 404) this.fail(`deleting ${subject}`, status, json);
    await this.call('DELETE', `/subjects/${encodeURIComponent(subject)}?permanent=true`);
  }
}
