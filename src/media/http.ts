import type { TemplatedApp } from "../uws.ts";
import { mediaContext, type MediaHttpOptions } from "./context.ts";
import { download } from "./download.ts";
import { completeUpload, presignDownload, presignUpload } from "./presign.ts";
import { upload } from "./upload.ts";

/**
 * `POST /media`, `GET /media/<id>` and, with an object store, the presigned variants.
 * Tokens are the WebSocket's (`Authorization: Bearer`); what may be read is decided by
 * MediaAccess, the same rule the chat writer applies when a message references media.
 */
export function registerMediaRoutes(app: TemplatedApp, options: MediaHttpOptions): void {
  const context = mediaContext(options);
  app.post("/media", (res, req) => upload(context, res, req));
  app.get("/media/:id", (res, req) => download(context, res, req));
  app.post("/media/uploads", (res, req) => presignUpload(context, res, req));
  app.post("/media/:id/complete", (res, req) => completeUpload(context, res, req));
  app.get("/media/:id/url", (res, req) => presignDownload(context, res, req));
}
