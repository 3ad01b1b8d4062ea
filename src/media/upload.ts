import { join } from "node:path";
import type { HttpRequest, HttpResponse } from "../uws.ts";
import type { MediaInfo } from "../storage/media.ts";
import { DEFAULT_MIME, newMediaId, uploadTooLarge, validMime, type MediaContext } from "./context.ts";
import { authenticate, begin, fail, open, refuseUnauthenticated, respond, socketFlow, type Exchange } from "./exchange.ts";
import { UploadSink, type UploadOutcome } from "./upload-sink.ts";

/** `POST /media`: the body streams to a staging file while the token is checked, then the store takes it. */
export function upload(context: MediaContext, res: HttpResponse, req: HttpRequest): void {
  const { options } = context;
  // The request object dies when this handler returns: copy headers now.
  const authorization = req.getHeader("authorization");
  const mime = req.getHeader("content-type") || DEFAULT_MIME;
  const declared = req.getHeader("content-length");
  const exchange = begin(res);
  if (declared !== "" && Number(declared) > options.maxUploadBytes) return uploadTooLarge(context, exchange, true);
  if (!validMime(mime)) return fail(exchange, 400, "bad_request", "Content-Type must be type/subtype", true);

  const id = newMediaId();
  const sink: UploadSink = new UploadSink({
    path: join(options.stagingDir, id),
    maxBytes: options.maxUploadBytes,
    flow: socketFlow(exchange),
    settled: (outcome) => settled(context, exchange, sink, outcome, { id, mime }),
    log: context.log,
  });
  exchange.cleanup = () => sink.abort();
  res.onData((chunk, isLast) => sink.feed(chunk, isLast));
  authenticate(options, authorization).then(
    (user) => {
      if (!open(exchange)) return;
      if (user) return void sink.open(user);
      sink.abort();
      refuseUnauthenticated(exchange, true);
    },
    (error: unknown) => {
      sink.abort();
      context.internalError(exchange, error);
    },
  );
}

/** What an upload's outcome answers; a complete one is the store's to take first. */
function settled(context: MediaContext, exchange: Exchange, sink: UploadSink, outcome: UploadOutcome, upload: { id: string; mime: string }): void {
  switch (outcome.state) {
    case "complete": {
      const { staged } = outcome;
      const info: MediaInfo = { id: upload.id, uploader: staged.uploader, mime: upload.mime, size: staged.size, sha256: staged.sha256, createdAt: Date.now() };
      context.store.put(info, staged.path).then(
        () => respond(exchange, 201, { id: info.id, mime: info.mime, size: info.size, sha256: info.sha256 }),
        (error: unknown) => sink.fail(error),
      );
      return;
    }
    case "too-large":
      return uploadTooLarge(context, exchange, true);
    case "failed":
      return context.internalError(exchange, outcome.error);
    case "aborted":
      return;
  }
}
