/**
 * The one module that imports uWebSockets.js. The build in use (an unofficial package aliased
 * as `uWebSockets.js` in package.json) ships binaries only up to Node 20; a newer build, or
 * another package with the same App API, is dropped in by changing this file alone. The rest
 * of the node imports these few types and functions from here, never the package itself
 * (test/transport/uws-seam.test.ts checks it).
 */
import uWS, { type TemplatedApp, type us_listen_socket } from "uWebSockets.js";

export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket } from "uWebSockets.js";

/** A socket listening for connections; `false` when listening failed. */
export type ListenSocket = us_listen_socket;

/** A plain (no TLS) app: TLS terminates in front of the nodes (README, "Deploying"). */
export function createApp(): TemplatedApp {
  return uWS.App();
}

/** Per-message compression off: frames are small MessagePack, and compressing costs CPU per socket. */
export const COMPRESSION_DISABLED = uWS.DISABLED;

/**
 * uWS's LIBUS_LISTEN_EXCLUSIVE_PORT (ListenOptions in its typings, which has no value at run
 * time). Without it uWS sets SO_REUSEPORT, and a second node on a port in use starts anyway:
 * the kernel then splits connections between two nodes with different secrets and stores.
 */
const LISTEN_EXCLUSIVE_PORT = 1;

/** Listens on host:port, refusing a port another socket holds; the callback gets `false` on failure. */
export function listenExclusive(app: TemplatedApp, host: string, port: number, done: (socket: ListenSocket | false) => void): void {
  // The typings lack listen(host, port, options, cb), which the binding has.
  const listen = app.listen as unknown as (host: string, port: number, options: number, cb: (socket: ListenSocket | false) => void) => void;
  listen.call(app, host, port, LISTEN_EXCLUSIVE_PORT, done);
}

/** The port a listen socket is bound to (the actual one when 0 was asked for). */
export function listenPort(socket: ListenSocket): number {
  return uWS.us_socket_local_port(socket);
}

export function closeListenSocket(socket: ListenSocket): void {
  uWS.us_listen_socket_close(socket);
}
