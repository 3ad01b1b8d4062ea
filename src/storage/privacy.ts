/**
 * Privacy settings and the group invitations they produce. Settings are written only by the
 * user's UserActor and read wherever an action is decided (the presence hub, a group's
 * ConversationActor). An invitation (user, chat) is written and taken only by that group's
 * ConversationActor, so each key has one writer.
 */

import type { PrivacyAudience } from "../protocol/frames.ts";

/** Who may see or do something, as the protocol names it. `contacts`: those in the user's contact list (src/storage/contacts.ts). */
export type Audience = PrivacyAudience;

export const AUDIENCES: readonly Audience[] = ["everyone", "contacts", "nobody"];

export interface PrivacySettings {
  /** Who sees when the user was last online. */
  lastSeen: Audience;
  /** Who sees whether the user is online now. */
  online: Audience;
  /** Who may add the user to a group directly; everyone else's adds become invitations. */
  groups: Audience;
  /** Who sees the user's profile (name, about, photo): src/accounts/profiles.ts. */
  profile: Audience;
}

/** What a user who never chose gets: today's behaviour, visible to and addable by everyone. */
export const DEFAULT_PRIVACY: Readonly<PrivacySettings> = Object.freeze({ lastSeen: "everyone", online: "everyone", groups: "everyone", profile: "everyone" });

export interface PrivacyStore {
  /** The user's settings, DEFAULT_PRIVACY for those never set. */
  settings(user: string): Promise<PrivacySettings>;
  /** Several users' settings at once (presence watchers); every user is in the map. */
  settingsOf(users: readonly string[]): Promise<Map<string, PrivacySettings>>;
  setSettings(user: string, settings: PrivacySettings): Promise<void>;
}

/** An add the invitee's settings turned into an invitation, waiting for `group.join`. */
export interface GroupInvite {
  chat: string;
  /** The admin who tried to add the user. */
  by: string;
  /** The group's name when the invitation was made. */
  name: string;
  /** Unguessable: `group.join` must present it. */
  invite: string;
  createdAt: number;
  expiresAt: number;
}

export interface GroupInviteStore {
  /**
   * Stores (or replaces) the user's invitation to `invite.chat`. When the user then holds more
   * than `maxPending` unexpired invitations, the oldest go: a flood of invitations cannot
   * push the store past a bound, and the newest (the one just delivered live) always lands.
   */
  putInvite(user: string, invite: GroupInvite, maxPending: number): Promise<void>;
  /** The user's unexpired invitations at `now`, oldest first. */
  invites(user: string, now: number): Promise<GroupInvite[]>;
  /** The user's unexpired invitation to `chat`, if any. */
  invite(user: string, chat: string, now: number): Promise<GroupInvite | undefined>;
  deleteInvite(user: string, chat: string): Promise<void>;
}
