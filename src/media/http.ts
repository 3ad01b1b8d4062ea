import { createHash, randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { HttpRequest, HttpResponse, TemplatedApp } from "../uws.ts";
import { InvalidTokenError, verifyToken } from "../auth/tokens.ts";
import { MEDIA_ID_PATTERN } from "../protocol/frames.ts";
import type { ByteRange, MediaInfo } from "../storage/media.ts";
import type { Logger } from "../util/logger.ts";
import type { MediaAccess } from "./access.ts";
import { parseRange } from "./range.ts";

export interface MediaHttpOptions {
  secret: string;
  access: MediaAccess;
  /** Largest upload in bytes (`POST /media` and presigned uploads). */
  maxUploadBytes: number;
  /** Uploads stream here before the store takes them. */
  stagingDir: string;
  /** Lifetime of presigned URLs (object stores only). */
  presignTtlSeconds: number;
  log: Logger;
  /** Token revocations (`router token revoke`): a revoked token is refused here as at `hello`. */
  revocations?: { isRevoked(user: string, device: string | undefined, issuedAt: number): boolean };
}

const MIME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(;[ -~]*)?$/;
const MAX_MIME_LENGTH = 127;
const DEFAULT_MIME = "application/octet-stream";
const MAX_JSON_BODY = 4096;

/**
 * Media bytes are the uploader's, served from the router's own origin: a browser must never
 * run them. Nothing renders inline but images, audio and video, and not SVG, which carries
 * script; the rest (text/html included) is a download. The policy sandboxes whatever a
 * browser renders anyway.
 */
export const MEDIA_CONTENT_SECURITY_POLICY = "default-src 'none'; sandbox";
const INLINE_MIME = /^(image|audio|video)\/[a-z0-9!#$&^_.+-]+$/;

export function servedInline(mime: string): boolean {
  const essence = (mime.split(";", 1)[0] ?? "").trim().toLowerCase();
  return INLINE_MIME.test(essence) && !essence.includes("svg") && !essence.includes("xml");
}

function mediaSafetyHeaders(mime: string): Record<string, string> {
  return {
    "x-content-type-options": "nosniff",
    "content-security-policy": MEDIA_CONTENT_SECURITY_POLICY,
    "content-disposition": servedInline(mime) ? "inline" : "attachment",
  };
}

const STATUS = {
  200: "200 OK",
  201: "201 Created",
  206: "206 Partial Content",
  400: "400 Bad Request",
  401: "401 Unauthorized",
  403: "403 Forbidden",
  404: "404 Not Found",
  413: "413 Content Too Large",
  416: "416 Range Not Satisfiable",
  500: "500 Internal Server Error",
  501: "501 Not Implemented",
} as const;
type Status = keyof typeof STATUS;

/** A response's life: uWS forbids touching `res` once aborted or ended. */
interface Exchange {
  res: HttpResponse;
  aborted: boolean;
  ended: boolean;
  cleanup?: () => void;
}

function begin(res: HttpResponse): Exchange {
  const exchange: Exchange = { res, aborted: false, ended: false };
  res.onAborted(() => {
    exchange.aborted = true;
    exchange.cleanup?.();
  });
  return exchange;
}

function respond(exchange: Exchange, status: Status, body: unknown, headers: Record<string, string> = {}, close = false): void {
  if (exchange.aborted || exchange.ended) return;
  exchange.ended = true;
  exchange.res.cork(() => {
    exchange.res.writeStatus(STATUS[status]).writeHeader("content-type", "application/json");
    for (const [name, value] of Object.entries(headers)) exchange.res.writeHeader(name, value);
    // An early refusal leaves the request body unread: closing is the only way not to read it.
    if (close) exchange.res.writeHeader("connection", "close");
    exchange.res.end(JSON.stringify(body), close);
  });
}

function fail(exchange: Exchange, status: Status, code: string, msg: string, close = false, headers: Record<string, string> = {}): void {
  respond(exchange, status, { code, msg }, headers, close);
}

/** Every route answers a missing, bad or revoked token alike, with the challenge RFC 6750 asks for. */
function refuseUnauthenticated(exchange: Exchange, close = false): void {
  fail(exchange, 401, "unauthorized", "a valid `Authorization: Bearer <token>` is required", close, { "www-authenticate": "Bearer" });
}

function bearer(header: string): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

async function authenticate(options: Pick<MediaHttpOptions, "secret" | "revocations">, header: string): Promise<string | undefined> {
  const token = bearer(header);
  if (!token) return undefined;
  try {
    const claims = await verifyToken(options.secret, token);
    // An HTTP request names no device: a device's revocation applies to tokens bound to it.
    return options.revocations?.isRevoked(claims.user, claims.device, claims.issuedAt) ? undefined : claims.user;
  } catch (error) {
    if (error instanceof InvalidTokenError) return undefined;
    throw error;
  }
}

function newMediaId(): string {
  return randomBytes(16).toString("hex");
}

/** Reads a small JSON request body (presign requests), refusing anything large. */
function readJson(exchange: Exchange, onBody: (value: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  exchange.res.onData((chunk, isLast) => {
    if (exchange.ended || exchange.aborted) return;
    size += chunk.byteLength;
    if (size > MAX_JSON_BODY) {
      fail(exchange, 413, "too_large", `JSON bodies are at most ${MAX_JSON_BODY} bytes`, true);
      return;
    }
    chunks.push(Buffer.from(new Uint8Array(chunk)));
    if (!isLast) return;
    try {
      onBody(size === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString("utf8")));
    } catch {
      fail(exchange, 400, "bad_request", "the body is not JSON");
    }
  });
}

/**
 * `POST /media`, `GET /media/<id>` and, with an object store, the presigned variants.
 * Tokens are the WebSocket's (`Authorization: Bearer`); what may be read is decided by
 * MediaAccess, the same rule the chat writer applies when a message references media.
 */
export function registerMediaRoutes(app: TemplatedApp, options: MediaHttpOptions): void {
  const { access, log } = options;
  const store = access.store;
  const internalError = (exchange: Exchange, error: unknown) => {
    log.error({ err: error }, "media request failed");
    fail(exchange, 500, "internal", "the server failed handling this request", true);
  };

  app.post("/media", (res, req) => upload(res, req));
  app.get("/media/:id", (res, req) => download(res, req));
  app.post("/media/uploads", (res, req) => presignUpload(res, req));
  app.post("/media/:id/complete", (res, req) => completeUpload(res, req));
  app.get("/media/:id/url", (res, req) => presignDownload(res, req));

  function upload(res: HttpResponse, req: HttpRequest): void {
    // The request object dies when this handler returns: copy headers now.
    const authorization = req.getHeader("authorization");
    const mime = req.getHeader("content-type") || DEFAULT_MIME;
    const declared = req.getHeader("content-length");
    const exchange = begin(res);
    if (declared !== "" && Number(declared) > options.maxUploadBytes) {
      fail(exchange, 413, "too_large", `uploads are at most ${options.maxUploadBytes} bytes`, true);
      return;
    }
    if (mime.length > MAX_MIME_LENGTH || !MIME_PATTERN.test(mime)) {
      fail(exchange, 400, "bad_request", "Content-Type must be type/subtype", true);
      return;
    }

    const id = newMediaId();
    const staged = join(options.stagingDir, id);
    const hash = createHash("sha256");
    let size = 0;
    let user: string | undefined;
    let file: WriteStream | undefined;
    /** Bytes that arrived before the token was checked: nothing touches disk for a stranger. */
    let early: Buffer[] = [];
    let last = false;
    let paused = false;

    const discard = () => {
      file?.destroy();
      void rm(staged, { force: true });
    };
    exchange.cleanup = discard;

    const pause = () => {
      if (!paused && !exchange.aborted && !exchange.ended) {
        paused = true;
        res.pause();
      }
    };
    const resume = () => {
      if (paused && !exchange.aborted && !exchange.ended) {
        paused = false;
        res.resume();
      }
    };

    const finish = () => {
      file!.end(() => {
        if (exchange.aborted) return discard();
        // A socket left paused stays paused for the next request on this keep-alive connection.
        resume();
        const info: MediaInfo = { id, uploader: user!, mime, size, sha256: hash.digest("hex"), createdAt: Date.now() };
        store.put(info, staged).then(
          () => respond(exchange, 201, { id, mime, size, sha256: info.sha256 }),
          (error: unknown) => {
            discard();
            internalError(exchange, error);
          },
        );
      });
    };

    const write = (chunk: Buffer) => {
      if (!file!.write(chunk)) {
        pause();
        file!.once("drain", resume);
      }
    };

    res.onData((chunk, isLast) => {
      if (exchange.aborted || exchange.ended) return;
      size += chunk.byteLength;
      if (size > options.maxUploadBytes) {
        discard();
        fail(exchange, 413, "too_large", `uploads are at most ${options.maxUploadBytes} bytes`, true);
        return;
      }
      // uWS reuses the chunk's memory after this callback returns.
      const copy = Buffer.from(new Uint8Array(chunk));
      hash.update(copy);
      if (!file) {
        early.push(copy);
        last = isLast;
        pause();
        return;
      }
      write(copy);
      if (isLast) finish();
    });

    authenticate(options, authorization).then(
      async (who) => {
        if (exchange.aborted || exchange.ended) return;
        if (!who) {
          refuseUnauthenticated(exchange, true);
          return;
        }
        user = who;
        await mkdir(options.stagingDir, { recursive: true });
        if (exchange.aborted || exchange.ended) return;
        file = createWriteStream(staged, { flags: "wx" });
        file.on("error", (error) => {
          discard();
          internalError(exchange, error);
        });
        for (const chunk of early) write(chunk);
        early = [];
        if (last) finish();
        else if (file.writableNeedDrain === false) resume();
      },
      (error: unknown) => internalError(exchange, error),
    );
  }

  function download(res: HttpResponse, req: HttpRequest): void {
    const authorization = req.getHeader("authorization");
    const rangeHeader = req.getHeader("range");
    const id = req.getParameter(0) ?? "";
    const exchange = begin(res);
    void (async () => {
      const user = await authenticate(options, authorization);
      if (!user) return refuseUnauthenticated(exchange);
      if (!MEDIA_ID_PATTERN.test(id)) return fail(exchange, 404, "not_found", "no such media");
      const decision = await access.canRead(user, id);
      if (!decision.ok) return fail(exchange, decision.code === "not_found" ? 404 : 403, decision.code, decision.msg);
      const { info } = decision;
      const range = parseRange(rangeHeader, info.size);
      if (range === "unsatisfiable") {
        return fail(exchange, 416, "range_not_satisfiable", `the object has ${info.size} bytes`, false, { "content-range": `bytes */${info.size}` });
      }
      if (exchange.aborted) return;
      const source = await store.read(id, range ?? undefined);
      sendStream(exchange, source, info, range ?? undefined);
    })().catch((error: unknown) => internalError(exchange, error));
  }

  function sendStream(exchange: Exchange, source: Readable, info: MediaInfo, range: ByteRange | undefined): void {
    const { res } = exchange;
    const total = range ? range.end - range.start + 1 : info.size;
    exchange.cleanup = () => source.destroy();
    if (exchange.aborted) {
      source.destroy();
      return;
    }
    res.cork(() => {
      res.writeStatus(range ? STATUS[206] : STATUS[200]);
      res.writeHeader("content-type", info.mime);
      for (const [name, value] of Object.entries(mediaSafetyHeaders(info.mime))) res.writeHeader(name, value);
      res.writeHeader("accept-ranges", "bytes");
      res.writeHeader("etag", `"${info.sha256}"`);
      res.writeHeader("x-content-sha256", info.sha256);
      res.writeHeader("cache-control", "private, max-age=31536000, immutable");
      if (range) res.writeHeader("content-range", `bytes ${range.start}-${range.end}/${info.size}`);
      if (total === 0) {
        exchange.ended = true;
        res.end();
      }
    });
    if (total === 0) {
      source.destroy();
      return;
    }
    source.on("data", (chunk: Buffer) => {
      if (exchange.aborted || exchange.ended) return;
      const bytes = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
      const startOffset = res.getWriteOffset();
      let ok = false;
      let done = false;
      res.cork(() => ([ok, done] = res.tryEnd(bytes, total)));
      if (done) {
        exchange.ended = true;
        source.destroy();
        return;
      }
      if (ok) return;
      // The socket is full: hold the file until uWS has sent what it buffered.
      source.pause();
      res.onWritable((offset) => {
        if (exchange.aborted) return true;
        let retryOk = false;
        let retryDone = false;
        res.cork(() => ([retryOk, retryDone] = res.tryEnd(bytes.slice(offset - startOffset), total)));
        if (retryDone) {
          exchange.ended = true;
          source.destroy();
        } else if (retryOk) {
          source.resume();
        }
        return retryOk;
      });
    });
    source.on("error", (error) => {
      log.error({ err: error, id: info.id }, "media read failed");
      // Headers may be gone already: the only honest signal left is a cut connection.
      if (!exchange.aborted && !exchange.ended) {
        exchange.ended = true;
        res.close();
      }
    });
  }

  function presignUpload(res: HttpResponse, req: HttpRequest): void {
    const authorization = req.getHeader("authorization");
    const exchange = begin(res);
    readJson(exchange, (value) => {
      void (async () => {
        const user = await authenticate(options, authorization);
        if (!user) return refuseUnauthenticated(exchange);
        if (!store.presignUpload) return fail(exchange, 501, "not_supported", "this node's media store takes uploads at POST /media only");
        const fields = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
        const mime = typeof fields.mime === "string" ? fields.mime : DEFAULT_MIME;
        const { size, sha256 } = fields;
        if (mime.length > MAX_MIME_LENGTH || !MIME_PATTERN.test(mime)) return fail(exchange, 400, "bad_request", "`mime` must be type/subtype");
        if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return fail(exchange, 400, "bad_request", "`size` must be an unsigned integer");
        if (size > options.maxUploadBytes) return fail(exchange, 413, "too_large", `uploads are at most ${options.maxUploadBytes} bytes`);
        if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) return fail(exchange, 400, "bad_request", "`sha256` must be 64 lowercase hex characters");
        const info: MediaInfo = { id: newMediaId(), uploader: user, mime, size, sha256, createdAt: Date.now() };
        const upload = await store.presignUpload(info, options.presignTtlSeconds);
        respond(exchange, 200, { id: info.id, upload });
      })().catch((error: unknown) => internalError(exchange, error));
    });
  }

  function completeUpload(res: HttpResponse, req: HttpRequest): void {
    const authorization = req.getHeader("authorization");
    const id = req.getParameter(0) ?? "";
    const exchange = begin(res);
    readJson(exchange, () => {
      void (async () => {
        const user = await authenticate(options, authorization);
        if (!user) return refuseUnauthenticated(exchange);
        if (!store.confirmUpload) return fail(exchange, 501, "not_supported", "this node's media store takes uploads at POST /media only");
        if (!MEDIA_ID_PATTERN.test(id)) return fail(exchange, 404, "not_found", "no such upload");
        const info = await store.confirmUpload(id);
        if (!info) return fail(exchange, 404, "not_found", "no such upload, or its bytes have not arrived");
        if (info.uploader !== user) return fail(exchange, 403, "forbidden", "not your upload");
        respond(exchange, 200, { id, mime: info.mime, size: info.size, sha256: info.sha256 });
      })().catch((error: unknown) => internalError(exchange, error));
    });
  }

  function presignDownload(res: HttpResponse, req: HttpRequest): void {
    const authorization = req.getHeader("authorization");
    const id = req.getParameter(0) ?? "";
    const exchange = begin(res);
    void (async () => {
      const user = await authenticate(options, authorization);
      if (!user) return refuseUnauthenticated(exchange);
      if (!store.presignDownload) return fail(exchange, 501, "not_supported", "this node's media store serves downloads at GET /media/<id> only");
      if (!MEDIA_ID_PATTERN.test(id)) return fail(exchange, 404, "not_found", "no such media");
      const decision = await access.canRead(user, id);
      if (!decision.ok) return fail(exchange, decision.code === "not_found" ? 404 : 403, decision.code, decision.msg);
      respond(exchange, 200, { id, mime: decision.info.mime, size: decision.info.size, sha256: decision.info.sha256, download: await store.presignDownload(id, options.presignTtlSeconds) });
    })().catch((error: unknown) => internalError(exchange, error));
  }
}
