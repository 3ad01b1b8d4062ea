import type { HttpRequest, HttpResponse, TemplatedApp } from "../uws.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { AccountService, Answer } from "./service.ts";

/** Sign-up and refresh bodies are a phone number, a code, a device id or a token. */
export const MAX_ACCOUNT_BODY_BYTES = 4096;

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  202: "Accepted",
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  410: "Gone",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** A response's life: uWS forbids touching `res` once aborted or ended. */
interface Exchange {
  res: HttpResponse;
  done: boolean;
  observe(status: number, error?: string): void;
}

function answer(exchange: Exchange, reply: Answer, close = false): void {
  if (exchange.done) return;
  exchange.done = true;
  exchange.observe(reply.status, typeof reply.body.error === "string" ? reply.body.error : undefined);
  const { res } = exchange;
  res.cork(() => {
    res.writeStatus(`${reply.status} ${STATUS_TEXT[reply.status] ?? ""}`.trim());
    res.writeHeader("content-type", "application/json");
    // Tokens and codes pass through here: no cache may keep them.
    res.writeHeader("cache-control", "no-store");
    if (reply.retryAfterSeconds !== undefined) res.writeHeader("retry-after", String(reply.retryAfterSeconds));
    // An early refusal leaves the request body unread: closing is the only way not to read it.
    if (close) res.writeHeader("connection", "close");
    res.end(JSON.stringify(reply.body), close);
  });
}

function refuse(status: number, error: string, message: string): Answer {
  return { status, body: { error, message } };
}

/**
 * A POST route taking a small JSON body (at most MAX_ACCOUNT_BODY_BYTES) and answering JSON,
 * `{error, message}` on failure: what `handle` resolves with, or 503 / 500 when it throws.
 * Shared by the account routes and the demo's sign-in.
 */
export function jsonPostRoute(
  name: string,
  handle: (body: unknown, address: string) => Promise<Answer>,
  log: Logger,
  observe: (route: string, status: number, error?: string) => void = () => {},
): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    // The request object dies when this handler returns: copy what is needed now.
    const contentType = req.getHeader("content-type");
    const declared = req.getHeader("content-length");
    const address = Buffer.from(res.getRemoteAddressAsText()).toString();
    const exchange: Exchange = { res, done: false, observe: (status, error) => observe(name, status, error) };
    res.onAborted(() => (exchange.done = true));
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      answer(exchange, refuse(415, "unsupported_media_type", "send `Content-Type: application/json`"), true);
      return;
    }
    if (declared !== "" && Number(declared) > MAX_ACCOUNT_BODY_BYTES) {
      answer(exchange, refuse(413, "too_large", `bodies are at most ${MAX_ACCOUNT_BODY_BYTES} bytes`), true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      if (exchange.done) return;
      size += chunk.byteLength;
      if (size > MAX_ACCOUNT_BODY_BYTES) {
        answer(exchange, refuse(413, "too_large", `bodies are at most ${MAX_ACCOUNT_BODY_BYTES} bytes`), true);
        return;
      }
      // uWS reuses the chunk's memory after this callback returns.
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (!isLast) return;
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        answer(exchange, refuse(400, "bad_request", "the body is not JSON"));
        return;
      }
      handle(body, address).then(
        (reply) => answer(exchange, reply),
        (error: unknown) => {
          if (error instanceof StorageUnavailableError) {
            log.warn({ err: error.message }, "request failed: storage unavailable");
            answer(exchange, { ...refuse(503, "unavailable", "try again later"), retryAfterSeconds: 5 });
            return;
          }
          log.error({ err: error }, "request failed");
          answer(exchange, refuse(500, "internal", "the server failed handling this request"));
        },
      );
    });
  };
}

/**
 * `POST /v1/verify/start`, `POST /v1/verify/finish` and `POST /v1/token/refresh`: small JSON
 * bodies in, JSON out, `{error, message}` on failure. The routes know uWS; AccountService knows
 * the rules.
 */
export function registerAccountRoutes(
  app: TemplatedApp,
  service: AccountService,
  log: Logger,
  /** Sees every answer's status, for metrics (texts sent, codes refused, reuse detected). */
  observe: (route: string, status: number, error?: string) => void = () => {},
): void {
  const route = (name: string, handle: (body: unknown, address: string) => Promise<Answer>) => jsonPostRoute(name, handle, log, observe);
  app.post("/v1/verify/start", route("verify_start", (body, address) => service.start(body, address)));
  app.post("/v1/verify/finish", route("verify_finish", (body, address) => service.finish(body, address)));
  app.post("/v1/token/refresh", route("token_refresh", (body, address) => service.refresh(body, address)));
}
