import { createServer } from "node:net";
import { shareOf } from "../seams.ts";
import { CLOSE_CODES } from "../protocol/frames.ts";
import type { Logger } from "../util/logger.ts";
import { systemClock } from "../util/clock.ts";
import type { ConnectionLog } from "./connection-log.ts";
import { ClientConnection, type OutboundEvents, type SocketData } from "./connection.ts";
import { TokenBucket } from "./rate-limiter.ts";
import { FlushQueue } from "./flush-queue.ts";
import { RequestDeadlines } from "./request-deadlines.ts";
import { TokenExpiries } from "./token-expiries.ts";
import type { ConnectionRegistry } from "./registry.ts";
import type { SessionProtocol } from "./session-protocol.ts";
import { closeListenSocket, COMPRESSION_DISABLED, createApp, listenExclusive, listenPort, type HttpResponse, type TemplatedApp } from "../uws.ts";

export interface TransportOptions {
  nodeId: string;
  host: string;
  port: number;
  maxFrameBytes: number;
  framesPerSecond: number;
  frameBurst: number;
  /** The user's budget across all their connections, and how many devices may share it. */
  userFramesPerSecond: number;
  userFrameBurst: number;
  maxDevicesPerUser: number;
  softBackpressureBytes: number;
  requestTimeoutMs: number;
  maxBackpressureBytes: number;
  idleTimeoutSeconds: number;
  helloTimeoutMs: number;
}

export interface TransportHooks {
  registry: ConnectionRegistry;
  protocol: SessionProtocol;
  log: Logger;
  outbound: OutboundEvents;
  onOpen(): void;
  /** Opened and closed connections, at info, rate-limited (hello is logged by the session). */
  connectionLog: ConnectionLog;
  onClose(connection: ClientConnection): void;
  /** Liveness: the process serves (`degraded` still serves; a restart would not help). */
  health(): { status: "ok" | "degraded"; [key: string]: unknown };
  /** Readiness: whether a load balancer should send this node new clients. */
  ready(): { ready: boolean; reasons: string[] };
  /** The Prometheus exposition, and its content type. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Further HTTP routes on the same app and port (media), registered before the 404 fallback. */
  routes?: Array<(app: TemplatedApp) => void>;
}

export interface RunningTransport {
  port: number;
  /** Stops accepting connections; open sockets stay until closed. */
  stopListening(): void;
}

const OVERSIZE_MARGIN = 4;

/** The node could not take its port (another process holds it, or the address is wrong). */
export class ListenError extends Error {
  override readonly name = "ListenError";
}

/**
 * uWS only says that listening failed; Node's own listen on the same address says why
 * (EADDRINUSE, EACCES, EADDRNOTAVAIL).
 */
function whyListenFailed(host: string, port: number): Promise<ListenError> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") resolve(new ListenError(`port ${port} is in use`));
      else resolve(new ListenError(`cannot listen on ${host}:${port}: ${error.code ?? error.message}`));
    });
    probe.listen({ host, port, exclusive: true }, () => {
      probe.close(() => resolve(new ListenError(`cannot listen on ${host}:${port}`)));
    });
  });
}

function reply(res: HttpResponse, status: string, contentType: string, body: string): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader("content-type", contentType).end(body);
  });
}

/**
 * A new connection's share of its user's budget until the user's actor sends the real one:
 * as if the user had every device it may have connected, so that however many connect at
 * once, together they stay within the budget.
 */
function userShareBucket(options: TransportOptions): TokenBucket {
  const share = shareOf({ framesPerSecond: options.userFramesPerSecond, burst: options.userFrameBurst }, options.maxDevicesPerUser);
  return new TokenBucket(share.framesPerSecond, share.burst);
}

/**
 * The uWebSockets.js edge: `/ws` for clients, `/healthz` and `/metrics` for operators.
 * Nothing past this file sees a uWS object; the rest of the node talks to ClientConnection.
 */
export function startTransport(options: TransportOptions, hooks: TransportHooks): Promise<RunningTransport> {
  const app: TemplatedApp = createApp();
  registerClientSockets(app, options, hooks);
  registerOperatorRoutes(app, hooks);
  for (const register of hooks.routes ?? []) register(app);
  app.any("/*", (res) => {
    reply(res, "404 Not Found", "text/plain", "not found\n");
  });
  return listen(app, options);
}

/** `/ws`: one ClientConnection per socket, the session protocol on every frame. */
function registerClientSockets(app: TemplatedApp, options: TransportOptions, hooks: TransportHooks): void {
  let nextConnectionId = 0;
  const shared = {
    flushes: new FlushQueue(),
    deadlines: new RequestDeadlines(options.requestTimeoutMs, systemClock),
    expiries: new TokenExpiries(systemClock),
  };

  app.ws<SocketData>("/ws", {
    compression: COMPRESSION_DISABLED,
    // uWS drops a socket over its limit without a close frame; a margin above ours lets us
    // close with 1009 so the client knows why. Beyond the margin the socket is just dropped.
    maxPayloadLength: options.maxFrameBytes * OVERSIZE_MARGIN,
    maxBackpressure: options.maxBackpressureBytes,
    closeOnBackpressureLimit: 0,
    idleTimeout: options.idleTimeoutSeconds,
    sendPingsAutomatically: true,

    upgrade: (res, req, context) => {
      // The request object is only valid inside this handler: copy what we need now.
      const key = req.getHeader("sec-websocket-key");
      const protocol = req.getHeader("sec-websocket-protocol");
      const extensions = req.getHeader("sec-websocket-extensions");
      const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();
      res.upgrade<SocketData>({ remoteAddress }, key, protocol, extensions, context);
    },

    open: (ws) => {
      nextConnectionId += 1;
      const connection = new ClientConnection(
        ws,
        options.nodeId,
        nextConnectionId,
        new TokenBucket(options.framesPerSecond, options.frameBurst),
        userShareBucket(options),
        { softBackpressureBytes: options.softBackpressureBytes },
        shared,
        hooks.outbound,
        hooks.log,
      );
      ws.getUserData().connection = connection;
      connection.helloTimer = setTimeout(() => {
        if (connection.phase !== "awaiting_hello") return;
        connection.send({ t: "err", code: "hello_required", msg: "no hello within the time allowed" });
        connection.close(CLOSE_CODES.hello_timeout, "hello timeout");
      }, options.helloTimeoutMs);
      hooks.registry.add(connection);
      hooks.connectionLog.opened(connection.id, ws.getUserData().remoteAddress);
      hooks.onOpen();
    },

    message: (ws, message, isBinary) => {
      const connection = ws.getUserData().connection;
      if (!connection?.open) return;
      if (message.byteLength > options.maxFrameBytes) {
        connection.close(CLOSE_CODES.too_large, `frames are at most ${options.maxFrameBytes} bytes`);
        return;
      }
      try {
        if (isBinary) hooks.protocol.onBytes(connection, new Uint8Array(message));
        else hooks.protocol.onText(connection);
      } catch (error) {
        // A bug in handling one frame must not take the node down with it.
        hooks.log.error({ err: error, conn: connection.id }, "frame handling failed");
        connection.send({ t: "err", code: "internal", msg: "the server failed handling this frame" });
      }
    },

    close: (ws, code) => {
      const connection = ws.getUserData().connection;
      if (!connection) return;
      connection.markClosed();
      hooks.connectionLog.closed(connection.id, connection.user || undefined, connection.device || undefined, code, performance.now() - connection.openedAt);
      hooks.registry.remove(connection);
      hooks.onClose(connection);
    },
  });
}

/** `/healthz`, `/readyz` and `/metrics`. */
function registerOperatorRoutes(app: TemplatedApp, hooks: TransportHooks): void {
  app.get("/healthz", (res) => {
    reply(res, "200 OK", "application/json", JSON.stringify(hooks.health()));
  });
  app.get("/readyz", (res) => {
    const readiness = hooks.ready();
    reply(res, readiness.ready ? "200 OK" : "503 Service Unavailable", "application/json", JSON.stringify(readiness));
  });
  app.get("/metrics", (res) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    hooks.metrics().then(
      (exposition) => aborted || reply(res, "200 OK", exposition.contentType, exposition.body),
      (error: unknown) => {
        hooks.log.error({ err: error }, "metrics collection failed");
        if (!aborted) reply(res, "500 Internal Server Error", "text/plain", "metrics collection failed\n");
      },
    );
  });
}

function listen(app: TemplatedApp, options: TransportOptions): Promise<RunningTransport> {
  return new Promise((resolve, reject) => {
    listenExclusive(app, options.host, options.port, (listenSocket) => {
      if (!listenSocket) {
        void whyListenFailed(options.host, options.port).then(reject);
        return;
      }
      resolve({
        port: listenPort(listenSocket),
        stopListening: () => closeListenSocket(listenSocket),
      });
    });
  });
}
