import { randomBytes } from "node:crypto";
import type { GroupFrame, GroupRequestFrame } from "../protocol/frames.ts";
import type { GroupInvite } from "../storage/privacy.ts";
import type { GroupInfo } from "../storage/types.ts";
import type { ConversationKit, ConversationState } from "./conversation-kit.ts";
import { replyError, type GroupCommand } from "./messages.ts";

/** What a membership change's system message says, as JSON in its body. */
export interface SystemNotice {
  op: "create" | "add" | "remove" | "leave" | "admin" | "join";
  by: string;
  users: string[];
  name?: string;
  admin?: boolean;
}

function groupFrame(r: number, group: GroupInfo, invited: readonly string[] = []): GroupFrame {
  const frame: GroupFrame = { t: "group", r, chat: group.chat, name: group.name, members: group.members, admins: group.admins };
  if (invited.length > 0) frame.invited = [...invited];
  return frame;
}

class GroupCommandError extends Error {
  constructor(
    readonly code: "forbidden" | "not_found" | "limit_exceeded" | "conflict" | "unavailable" | "too_many_groups",
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
    const facts = await gatherFacts(kit, state, chat, user, command);
    const change = plan(kit, state, chat, user, command, facts);
    // Invitations first: should the membership write then fail, an invitation the admin did
    // ask for is all that is left.
    const invited = await invite(kit, chat, user, command.t === "group.create" ? command.name : state.group?.name ?? "", change?.invite ?? []);
    if (!change?.group) {
      // Nothing to change (adding members already there, or only invitations): the group as it is.
      if (command.t === "group.join") await kit.deps.stores.invites.deleteInvite(user, chat);
      kit.deps.link.send(replyTo.conn, groupFrame(replyTo.r, requireGroup(state), invited));
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
    if (command.t === "group.join") await kit.deps.stores.invites.deleteInvite(user, chat);
    kit.deps.link.send(replyTo.conn, groupFrame(replyTo.r, change.group, invited));
  } catch (error) {
    if (!(error instanceof GroupCommandError)) throw error;
    replyError(kit.deps.link, replyTo, error.code, error.message);
  }
}

type Change =
  | {
      group: GroupInfo;
      notice: SystemNotice;
      /** Users the change is about who are no longer members (they still get its notice). */
      concerns: string[];
      /** Users to invite instead of adding (their settings refuse adds by this user). */
      invite?: string[];
    }
  | { group?: undefined; invite: string[] };

/** What plan() needs to know beyond the group's state, read from the stores beforehand. */
interface PlanFacts {
  /** Users being added whose settings turn an add by this user into an invitation. */
  inviteOnly: ReadonlySet<string>;
  /** How many groups each user who would become a member is in now. */
  groupCounts: ReadonlyMap<string, number>;
  /** group.join: the user's pending invitation to this group. */
  invitation?: GroupInvite;
}

/** Store reads at most this many at once while gathering facts. */
const READ_CONCURRENCY = 32;

async function countGroups(kit: ConversationKit, users: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let start = 0; start < users.length; start += READ_CONCURRENCY) {
    const slice = users.slice(start, start + READ_CONCURRENCY);
    const lists = await Promise.all(slice.map((member) => kit.deps.stores.groups.groupsOf(member)));
    slice.forEach((member, i) => counts.set(member, lists[i]!.length));
  }
  return counts;
}

async function gatherFacts(
  kit: ConversationKit,
  state: ConversationState,
  chat: string,
  user: string,
  command: Exclude<GroupRequestFrame, { t: "group.info" }>,
): Promise<PlanFacts> {
  const none: PlanFacts = { inviteOnly: new Set(), groupCounts: new Map() };
  let others: string[];
  if (command.t === "group.create") {
    if (state.group || state.lastSeq > 0) return none;
    others = command.members.filter((member) => member !== user);
  } else if (command.t === "group.add") {
    const group = state.group;
    if (!group?.admins.includes(user)) return none;
    others = command.users.filter((candidate) => !group.members.includes(candidate) && candidate !== user);
  } else if (command.t === "group.join") {
    if (!state.group || state.group.members.includes(user)) return none;
    const invitation = await kit.deps.stores.invites.invite(user, chat, Date.now());
    return { inviteOnly: new Set(), groupCounts: await countGroups(kit, [user]), invitation };
  } else {
    return none;
  }
  const settings = await kit.deps.stores.privacy.settingsOf(others);
  const inviteOnly = new Set(others.filter((other) => settings.get(other)?.groups === "nobody"));
  const joining = others.filter((other) => !inviteOnly.has(other));
  if (command.t === "group.create") joining.push(user);
  return { inviteOnly, groupCounts: await countGroups(kit, joining) };
}

/** Refuses when any of `users` is already in the most groups a user may be in. */
function requireRoomForGroups(kit: ConversationKit, facts: PlanFacts, users: readonly string[], self: string): void {
  const max = kit.deps.limits.maxGroupsPerUser;
  const full = users.filter((member) => (facts.groupCounts.get(member) ?? 0) >= max);
  if (full.length === 0) return;
  throw new GroupCommandError(
    "too_many_groups",
    full.length === 1 && full[0] === self ? `you are in ${max} groups, the most a user may be in` : `in ${max} groups already, the most a user may be in: ${full.join(", ")}`,
  );
}

/**
 * Stores an invitation for each of `users` and tells their live devices (the others hear of
 * it on their next hello). Resolves with those invited.
 */
async function invite(kit: ConversationKit, chat: string, by: string, name: string, users: readonly string[]): Promise<string[]> {
  const { inviteTtlMs, maxPendingInvites } = kit.deps.limits;
  for (const invitee of users) {
    const createdAt = Date.now();
    const invitation: GroupInvite = { chat, by, name, invite: randomBytes(24).toString("base64url"), createdAt, expiresAt: createdAt + inviteTtlMs };
    await kit.deps.stores.invites.putInvite(invitee, invitation, maxPendingInvites);
    kit.deps.users.tellIfActive(invitee, { type: "group.invite", chat, by, name, invite: invitation.invite, expires: invitation.expiresAt });
  }
  return [...users];
}

function plan(
  kit: ConversationKit,
  state: ConversationState,
  chat: string,
  user: string,
  command: Exclude<GroupRequestFrame, { t: "group.info" }>,
  facts: PlanFacts,
): Change | undefined {
  const maxMembers = kit.deps.limits.maxGroupMembers;
  // The system message about this change gets the next seq: new members see from it on.
  const noticeSeq = state.nextSeq;
  switch (command.t) {
    case "group.create": {
      if (state.group || state.lastSeq > 0) throw new GroupCommandError("conflict", "this group already exists");
      const members = [...new Set([user, ...command.members])].filter((member) => !facts.inviteOnly.has(member));
      requireRoomForGroups(kit, facts, members, user);
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
      return { group, notice: { op: "create", by: user, users: members, name: command.name }, concerns: [], invite: [...facts.inviteOnly] };
    }
    case "group.add": {
      const group = requireGroup(state);
      requireAdmin(group, user);
      const invited = command.users.filter((candidate) => facts.inviteOnly.has(candidate));
      const added = command.users.filter((candidate) => !group.members.includes(candidate) && !facts.inviteOnly.has(candidate));
      if (added.length === 0) return invited.length > 0 ? { invite: invited } : undefined;
      if (group.members.length + added.length > maxMembers) {
        throw new GroupCommandError("limit_exceeded", `a group has at most ${maxMembers} members; it has ${group.members.length}`);
      }
      requireRoomForGroups(kit, facts, added, user);
      const joined = { ...group.joined };
      for (const member of added) joined[member] = noticeSeq;
      return {
        group: { ...group, members: [...group.members, ...added], joined },
        notice: { op: "add", by: user, users: added },
        concerns: [],
        invite: invited,
      };
    }
    case "group.join": {
      const group = requireGroup(state);
      if (group.members.includes(user)) return undefined;
      const invitation = facts.invitation;
      if (!invitation || invitation.invite !== command.invite) {
        throw new GroupCommandError("forbidden", "no such invitation to this group (or it expired)");
      }
      if (!group.admins.includes(invitation.by)) throw new GroupCommandError("forbidden", `${invitation.by}, who invited you, is no longer an admin of this group`);
      if (group.members.length + 1 > maxMembers) {
        throw new GroupCommandError("limit_exceeded", `a group has at most ${maxMembers} members; it has ${group.members.length}`);
      }
      requireRoomForGroups(kit, facts, [user], user);
      return {
        group: { ...group, members: [...group.members, user], joined: { ...group.joined, [user]: noticeSeq } },
        notice: { op: "join", by: user, users: [user] },
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
