import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32cBase64, crc32cUpdate } from './crc32c.js';

export interface BucketRecord {
  name: string;
  timeCreated: string;
  objects: Map<string, ObjectRecord>;
}

export interface ObjectRecord {
  bucket: string;
  name: string;
  generation: number;
  metageneration: number;
  size: number;
  contentType: string;
  md5Hash: string;
  crc32c: string;
  timeCreated: string;
  updated: string;
  metadata?: Record<string, string>;
}

export interface NewObject {
  contentType: string;
  metadata?: Record<string, string>;
}

/**
 * Buckets and objects, in memory or (with `dir`) on disk: `<dir>/<bucket>/bucket.json`,
 * `<dir>/<bucket>/objects/<sha256(name)>.{json,bin}`. Only the latest generation is kept.
 */
export class ObjectStore {
  readonly buckets = new Map<string, BucketRecord>();
  private readonly data = new Map<string, Buffer>();
  private lastGeneration = 0;

  constructor(private readonly dir?: string) {
    if (dir) this.load(dir);
  }

  createBucket(name: string): BucketRecord {
    const bucket: BucketRecord = {
      name,
      timeCreated: new Date().toISOString(),
      objects: new Map(),
    };
    this.buckets.set(name, bucket);
    if (this.dir) {
      mkdirSync(join(this.dir, name, 'objects'), { recursive: true });
      writeFileSync(
        join(this.dir, name, 'bucket.json'),
        JSON.stringify({ name, timeCreated: bucket.timeCreated }),
      );
    }
    return bucket;
  }

  /** Writes a new generation of an object; generations strictly increase (microsecond clock). */
  put(bucket: BucketRecord, name: string, body: Buffer, meta: NewObject): ObjectRecord {
    this.lastGeneration = Math.max(Date.now() * 1000, this.lastGeneration + 1);
    const now = new Date().toISOString();
    const record: ObjectRecord = {
      bucket: bucket.name,
      name,
      generation: this.lastGeneration,
      metageneration: 1,
      size: body.length,
      contentType: meta.contentType,
      md5Hash: createHash('md5').update(body).digest('base64'),
      crc32c: crc32cBase64(crc32cUpdate(0, body)),
      timeCreated: now,
      updated: now,
      ...(meta.metadata ? { metadata: meta.metadata } : {}),
    };
    bucket.objects.set(name, record);
    if (this.dir) {
      const base = this.objectPath(bucket.name, name);
      writeFileSync(`${base}.bin`, body);
      writeFileSync(`${base}.json`, JSON.stringify(record));
    } else {
      this.data.set(`${bucket.name}/${name}`, body);
    }
    return record;
  }

  read(record: ObjectRecord): Buffer {
    if (this.dir) return readFileSync(`${this.objectPath(record.bucket, record.name)}.bin`);
    const body = this.data.get(`${record.bucket}/${record.name}`);
    if (!body) throw new Error(`gcs-emulator: no data for ${record.bucket}/${record.name}`);
    return body;
  }

  delete(bucket: BucketRecord, name: string): void {
    bucket.objects.delete(name);
    if (this.dir) {
      const base = this.objectPath(bucket.name, name);
      rmSync(`${base}.bin`, { force: true });
      rmSync(`${base}.json`, { force: true });
    } else {
      this.data.delete(`${bucket.name}/${name}`);
    }
  }

  private objectPath(bucket: string, name: string): string {
    const dir = this.dir as string;
    return join(dir, bucket, 'objects', createHash('sha256').update(name).digest('hex'));
  }

  private load(dir: string): void {
    mkdirSync(dir, { recursive: true });
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const bucketDir = join(dir, entry.name);
      let info: { name: string; timeCreated: string };
      try {
        info = JSON.parse(readFileSync(join(bucketDir, 'bucket.json'), 'utf8')) as typeof info;
      } catch {
        continue; // not a bucket directory
      }
      const bucket: BucketRecord = { ...info, objects: new Map() };
      this.buckets.set(bucket.name, bucket);
      mkdirSync(join(bucketDir, 'objects'), { recursive: true });
      for (const file of readdirSync(join(bucketDir, 'objects'))) {
        if (!file.endsWith('.json')) continue;
        const record = JSON.parse(
          readFileSync(join(bucketDir, 'objects', file), 'utf8'),
        ) as ObjectRecord;
        bucket.objects.set(record.name, record);
        this.lastGeneration = Math.max(this.lastGeneration, record.generation);
      }
    }
  }
}
