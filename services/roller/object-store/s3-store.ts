import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { ObjectStore, StoredObject } from './object-store';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix without leading or trailing slash; '' for the bucket root. */
  prefix: string;
  endpoint: string | null;
  region: string;
  forcePathStyle: boolean;
  /** Null: the AWS SDK's default chain (environment, profile, web identity, instance role). */
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
}

/**
 * S3 and S3-compatible stores (MinIO, S3Proxy, Ceph, R2…). A PutObject is
 * atomic by S3's own rules — the object appears whole or not at all, and a
 * second put of the key replaces it — so no temporary objects are needed.
 */
export class S3Store implements ObjectStore {
  readonly url: string;
  private readonly client: S3Client;

  constructor(private readonly options: S3StoreOptions) {
    this.url = `s3://${options.bucket}${options.prefix ? `/${options.prefix}` : ''}`;
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      maxAttempts: 5,
      // Checksums only where S3 requires them: newer SDKs add CRC32 headers by
      // default, which many S3-compatible servers refuse (S3Proxy, older MinIO, Ceph).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (options.endpoint) config.endpoint = options.endpoint;
    if (options.credentials) config.credentials = options.credentials;
    this.client = new S3Client(config);
  }

  private fullKey(key: string): string {
    return this.options.prefix ? `${this.options.prefix}/${key}` : key;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.options.bucket,
        Key: this.fullKey(key),
        Body: body,
        ContentLength: body.length,
        ContentType: key.endsWith('.parquet') ? 'application/vnd.apache.parquet' : 'application/octet-stream',
      }),
    );
  }

  async get(key: string): Promise<Uint8Array> {
    const res = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) }));
    return res.Body!.transformToByteArray();
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const strip = this.options.prefix ? this.options.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.fullKey(prefix), ContinuationToken: token }),
      );
      for (const o of res.Contents ?? []) if (o.Key) out.push({ key: o.Key.slice(strip), size: o.Size ?? 0 });
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  /** One DeleteObject (DeleteObjects needs a checksum header that several S3-compatible servers refuse). */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.fullKey(key) }));
  }

  /** Nothing to clean: a put is one request, never a half-written object. */
  cleanup(): Promise<number> {
    return Promise.resolve(0);
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
