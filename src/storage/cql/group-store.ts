import type { GroupInfo, GroupStore } from "../groups.ts";
import { numberColumn, numberMapColumn, textColumn, textListColumn } from "./columns.ts";
import type { CqlSession, Statement } from "./session.ts";

const INSERT_GROUP =
  "INSERT INTO chat_groups (chat, name, members, admins, created_by, created_at, joined) VALUES (?, ?, ?, ?, ?, ?, ?)";
const SELECT_GROUP = "SELECT chat, name, members, admins, created_by, created_at, joined FROM chat_groups WHERE chat = ?";
const ADD_USER_GROUP = "INSERT INTO user_groups (user_id, chat) VALUES (?, ?)";
const REMOVE_USER_GROUP = "DELETE FROM user_groups WHERE user_id = ? AND chat = ?";
const SELECT_USER_GROUPS = "SELECT chat FROM user_groups WHERE user_id = ?";

/**
 * A group is one row (member and admin lists and join seqs are frozen: rewritten whole, no collection
 * tombstones); each user's groups are one partition, so groupsOf is one partition read.
 */
export class CqlGroupStore implements GroupStore {
  constructor(private readonly session: CqlSession) {}

  async get(chat: string): Promise<GroupInfo | undefined> {
    const [row] = await this.session.rows("getGroup", { query: SELECT_GROUP, params: [chat] });
    if (!row) return undefined;
    return {
      chat: textColumn(row, "chat"),
      name: textColumn(row, "name"),
      members: textListColumn(row, "members"),
      admins: textListColumn(row, "admins"),
      createdBy: textColumn(row, "created_by"),
      createdAt: numberColumn(row, "created_at"),
      joined: numberMapColumn(row, "joined"),
    };
  }

  async put(group: GroupInfo, previousMembers: readonly string[]): Promise<void> {
    const before = new Set(previousMembers);
    const now = new Set(group.members);
    const statements: Statement[] = [
      {
        query: INSERT_GROUP,
        params: [group.chat, group.name, group.members, group.admins, group.createdBy, group.createdAt, group.joined],
      },
    ];
    // Only the membership changes: a rename of a 500-member group stays one small statement.
    for (const user of now) if (!before.has(user)) statements.push({ query: ADD_USER_GROUP, params: [user, group.chat] });
    for (const user of before) if (!now.has(user)) statements.push({ query: REMOVE_USER_GROUP, params: [user, group.chat] });
    if (statements.length === 1) await this.session.execute("putGroup", statements[0]!);
    else await this.session.loggedBatch("putGroup", statements);
  }

  async groupsOf(user: string): Promise<string[]> {
    const rows = await this.session.rows("groupsOf", { query: SELECT_USER_GROUPS, params: [user] });
    return rows.map((row) => textColumn(row, "chat"));
  }
}
