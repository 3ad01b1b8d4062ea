import { createServer, connect, type Socket } from "node:net";

/**
 * A TCP proxy in front of a node, to cut connections as a phone losing signal does: the
 * client sees its socket die (1006) without a close frame, the node sees the peer vanish.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  /** Node-side sockets of the connections open now, whose bytes to the client hold() can stop. */
  private readonly upstreams = new Map<Socket, Socket>();
  private readonly server = createServer((client) => this.pair(client));
  private port = 0;

  private constructor(private readonly target: { host: string; port: number }) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    const address = proxy.server.address();
    if (!address || typeof address !== "object") throw new Error("the proxy has no port");
    proxy.port = address.port;
    return proxy;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** Destroys every connection through the proxy at once; new ones are accepted as before. */
  drop(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  /**
   * Stops passing the node's bytes to the clients of the connections open now (what clients
   * send still goes through): answers are lost on the way, as when a link dies mid-request.
   */
  hold(): void {
    for (const [upstream, client] of this.upstreams) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  async stop(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pair(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on("error", () => socket.destroy());
      socket.on("close", () => this.sockets.delete(socket));
    }
    this.upstreams.set(upstream, client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => {
      this.upstreams.delete(upstream);
      client.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
