import { AUDIENCES, DEFAULT_PRIVACY, type Audience, type GroupInvite, type GroupInviteStore, type PrivacySettings, type PrivacyStore } from "../privacy.ts";
import { numberColumn, optionalTextColumn, textColumn } from "./columns.ts";
import type { Row } from "./session.ts";
import type { CqlSession } from "./session.ts";

const SET_SETTINGS = "UPDATE privacy_settings SET last_seen = ?, online = ?, groups = ?, profile = ? WHERE user_id = ?";
const SELECT_SETTINGS = "SELECT last_seen, online, groups, profile FROM privacy_settings WHERE user_id = ?";

const PUT_INVITE =
  "INSERT INTO group_invites (user_id, chat, invite, by_user, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?";
const SELECT_INVITES = "SELECT chat, invite, by_user, name, created_at, expires_at FROM group_invites WHERE user_id = ?";
const SELECT_INVITE = "SELECT chat, invite, by_user, name, created_at, expires_at FROM group_invites WHERE user_id = ? AND chat = ?";
const DELETE_INVITE = "DELETE FROM group_invites WHERE user_id = ? AND chat = ?";

/** Reads fan out at most this many single-partition queries at once. */
const READ_CONCURRENCY = 32;

function audience(row: Row, column: string): Audience {
  const value = optionalTextColumn(row, column);
  // A value this version does not know (written by a newer node) is read as the stricter one.
  if (value === undefined) return "everyone";
  return (AUDIENCES as readonly string[]).includes(value) ? (value as Audience) : "nobody";
}

function inviteFromRow(row: Row): GroupInvite {
  return {
    chat: textColumn(row, "chat"),
    invite: textColumn(row, "invite"),
    by: textColumn(row, "by_user"),
    name: textColumn(row, "name"),
    createdAt: numberColumn(row, "created_at"),
    expiresAt: numberColumn(row, "expires_at"),
  };
}

/** Privacy settings, one partition per user. */
export class CqlPrivacyStore implements PrivacyStore {
  constructor(private readonly session: CqlSession) {}

  async settings(user: string): Promise<PrivacySettings> {
    const [row] = await this.session.rows("privacy.settings", { query: SELECT_SETTINGS, params: [user] });
    if (!row) return { ...DEFAULT_PRIVACY };
    return { lastSeen: audience(row, "last_seen"), online: audience(row, "online"), groups: audience(row, "groups"), profile: audience(row, "profile") };
  }

  async settingsOf(users: readonly string[]): Promise<Map<string, PrivacySettings>> {
    const out = new Map<string, PrivacySettings>();
    const unique = [...new Set(users)];
    for (let start = 0; start < unique.length; start += READ_CONCURRENCY) {
      const slice = unique.slice(start, start + READ_CONCURRENCY);
      const settings = await Promise.all(slice.map((user) => this.settings(user)));
      slice.forEach((user, i) => out.set(user, settings[i]!));
    }
    return out;
  }

  async setSettings(user: string, settings: PrivacySettings): Promise<void> {
    await this.session.execute("privacy.set", { query: SET_SETTINGS, params: [settings.lastSeen, settings.online, settings.groups, settings.profile, user] });
  }
}

/** Pending group invitations, one partition per invitee, each row expiring with its invitation. */
export class CqlGroupInviteStore implements GroupInviteStore {
  constructor(private readonly session: CqlSession) {}

  async putInvite(user: string, invite: GroupInvite, maxPending: number): Promise<void> {
    const ttlSeconds = Math.max(1, Math.ceil((invite.expiresAt - Date.now()) / 1000));
    await this.session.execute("invites.put", {
      query: PUT_INVITE,
      params: [user, invite.chat, invite.invite, invite.by, invite.name, invite.createdAt, invite.expiresAt, ttlSeconds],
    });
    const held = await this.invites(user, Date.now());
    const excess = held.filter((other) => other.chat !== invite.chat).slice(0, Math.max(0, held.length - maxPending));
    await Promise.all(excess.map((old) => this.deleteInvite(user, old.chat)));
  }

  async invites(user: string, now: number): Promise<GroupInvite[]> {
    const rows = await this.session.rows("invites.list", { query: SELECT_INVITES, params: [user] });
    return rows
      .map(inviteFromRow)
      .filter((invite) => invite.expiresAt > now)
      .sort((a, b) => a.createdAt - b.createdAt);
  }

  async invite(user: string, chat: string, now: number): Promise<GroupInvite | undefined> {
    const [row] = await this.session.rows("invites.get", { query: SELECT_INVITE, params: [user, chat] });
    const invite = row ? inviteFromRow(row) : undefined;
    return invite && invite.expiresAt > now ? invite : undefined;
  }

  async deleteInvite(user: string, chat: string): Promise<void> {
    await this.session.execute("invites.delete", { query: DELETE_INVITE, params: [user, chat] });
  }
}
