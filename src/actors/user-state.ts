import type { Stores } from "../storage/stores.ts";
import type { PrivacySettings } from "../storage/privacy.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import type { PresenceShown } from "./presence-hub.ts";
import type { ContactListLimits } from "./contact-lists.ts";
import { UserCalls, type UserCallDeps } from "../calls/user-calls.ts";
import type { ConversationMessage } from "./messages.ts";
import type { ClientLink, ConnectionRef, FrameShare, Tell, TellIfActive } from "../seams.ts";

/** One live device of the user. */
export interface DeviceSession {
  conn: ConnectionRef;
  /** Highest seq the device acked, per chat (mirrors the CursorStore). */
  cursors: Map<string, number>;
  /**
   * Highest seq handed to this connection, per chat, where it moved past the cursor: nothing
   * at or below `handedIn` is sent again. Made on the first hand-out: an idle device has none.
   */
  sent?: Map<string, number>;
}

/** Highest seq of `chat` handed to the session's connection (at least what the device had acked when it attached). */
export function handedIn(session: DeviceSession, chat: string): number {
  return session.sent?.get(chat) ?? session.cursors.get(chat) ?? 0;
}

export function markHanded(session: DeviceSession, chat: string, seq: number): void {
  (session.sent ??= new Map()).set(chat, seq);
}

export class UserState {
  readonly sessions = new Map<string, DeviceSession>();
  /** The user's privacy settings once read (the actor is their only writer). */
  privacy: PrivacySettings | undefined;
  /** Whom the user blocked, once read (the actor is the only writer; src/actors/contact-lists.ts). */
  blocks: Set<string> | undefined;
  /**
   * Set (to a time, so it never repeats across the actor's lives) on every change of the
   * user's contacts or blocks: presence hubs that see a new value read their watchers'
   * relations to the user again. Undefined until the first change of this life.
   */
  relations: number | undefined;
  private callsOfUser: UserCalls | undefined;

  /** The user's call state if any call ever touched it (without making it). */
  get existingCalls(): UserCalls | undefined {
    return this.callsOfUser;
  }

  /** Calls ringing this user or joined by them (src/calls/user-calls.ts); made on first use: most users are in none. */
  get calls(): UserCalls {
    return (this.callsOfUser ??= new UserCalls());
  }

  /** Whether a call is ringing this user at `now` (without making their call state). */
  ringingNow(now: number): boolean {
    return this.callsOfUser?.ringingNow(now) ?? false;
  }
}

export interface UserDeps {
  nodeId: string;
  stores: Stores;
  link: ClientLink;
  conversations: Tell<ConversationMessage> & TellIfActive<ConversationMessage>;
  log: Logger;
  syncLimitPerChat: number;
  presence: {
    userOnline(user: string, shown?: PresenceShown): void;
    userOffline(user: string, at: number, shown?: PresenceShown): void;
    privacyChanged(user: string, shown: PresenceShown): void;
  };
  /** Inbound frames the user may send across all their connections, divided among them. */
  frameBudget: FrameShare;
  /** Live devices per user; a further one is refused, not an older one dropped. */
  maxDevices: number;
  /** Contact and block list sizes. */
  contactLimits: ContactListLimits;
  /** Invitation expiry, the welcome's time and last seen read it. */
  clock: Clock;
  /** Call signalling; without it calls never ring this user. */
  calls?: UserCallDeps;
}

export function sameConnection(a: ConnectionRef, b: ConnectionRef): boolean {
  return a.id === b.id && a.node === b.node;
}
