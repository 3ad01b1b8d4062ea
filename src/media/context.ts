import { randomBytes } from "node:crypto";
import type { MediaStore } from "../storage/media.ts";
import type { Logger } from "../util/logger.ts";
import type { MediaAccess } from "./access.ts";
import { fail, type Exchange, type TokenCheck } from "./exchange.ts";

export interface MediaHttpOptions extends TokenCheck {
  access: MediaAccess;
  /** Largest upload in bytes (`POST /media` and presigned uploads). */
  maxUploadBytes: number;
  /** Uploads stream here before the store takes them. */
  stagingDir: string;
  /** Lifetime of presigned URLs (object stores only). */
  presignTtlSeconds: number;
  log: Logger;
}

/** What every media route works with. */
export interface MediaContext {
  options: MediaHttpOptions;
  access: MediaAccess;
  store: MediaStore;
  log: Logger;
  /** Logs a failure and answers 500, closing the connection (the body may be unread). */
  internalError(exchange: Exchange, error: unknown): void;
}

export function mediaContext(options: MediaHttpOptions): MediaContext {
  const { access, log } = options;
  return {
    options,
    access,
    store: access.store,
    log,
    internalError(exchange, error) {
      log.error({ err: error }, "media request failed");
      fail(exchange, 500, "internal", "the server failed handling this request", true);
    },
  };
}

const MIME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(;[ -~]*)?$/;
const MAX_MIME_LENGTH = 127;
export const DEFAULT_MIME = "application/octet-stream";

export function validMime(mime: string): boolean {
  return mime.length <= MAX_MIME_LENGTH && MIME_PATTERN.test(mime);
}

export function newMediaId(): string {
  return randomBytes(16).toString("hex");
}

/** The refusal for an upload over the limit, from its declared size or its bytes. */
export function uploadTooLarge(context: MediaContext, exchange: Exchange, close: boolean): void {
  fail(exchange, 413, "too_large", `uploads are at most ${context.options.maxUploadBytes} bytes`, close);
}
