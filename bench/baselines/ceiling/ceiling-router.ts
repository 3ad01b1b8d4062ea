import type { WebSocket } from "uWebSockets.js";
import { verifyToken } from "../../../src/auth/tokens.ts";
import { decodeValue } from "../../../src/protocol/codec.ts";
import { ChatState, Chats, directChatId, membersOf, type PendingMessage } from "./chats.ts";
import { CeilingConnection, Outbox } from "./outbox.ts";
import type { CeilingStore, CursorWrite, MarkWrite } from "./store.ts";
import { TurnBatcher } from "./turn.ts";

type ClientFrame = Record<string, unknown> & { t: string };

const isFrame = (value: unknown): value is ClientFrame => typeof value === "object" && value !== null && typeof (value as { t?: unknown }).t === "string";

/**
 * The ceiling's whole message path, as direct calls: what the router does per direct message
 * and ack (seq, idempotency, four durable puts, `sent`, `msg`, cursor, delivered mark,
 * `receipt`), with every write of a turn in one transaction and every socket flushed once.
 */
export class CeilingRouter {
  private readonly chats: Chats;
  private readonly online = new Map<string, CeilingConnection>();
  private readonly outbox: Outbox;
  private readonly turn: TurnBatcher;
  private accepted: PendingMessage[] = [];
  /** Cursor and mark writes, coalesced per key until the turn ends. */
  private readonly cursorWrites = new Map<string, CursorWrite>();
  private readonly markWrites = new Map<string, MarkWrite>();
  private stopped = false;

  constructor(
    private readonly store: CeilingStore,
    private readonly secret: string,
  ) {
    this.chats = new Chats(store);
    this.turn = new TurnBatcher(() => this.endTurn());
    this.outbox = new Outbox(() => this.turn.schedule());
  }

  connect(socket: WebSocket<unknown>): CeilingConnection {
    return new CeilingConnection(socket, this.outbox);
  }

  disconnect(connection: CeilingConnection): void {
    connection.open = false;
    if (this.online.get(connection.user) === connection) this.online.delete(connection.user);
  }

  stop(): void {
    this.stopped = true;
  }

  onMessage(connection: CeilingConnection, bytes: Uint8Array): void {
    let frame: unknown;
    try {
      frame = decodeValue(bytes);
    } catch {
      connection.refuse(1003, "not msgpack");
      return;
    }
    if (!isFrame(frame)) return;
    if (frame.t === "hello") {
      void this.onHello(connection, frame);
      return;
    }
    if (!connection.user) return;
    switch (frame.t) {
      case "send":
        if (typeof frame.r === "number" && typeof frame.cid === "string" && typeof frame.to === "string" && frame.body instanceof Uint8Array) {
          this.onSend(connection, frame.r, frame.cid, frame.to, frame.body);
        }
        return;
      case "ack":
        if (typeof frame.chat === "string" && typeof frame.seq === "number") this.onAck(connection, frame.chat, frame.seq);
        return;
      case "read":
        if (typeof frame.chat === "string" && typeof frame.seq === "number" && this.isMember(connection, frame.chat)) this.mark(frame.chat, connection.user, 0, frame.seq);
        return;
      case "ping":
        if (typeof frame.r === "number") connection.send({ t: "pong", r: frame.r, ts: Date.now() });
        return;
    }
  }

  private async onHello(connection: CeilingConnection, frame: ClientFrame): Promise<void> {
    const r = typeof frame.r === "number" ? frame.r : 0;
    let user: string;
    try {
      user = (await verifyToken(this.secret, String(frame.token))).user;
    } catch {
      connection.send({ t: "err", r, code: "unauthorized", msg: "bad token" });
      return;
    }
    connection.user = user;
    this.online.set(user, connection);
    for (const [chat, seq] of this.store.cursorsOf(user, connection.device)) {
      connection.cursors.set(chat, seq);
      connection.handed.set(chat, seq);
    }
    connection.send({ t: "welcome", r, user, device: connection.device, node: "ceiling", ts: Date.now() });
    // The bench's pairs start with nothing pending: what is unacknowledged counts as handed.
    for (const [chat, seq] of this.store.inboxOf(user)) {
      if (seq > (connection.cursors.get(chat) ?? 0)) connection.handed.set(chat, seq);
    }
    connection.send({ t: "synced", recovered: true });
  }

  private onSend(connection: CeilingConnection, r: number, cid: string, to: string, body: Uint8Array): void {
    const chat = this.chats.get(directChatId(connection.user, to));
    const key = `${connection.user}\0${cid}`;
    const inFlight = chat.inFlight.get(key);
    if (inFlight) {
      inFlight.waiters.push({ connection, r });
      return;
    }
    const first = this.store.findByCid(chat.chat, connection.user, cid);
    if (first) {
      connection.send({ t: "sent", r, cid, chat: chat.chat, seq: first.seq, ts: first.ts });
      return;
    }
    const { seq, ts } = chat.assign(Date.now());
    const message: PendingMessage = { chat: chat.chat, seq, ts, from: connection.user, to, body, kind: "text", cid, waiters: [{ connection, r }] };
    chat.inFlight.set(key, message);
    this.accepted.push(message);
    this.turn.schedule();
  }

  private endTurn(): void {
    if (this.stopped) return;
    if (this.accepted.length > 0) {
      const batch = this.accepted;
      this.accepted = [];
      this.store.appendAll(batch).then(
        () => this.onDurable(batch),
        (error: unknown) => process.stderr.write(`ceiling: commit failed: ${String(error)}\n`),
      );
    }
    if (this.cursorWrites.size > 0 || this.markWrites.size > 0) {
      this.store.writeSoft(this.cursorWrites.values(), this.markWrites.values());
      this.cursorWrites.clear();
      this.markWrites.clear();
    }
    this.outbox.flush();
  }

  private onDurable(batch: readonly PendingMessage[]): void {
    for (const message of batch) {
      this.chats.get(message.chat).inFlight.delete(`${message.from}\0${message.cid}`);
      for (const { connection, r } of message.waiters) {
        connection.send({ t: "sent", r, cid: message.cid, chat: message.chat, seq: message.seq, ts: message.ts });
      }
      this.deliver(message.to, message);
      this.deliver(message.from, message);
    }
    this.endTurn();
  }

  private deliver(user: string, message: PendingMessage): void {
    const connection = this.online.get(user);
    if (!connection || message.seq <= (connection.handed.get(message.chat) ?? 0)) return;
    connection.handed.set(message.chat, message.seq);
    if (user !== message.from) {
      connection.send({ t: "msg", chat: message.chat, seq: message.seq, from: message.from, ts: message.ts, body: message.body, kind: "text" });
      return;
    }
    // The sender's own device has the message: its cursor moves on without an ack.
    if ((connection.cursors.get(message.chat) ?? 0) === message.seq - 1) this.setCursor(connection, message.chat, message.seq);
  }

  private onAck(connection: CeilingConnection, chat: string, acked: number): void {
    if (!this.isMember(connection, chat)) return;
    const seq = Math.min(acked, connection.handed.get(chat) ?? 0);
    if (seq <= (connection.cursors.get(chat) ?? 0)) return;
    this.setCursor(connection, chat, seq);
    this.mark(chat, connection.user, seq, 0);
  }

  private setCursor(connection: CeilingConnection, chat: string, seq: number): void {
    connection.cursors.set(chat, seq);
    this.cursorWrites.set(`${connection.user}\0${connection.device}\0${chat}`, { user: connection.user, device: connection.device, chat, seq });
    this.turn.schedule();
  }

  private mark(chatId: string, user: string, delivered: number, read: number): void {
    const chat: ChatState = this.chats.get(chatId);
    const current = chat.marks.get(user) ?? { delivered: 0, read: 0 };
    const nextRead = Math.max(current.read, read);
    const nextDelivered = Math.max(current.delivered, delivered, nextRead);
    if (nextDelivered === current.delivered && nextRead === current.read) return;
    chat.marks.set(user, { delivered: nextDelivered, read: nextRead });
    this.markWrites.set(`${chatId}\0${user}`, { chat: chatId, user, delivered: nextDelivered, read: nextRead });
    this.turn.schedule();
    for (const other of membersOf(chatId)) {
      if (other === user) continue;
      this.online.get(other)?.send({
        t: "receipt",
        chat: chatId,
        user,
        delivered: nextDelivered > current.delivered ? nextDelivered : undefined,
        read: nextRead > current.read ? nextRead : undefined,
      });
    }
  }

  private isMember(connection: CeilingConnection, chat: string): boolean {
    return chat.startsWith("d:") && membersOf(chat).includes(connection.user);
  }
}
