import type { ClientLink, CloseCode, ConnectionRef, FrameShare } from "../seams.ts";
import type { ServerFrame } from "../protocol/frames.ts";
import type { ClientConnection } from "./connection.ts";

/**
 * The connections of this node, by id and by user: how actors reach sockets. Frames for a
 * connection that is gone are dropped here; the device recovers them from its cursors.
 */
export class ConnectionRegistry implements ClientLink {
  private readonly byId = new Map<number, ClientConnection>();
  private readonly byUser = new Map<string, Set<ClientConnection>>();

  constructor(private readonly nodeId: string) {}

  get size(): number {
    return this.byId.size;
  }

  add(connection: ClientConnection): void {
    this.byId.set(connection.id, connection);
  }

  /** Indexes an authenticated connection under its user. */
  bindUser(connection: ClientConnection): void {
    let set = this.byUser.get(connection.user);
    if (!set) this.byUser.set(connection.user, (set = new Set()));
    set.add(connection);
  }

  remove(connection: ClientConnection): void {
    this.byId.delete(connection.id);
    const set = this.byUser.get(connection.user);
    if (set?.delete(connection) && set.size === 0) this.byUser.delete(connection.user);
  }

  all(): IterableIterator<ClientConnection> {
    return this.byId.values();
  }

  /** This node's authenticated connections of `user`. */
  ofUser(user: string): ClientConnection[] {
    return [...(this.byUser.get(user) ?? [])];
  }

  private local(ref: ConnectionRef): ClientConnection | undefined {
    return ref.node === this.nodeId ? this.byId.get(ref.id) : undefined;
  }

  send(ref: ConnectionRef, frame: ServerFrame, ephemeral?: boolean): void {
    this.local(ref)?.send(frame, ephemeral);
  }

  close(ref: ConnectionRef, code: CloseCode, reason: string): void {
    this.local(ref)?.close(code, reason);
  }

  limit(ref: ConnectionRef, share: FrameShare): void {
    this.local(ref)?.setShare(share);
  }

  closeUser(user: string, code: CloseCode, reason: string): void {
    for (const connection of this.ofUser(user)) connection.close(code, reason);
  }
}
