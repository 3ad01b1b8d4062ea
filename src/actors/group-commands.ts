import type { GroupFrame, GroupRequestFrame } from "../protocol/frames.ts";
import type { GroupInfo } from "../storage/types.ts";
import type { ConversationKit, ConversationState } from "./conversation-actor.ts";
import { replyError, type GroupCommand } from "./messages.ts";

/** What a membership change's system message says, as JSON in its body. */
export interface SystemNotice {
  op: "create" | "add" | "remove" | "leave" | "admin";
  by: string;
  users: string[];
  name?: string;
  admin?: boolean;
}

function groupFrame(r: number, group: GroupInfo): GroupFrame {
  return { t: "group", r, chat: group.chat, name: group.name, members: group.members, admins: group.admins };
}

class GroupCommandError extends Error {
  constructor(
    readonly code: "forbidden" | "not_found" | "limit_exceeded" | "conflict" | "unavailable",
    message: string,
  ) {
    super(message);
  }
}

function requireGroup(state: ConversationState): GroupInfo {
  if (!state.group) throw new GroupCommandError("not_found", "no such group");
  return state.group;
}

function requireMember(group: GroupInfo, user: string): void {
  if (!group.members.includes(user)) throw new GroupCommandError("forbidden", "not a member of this group");
}

function requireAdmin(group: GroupInfo, user: string): void {
  requireMember(group, user);
  if (!group.admins.includes(user)) throw new GroupCommandError("forbidden", "only admins may do this");
}

/**
 * Membership changes of a group, made by its ConversationActor so they take their place in
 * the chat's one order: each is stored, then written as a `system` message every member
 * (and the user it concerns) receives, so histories show who joined and left.
 */
export async function handleGroupCommand(kit: ConversationKit, state: ConversationState, chat: string, message: GroupCommand): Promise<void> {
  const { command, user, replyTo } = message;
  try {
    if (command.t === "group.info") {
      const group = requireGroup(state);
      requireMember(group, user);
      kit.deps.link.send(replyTo.conn, groupFrame(replyTo.r, group));
      return;
    }
    if (!kit.writable(chat)) throw new GroupCommandError("unavailable", "storage is not taking writes for this chat; retry");
    const change = plan(kit, state, chat, user, command);
    if (!change) {
      // Nothing to change (adding members already there): answer with the group as it is.
      kit.deps.link.send(replyTo.conn, groupFrame(replyTo.r, requireGroup(state)));
      return;
    }
    const previous = state.group?.members ?? [];
    await kit.deps.stores.groups.put(change.group, previous);
    state.group = change.group;
    state.members = change.group.members;
    kit.accept(
      state,
      chat,
      { from: user, body: JSON.stringify(change.notice), kind: "system", cid: "" },
      { device: "", waiters: [], alsoTo: change.concerns },
    );
    kit.deps.link.send(replyTo.conn, groupFrame(replyTo.r, change.group));
  } catch (error) {
    if (!(error instanceof GroupCommandError)) throw error;
    replyError(kit.deps.link, replyTo, error.code, error.message);
  }
}

interface Change {
  group: GroupInfo;
  notice: SystemNotice;
  /** Users the change is about who are no longer members (they still get its notice). */
  concerns: string[];
}

function plan(
  kit: ConversationKit,
  state: ConversationState,
  chat: string,
  user: string,
  command: Exclude<GroupRequestFrame, { t: "group.info" }>,
): Change | undefined {
  const maxMembers = kit.deps.limits.maxGroupMembers;
  // The system message about this change gets the next seq: new members see from it on.
  const noticeSeq = state.nextSeq;
  switch (command.t) {
    case "group.create": {
      if (state.group || state.lastSeq > 0) throw new GroupCommandError("conflict", "this group already exists");
      const members = [...new Set([user, ...command.members])];
      if (members.length > maxMembers) throw new GroupCommandError("limit_exceeded", `a group has at most ${maxMembers} members`);
      const group: GroupInfo = {
        chat,
        name: command.name,
        members,
        admins: [user],
        createdBy: user,
        createdAt: Date.now(),
        joined: Object.fromEntries(members.map((member) => [member, noticeSeq])),
      };
      return { group, notice: { op: "create", by: user, users: members, name: command.name }, concerns: [] };
    }
    case "group.add": {
      const group = requireGroup(state);
      requireAdmin(group, user);
      const added = command.users.filter((candidate) => !group.members.includes(candidate));
      if (added.length === 0) return undefined;
      if (group.members.length + added.length > maxMembers) {
        throw new GroupCommandError("limit_exceeded", `a group has at most ${maxMembers} members; it has ${group.members.length}`);
      }
      const joined = { ...group.joined };
      for (const member of added) joined[member] = noticeSeq;
      return {
        group: { ...group, members: [...group.members, ...added], joined },
        notice: { op: "add", by: user, users: added },
        concerns: [],
      };
    }
    case "group.remove": {
      const group = requireGroup(state);
      requireAdmin(group, user);
      if (command.user === user) throw new GroupCommandError("conflict", "use group.leave to leave a group");
      if (!group.members.includes(command.user)) throw new GroupCommandError("not_found", `${command.user} is not a member`);
      return { group: without(group, command.user), notice: { op: "remove", by: user, users: [command.user] }, concerns: [command.user] };
    }
    case "group.leave": {
      const group = requireGroup(state);
      requireMember(group, user);
      return { group: without(group, user), notice: { op: "leave", by: user, users: [user] }, concerns: [user] };
    }
    case "group.admin": {
      const group = requireGroup(state);
      requireAdmin(group, user);
      if (!group.members.includes(command.user)) throw new GroupCommandError("not_found", `${command.user} is not a member`);
      const isAdmin = group.admins.includes(command.user);
      if (isAdmin === command.admin) return undefined;
      if (!command.admin && group.admins.length === 1) throw new GroupCommandError("conflict", "a group keeps at least one admin");
      const admins = command.admin ? [...group.admins, command.user] : group.admins.filter((admin) => admin !== command.user);
      return { group: { ...group, admins }, notice: { op: "admin", by: user, users: [command.user], admin: command.admin }, concerns: [] };
    }
  }
}

/** The group without `user`; when its last admin goes, the longest-standing member takes over. */
function without(group: GroupInfo, user: string): GroupInfo {
  const members = group.members.filter((member) => member !== user);
  let admins = group.admins.filter((admin) => admin !== user);
  if (admins.length === 0 && members.length > 0) admins = [members[0]!];
  const { [user]: _gone, ...joined } = group.joined;
  return { ...group, members, admins, joined };
}
