/** Group metadata and each user's groups. One writer per group: its ConversationActor. */

export interface GroupInfo {
  /** `g:` + a server-chosen id. */
  chat: string;
  name: string;
  members: string[];
  admins: string[];
  createdBy: string;
  createdAt: number;
  /** The seq of the system message that added each member: they see nothing older. */
  joined: Record<string, number>;
}

/** Group metadata and each user's groups. Single writer per group: its ConversationActor. */
export interface GroupStore {
  get(chat: string): Promise<GroupInfo | undefined>;
  /**
   * Writes the group and keeps the user → groups index in step: users in `group.members`
   * but not in `previousMembers` gain the group, users only in `previousMembers` lose it.
   */
  put(group: GroupInfo, previousMembers: readonly string[]): Promise<void>;
  /** The groups `user` is a member of now. */
  groupsOf(user: string): Promise<string[]>;
}
