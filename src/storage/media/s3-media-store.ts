import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  NoSuchKey,
  PutObjectCommand,
  DeleteObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { systemClock, type Clock } from "../../util/clock.ts";
import type { ByteRange, MediaInfo, MediaStore, PresignedRequest } from "../media.ts";

export interface S3MediaOptions {
  bucket: string;
  region: string;
  /** An S3-compatible server (MinIO, Ceph RGW, s3rver...); empty for AWS. */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Create the bucket when it is missing (tests and first starts). */
  createBucket?: boolean;
  /**
   * When presigned URLs are signed (the system clock unless given). The S3 server checks
   * their expiry on its own clock, so a test signs in the past instead of waiting.
   */
  clock?: Clock;
}

/** Object metadata keys; S3 lowercases them and sends them as x-amz-meta-*. */
const META = { uploader: "uploader", sha256: "sha256", createdAt: "created-at" } as const;

function isMissing(error: unknown): boolean {
  if (error instanceof NotFound || error instanceof NoSuchKey) return true;
  return error instanceof S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === "NotFound" || error.name === "NoSuchKey");
}

/**
 * Media in an S3-compatible bucket, shared by every node of a cluster. The object carries
 * its own info as metadata, and each chat link is an empty object `links/<id>/<chat>`: no
 * second database, and any node answers for any object. Clients may bypass the router for
 * the bytes with presigned URLs; the router still decides who gets one.
 */
export class S3MediaStore implements MediaStore {
  readonly backend = "s3";

  private constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly clock: Clock,
  ) {}

  static async open(options: S3MediaOptions): Promise<S3MediaStore> {
    const client = new S3Client({
      region: options.region,
      endpoint: options.endpoint || undefined,
      // S3-compatible servers rarely have per-bucket DNS names.
      forcePathStyle: Boolean(options.endpoint),
      // The SDK's default (aws-chunked bodies with a trailing CRC) is not understood by many
      // S3-compatible servers, which then store the chunk framing as content. Integrity is
      // ours anyway: the sha256 was computed while the upload streamed in.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      credentials:
        options.accessKeyId && options.secretAccessKey
          ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
          : undefined,
    });
    if (options.createBucket) {
      try {
        await client.send(new HeadBucketCommand({ Bucket: options.bucket }));
      } catch (error) {
        if (!isMissing(error)) throw error;
        await client.send(new CreateBucketCommand({ Bucket: options.bucket }));
      }
    }
    return new S3MediaStore(client, options.bucket, options.clock ?? systemClock);
  }

  private objectKey(id: string): string {
    return `objects/${id}`;
  }

  private metadata(info: MediaInfo): Record<string, string> {
    return { [META.uploader]: info.uploader, [META.sha256]: info.sha256, [META.createdAt]: String(info.createdAt) };
  }

  async put(info: MediaInfo, stagedFile: string): Promise<void> {
    const { size } = await stat(stagedFile);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(info.id),
        Body: createReadStream(stagedFile),
        ContentLength: size,
        ContentType: info.mime,
        Metadata: this.metadata(info),
      }),
    );
    await rm(stagedFile, { force: true });
  }

  async info(id: string): Promise<MediaInfo | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(id) }));
      const meta = head.Metadata ?? {};
      const uploader = meta[META.uploader];
      const sha256 = meta[META.sha256];
      // An object put without our metadata (a presigned PUT that dropped the headers) is not media.
      if (!uploader || !sha256) return undefined;
      return {
        id,
        uploader,
        sha256,
        mime: head.ContentType ?? "application/octet-stream",
        size: head.ContentLength ?? 0,
        createdAt: Number(meta[META.createdAt] ?? 0),
      };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async read(id: string, range?: ByteRange): Promise<Readable> {
    const answer = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(id), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
    );
    const body = answer.Body;
    if (body instanceof Readable) return body;
    throw new Error("the S3 client returned a body that is not a Node stream");
  }

  async link(chat: string, id: string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `links/${id}/${encodeURIComponent(chat)}`, Body: "", ContentLength: 0 }));
  }

  async unlink(chat: string, id: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: `links/${id}/${encodeURIComponent(chat)}` }));
  }

  async chatsOf(id: string): Promise<string[]> {
    const prefix = `links/${id}/`;
    const chats: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) chats.push(decodeURIComponent(object.Key.slice(prefix.length)));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return chats;
  }

  async presignUpload(info: MediaInfo, ttlSeconds: number): Promise<PresignedRequest> {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.objectKey(info.id),
      ContentType: info.mime,
      ContentLength: info.size,
      Metadata: this.metadata(info),
    });
    // Content type, length and metadata are signed: the client cannot swap the uploader
    // or the size; it must send exactly these headers.
    const signingDate = new Date(this.clock.now());
    const url = await getSignedUrl(this.client, command, {
      expiresIn: ttlSeconds,
      signingDate,
      signableHeaders: new Set(["content-type", "content-length"]),
    });
    const headers: Record<string, string> = { "content-type": info.mime, "content-length": String(info.size) };
    for (const [key, value] of Object.entries(this.metadata(info))) headers[`x-amz-meta-${key}`] = value;
    return { method: "PUT", url, headers, expiresAt: signingDate.getTime() + ttlSeconds * 1000 };
  }

  async confirmUpload(id: string): Promise<MediaInfo | undefined> {
    return this.info(id);
  }

  async presignDownload(id: string, ttlSeconds: number): Promise<PresignedRequest> {
    const signingDate = new Date(this.clock.now());
    // The bucket serves the uploader's content type; forcing a download keeps a browser that
    // is handed the URL from rendering it (text/html, SVG) on the bucket's origin. Clients
    // fetching the bytes are not affected.
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(id), ResponseContentDisposition: "attachment" });
    const url = await getSignedUrl(this.client, command, { expiresIn: ttlSeconds, signingDate });
    return { method: "GET", url, headers: {}, expiresAt: signingDate.getTime() + ttlSeconds * 1000 };
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
