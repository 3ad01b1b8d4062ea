import type { HttpRequest, HttpResponse } from "../uws.ts";
import { MEDIA_ID_PATTERN } from "../protocol/frames.ts";
import type { MediaInfo } from "../storage/media.ts";
import { DEFAULT_MIME, newMediaId, uploadTooLarge, validMime, type MediaContext } from "./context.ts";
import { authenticate, begin, fail, readJson, refuseUnauthenticated, respond, type Exchange } from "./exchange.ts";

// The presigned routes exist for object stores: the client moves the bytes straight to and
// from the bucket, and the router only signs and checks.

const ONLY_POST_MEDIA = "this node's media store takes uploads at POST /media only";

/** A presign request's fields, checked: the upload's mime, size and hash, or why not. */
function uploadFields(context: MediaContext, exchange: Exchange, value: unknown): Pick<MediaInfo, "mime" | "size" | "sha256"> | undefined {
  const fields = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const mime = typeof fields.mime === "string" ? fields.mime : DEFAULT_MIME;
  const { size, sha256 } = fields;
  if (!validMime(mime)) return void fail(exchange, 400, "bad_request", "`mime` must be type/subtype");
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return void fail(exchange, 400, "bad_request", "`size` must be an unsigned integer");
  if (size > context.options.maxUploadBytes) return void uploadTooLarge(context, exchange, false);
  if (typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) return void fail(exchange, 400, "bad_request", "`sha256` must be 64 lowercase hex characters");
  return { mime, size, sha256 };
}

/** `POST /media/uploads`: a presigned upload URL for the object the client describes. */
export function presignUpload(context: MediaContext, res: HttpResponse, req: HttpRequest): void {
  const authorization = req.getHeader("authorization");
  const exchange = begin(res);
  const { store, options } = context;
  readJson(exchange, (value) => {
    void (async () => {
      const user = await authenticate(options, authorization);
      if (!user) return refuseUnauthenticated(exchange);
      if (!store.presignUpload) return fail(exchange, 501, "not_supported", ONLY_POST_MEDIA);
      const fields = uploadFields(context, exchange, value);
      if (!fields) return;
      const info: MediaInfo = { id: newMediaId(), uploader: user, ...fields, createdAt: Date.now() };
      const upload = await store.presignUpload(info, options.presignTtlSeconds);
      respond(exchange, 200, { id: info.id, upload });
    })().catch((error: unknown) => context.internalError(exchange, error));
  });
}

/** `POST /media/<id>/complete`: the bytes of a presigned upload arrived; the uploader confirms. */
export function completeUpload(context: MediaContext, res: HttpResponse, req: HttpRequest): void {
  const authorization = req.getHeader("authorization");
  const id = req.getParameter(0) ?? "";
  const exchange = begin(res);
  const { store } = context;
  readJson(exchange, () => {
    void (async () => {
      const user = await authenticate(context.options, authorization);
      if (!user) return refuseUnauthenticated(exchange);
      if (!store.confirmUpload) return fail(exchange, 501, "not_supported", ONLY_POST_MEDIA);
      if (!MEDIA_ID_PATTERN.test(id)) return fail(exchange, 404, "not_found", "no such upload");
      const info = await store.confirmUpload(id);
      if (!info) return fail(exchange, 404, "not_found", "no such upload, or its bytes have not arrived");
      if (info.uploader !== user) return fail(exchange, 403, "forbidden", "not your upload");
      respond(exchange, 200, { id, mime: info.mime, size: info.size, sha256: info.sha256 });
    })().catch((error: unknown) => context.internalError(exchange, error));
  });
}

/** `GET /media/<id>/url`: a presigned download URL, for a user MediaAccess lets read it. */
export function presignDownload(context: MediaContext, res: HttpResponse, req: HttpRequest): void {
  const authorization = req.getHeader("authorization");
  const id = req.getParameter(0) ?? "";
  const exchange = begin(res);
  const { store, options } = context;
  void (async () => {
    const user = await authenticate(options, authorization);
    if (!user) return refuseUnauthenticated(exchange);
    if (!store.presignDownload) return fail(exchange, 501, "not_supported", "this node's media store serves downloads at GET /media/<id> only");
    if (!MEDIA_ID_PATTERN.test(id)) return fail(exchange, 404, "not_found", "no such media");
    const decision = await context.access.canRead(user, id);
    if (!decision.ok) return fail(exchange, decision.code === "not_found" ? 404 : 403, decision.code, decision.msg);
    const download = await store.presignDownload(id, options.presignTtlSeconds);
    respond(exchange, 200, { id, mime: decision.info.mime, size: decision.info.size, sha256: decision.info.sha256, download });
  })().catch((error: unknown) => context.internalError(exchange, error));
}
