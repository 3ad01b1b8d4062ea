import type { Readable } from "node:stream";
import type { HttpRequest, HttpResponse } from "../uws.ts";
import { MEDIA_ID_PATTERN } from "../protocol/frames.ts";
import type { ByteRange, MediaInfo } from "../storage/media.ts";
import type { MediaContext } from "./context.ts";
import { authenticate, begin, fail, open, refuseUnauthenticated, statusLine, type Exchange } from "./exchange.ts";
import { parseRange } from "./range.ts";

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

/** `GET /media/<id>`, whole or one range, for a user MediaAccess lets read it. */
export function download(context: MediaContext, res: HttpResponse, req: HttpRequest): void {
  const authorization = req.getHeader("authorization");
  const rangeHeader = req.getHeader("range");
  const id = req.getParameter(0) ?? "";
  const exchange = begin(res);
  void (async () => {
    const user = await authenticate(context.options, authorization);
    if (!user) return refuseUnauthenticated(exchange);
    if (!MEDIA_ID_PATTERN.test(id)) return fail(exchange, 404, "not_found", "no such media");
    const decision = await context.access.canRead(user, id);
    if (!decision.ok) return fail(exchange, decision.code === "not_found" ? 404 : 403, decision.code, decision.msg);
    const { info } = decision;
    const range = parseRange(rangeHeader, info.size);
    if (range === "unsatisfiable") {
      return fail(exchange, 416, "range_not_satisfiable", `the object has ${info.size} bytes`, false, { "content-range": `bytes */${info.size}` });
    }
    if (exchange.state === "aborted") return;
    const source = await context.store.read(id, range ?? undefined);
    sendStream(context, exchange, source, info, range ?? undefined);
  })().catch((error: unknown) => context.internalError(exchange, error));
}

function writeHead(exchange: Exchange, info: MediaInfo, range: ByteRange | undefined): void {
  const { res } = exchange;
  res.writeStatus(statusLine(range ? 206 : 200));
  res.writeHeader("content-type", info.mime);
  for (const [name, value] of Object.entries(mediaSafetyHeaders(info.mime))) res.writeHeader(name, value);
  res.writeHeader("accept-ranges", "bytes");
  res.writeHeader("etag", `"${info.sha256}"`);
  res.writeHeader("x-content-sha256", info.sha256);
  res.writeHeader("cache-control", "private, max-age=31536000, immutable");
  if (range) res.writeHeader("content-range", `bytes ${range.start}-${range.end}/${info.size}`);
}

function sendStream(context: MediaContext, exchange: Exchange, source: Readable, info: MediaInfo, range: ByteRange | undefined): void {
  const { res } = exchange;
  const total = range ? range.end - range.start + 1 : info.size;
  exchange.cleanup = () => source.destroy();
  if (exchange.state === "aborted") {
    source.destroy();
    return;
  }
  res.cork(() => {
    writeHead(exchange, info, range);
    if (total === 0) {
      exchange.state = "ended";
      res.end();
    }
  });
  if (total === 0) {
    source.destroy();
    return;
  }
  source.on("data", (chunk: Buffer) => sendChunk(exchange, source, chunk, total));
  source.on("error", (error) => {
    context.log.error({ err: error, id: info.id }, "media read failed");
    // Headers may be gone already: the only honest signal left is a cut connection.
    if (open(exchange)) {
      exchange.state = "ended";
      res.close();
    }
  });
}

/** Hands one chunk of the file to uWS; when the socket is full, holds the file until it drained. */
function sendChunk(exchange: Exchange, source: Readable, chunk: Buffer, total: number): void {
  const { res } = exchange;
  if (!open(exchange)) return;
  const bytes = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
  const startOffset = res.getWriteOffset();
  const first = tryEnd(exchange, source, bytes, total);
  if (first.done || first.ok) return;
  source.pause();
  res.onWritable((offset) => {
    if (exchange.state === "aborted") return true;
    const retry = tryEnd(exchange, source, bytes.slice(offset - startOffset), total);
    if (!retry.done && retry.ok) source.resume();
    return retry.ok;
  });
}

/** Whether uWS took `bytes`, and whether they ended the body (which ends the exchange and the file). */
function tryEnd(exchange: Exchange, source: Readable, bytes: ArrayBuffer, total: number): { ok: boolean; done: boolean } {
  let ok = false;
  let done = false;
  exchange.res.cork(() => ([ok, done] = exchange.res.tryEnd(bytes, total)));
  if (done) {
    exchange.state = "ended";
    source.destroy();
  }
  return { ok, done };
}
