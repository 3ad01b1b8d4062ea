import type { CeilingConnection } from "./outbox.ts";
import type { CeilingMessage, CeilingStore } from "./store.ts";

/** Who waits for a message's `sent`: the first send and any retry of the same cid meanwhile. */
export interface Waiter {
  connection: CeilingConnection;
  r: number;
}

export interface PendingMessage extends CeilingMessage {
  waiters: Waiter[];
}

export interface Marks {
  delivered: number;
  read: number;
}

/** One direct chat's in-memory state: the owner's seq is authoritative once loaded. */
export class ChatState {
  private nextSeq: number;
  private lastTs = 0;
  readonly marks = new Map<string, Marks>();
  /** `${from}\0${cid}` → the message being written, so a retry joins it instead of writing twice. */
  readonly inFlight = new Map<string, PendingMessage>();

  constructor(
    readonly chat: string,
    lastSeq: number,
  ) {
    this.nextSeq = lastSeq + 1;
  }

  /** The next seq and a timestamp that never goes backwards within the chat. */
  assign(now: number): { seq: number; ts: number } {
    this.lastTs = Math.max(now, this.lastTs);
    return { seq: this.nextSeq++, ts: this.lastTs };
  }
}

export const directChatId = (a: string, b: string): string => (a < b ? `d:${a}:${b}` : `d:${b}:${a}`);

export const membersOf = (chat: string): string[] => chat.slice(2).split(":");

/** Chat states by id, loaded from the store on first use. */
export class Chats {
  private readonly states = new Map<string, ChatState>();

  constructor(private readonly store: CeilingStore) {}

  get(chat: string): ChatState {
    let state = this.states.get(chat);
    if (!state) {
      state = new ChatState(chat, this.store.lastSeq(chat));
      this.states.set(chat, state);
    }
    return state;
  }
}
