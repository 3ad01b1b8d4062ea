import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { open, type Database, type RootDatabase } from "lmdb";

/** One accepted message, as the ceiling writes it and hands it out. */
export interface CeilingMessage {
  chat: string;
  seq: number;
  ts: number;
  from: string;
  to: string;
  body: Uint8Array;
  kind: string;
  cid: string;
}

export interface CursorWrite {
  user: string;
  device: string;
  chat: string;
  seq: number;
}

export interface MarkWrite {
  chat: string;
  user: string;
  delivered: number;
  read: number;
}

/**
 * The ceiling's storage: the same keys the router's LMDB backend writes per message, in two
 * environments as it keeps them. Messages, idempotency keys and inboxes are in the fsync'd
 * one; cursors and delivered/read marks in a no-sync one, as receipts allow.
 */
export class CeilingStore {
  private readonly durable: RootDatabase;
  private readonly soft: RootDatabase;
  private readonly messages: Database;
  private readonly cids: Database;
  private readonly inbox: Database;
  private readonly cursors: Database;
  private readonly marks: Database;

  constructor(dir: string) {
    mkdirSync(join(dir, "soft"), { recursive: true });
    this.durable = open({ path: dir, maxDbs: 8 });
    this.soft = open({ path: join(dir, "soft"), maxDbs: 8, noSync: true });
    this.messages = this.durable.openDB({ name: "messages" });
    this.cids = this.durable.openDB({ name: "cids" });
    this.inbox = this.durable.openDB({ name: "inbox" });
    this.cursors = this.soft.openDB({ name: "cursors" });
    this.marks = this.soft.openDB({ name: "marks" });
  }

  /** The chat's highest seq on disk: read once, when the chat is first used. */
  lastSeq(chat: string): number {
    for (const key of this.messages.getKeys({ start: [chat, Number.MAX_SAFE_INTEGER], end: [chat, 0], reverse: true, limit: 1 })) {
      return (key as [string, number])[1];
    }
    return 0;
  }

  findByCid(chat: string, from: string, cid: string): { seq: number; ts: number } | undefined {
    return this.cids.get([chat, from, cid]) as { seq: number; ts: number } | undefined;
  }

  /** Every message of one turn in one transaction: one commit, one fsync. */
  appendAll(batch: readonly CeilingMessage[]): Promise<unknown> {
    return this.durable.transaction(() => {
      for (const m of batch) {
        void this.messages.put([m.chat, m.seq], { from: m.from, ts: m.ts, body: m.body, kind: m.kind, cid: m.cid });
        void this.cids.put([m.chat, m.from, m.cid], { seq: m.seq, ts: m.ts });
        void this.inbox.put([m.from, m.chat], m.seq);
        void this.inbox.put([m.to, m.chat], m.seq);
      }
    });
  }

  writeSoft(cursors: Iterable<CursorWrite>, marks: Iterable<MarkWrite>): void {
    void this.soft.transaction(() => {
      for (const c of cursors) void this.cursors.put([c.user, c.device, c.chat], c.seq);
      for (const m of marks) void this.marks.put([m.chat, m.user], { delivered: m.delivered, read: m.read });
    });
  }

  /** chat → acknowledged seq for one device. */
  cursorsOf(user: string, device: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const { key, value } of this.cursors.getRange({ start: [user, device, ""], end: [user, device, "\uffff"] })) {
      out.set((key as string[])[2]!, value as number);
    }
    return out;
  }

  /** chat → latest seq for every chat the user is in. */
  inboxOf(user: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const { key, value } of this.inbox.getRange({ start: [user, ""], end: [user, "\uffff"] })) {
      out.set((key as string[])[1]!, value as number);
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.durable.close(), this.soft.close()]);
  }
}
