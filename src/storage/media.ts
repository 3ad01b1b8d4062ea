/**
 * Media objects. Not a member of Stores: media bytes live in a file tree or an object store,
 * chosen independently of the message backend. Implementations side by side in media/.
 */
import type { Readable } from "node:stream";

/** What the router records about one uploaded object. The bytes are opaque to it. */
export interface MediaInfo {
  id: string;
  /** The user who uploaded it: may always download it and reference it in a message. */
  uploader: string;
  mime: string;
  size: number;
  /** Lowercase hex sha256 of the bytes as stored (ciphertext for encrypted chats). */
  sha256: string;
  createdAt: number;
}

/** An inclusive byte range, already checked against the object's size. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PresignedRequest {
  method: "PUT" | "GET";
  url: string;
  /** Headers the client must send as they are: they are part of the signature. */
  headers: Record<string, string>;
  expiresAt: number;
}

export interface MediaStore {
  readonly backend: string;
  /**
   * Takes ownership of a fully written, hashed staging file (moved or uploaded, then removed)
   * and records its info. Resolves once both are durable.
   */
  put(info: MediaInfo, stagedFile: string): Promise<void>;
  info(id: string): Promise<MediaInfo | undefined>;
  /** The object's bytes, or the given range of them. */
  read(id: string, range?: ByteRange): Promise<Readable>;
  /** Records that `chat` carries a message referencing `id`; idempotent. */
  link(chat: string, id: string): Promise<void>;
  /** Removes the record that `chat` carries `id` (a status that expired or was deleted); idempotent. */
  unlink(chat: string, id: string): Promise<void>;
  /** Every chat that carries `id`. */
  chatsOf(id: string): Promise<string[]>;
  /** Object stores only: a URL the client uploads to directly, bypassing the router. */
  presignUpload?(info: MediaInfo, ttlSeconds: number): Promise<PresignedRequest>;
  /** Object stores only: a URL the client downloads from directly (supports Range). */
  presignDownload?(id: string, ttlSeconds: number): Promise<PresignedRequest>;
  /** Object stores only: records an object a client uploaded with presignUpload, once its bytes are there. */
  confirmUpload?(id: string): Promise<MediaInfo | undefined>;
  close(): Promise<void>;
}
