import { randomBytes } from "node:crypto";
import type { GroupFrame, GroupRequestFrame } from "../protocol/frames.ts";
import type { GroupInvite } from "../storage/privacy.ts";
import type { GroupInfo } from "../storage/groups.ts";
import type { ConversationKit, ConversationState } from "./conversation-kit.ts";
import { refuse, replied, type CommandResult, type Refusal } from "./command-result.ts";
import type { GroupCommand } from "./messages.ts";

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

const NO_GROUP: Refusal = refuse("not_found", "no such group");

/** Why `user` may not act as a member of `group`; undefined when they may. */
function notMember(group: GroupInfo, user: string): Refusal | undefined {
  return group.members.includes(user) ? undefined : refuse("forbidden", "not a member of this group");
}

/** Why `user` may not act as an admin of `group`; undefined when they may. */
function notAdmin(group: GroupInfo, user: string): Refusal | undefined {
  return notMember(group, user) ?? (group.admins.includes(user) ? undefined : refuse("forbidden", "only admins may do this"));
}

function isRefusal(value: object | undefined): value is Refusal {
  return value !== undefined && "ok" in value && value.ok === false;
}

/**
 * Membership changes of a group, made by its ConversationActor so they take their place in
 * the chat's one order: each is stored, then written as a `system` message every member
 * (and the user it concerns) receives, so histories show who joined and left.
 */
export async function handleGroupCommand(kit: ConversationKit, state: ConversationState, chat: string, message: GroupCommand): Promise<CommandResult> {
  const { command, user, replyTo } = message;
  if (command.t === "group.info") {
    if (!state.group) return NO_GROUP;
    return notMember(state.group, user) ?? replied(groupFrame(replyTo.r, state.group));
  }
  if (!state.writer.writable) return refuse("unavailable", "storage is not taking writes for this chat; retry");
  const facts = await gatherFacts(kit, state, chat, user, command);
  const change = plan(kit, state, chat, user, command, facts);
  if (isRefusal(change)) return change;
  // Invitations first: should the membership write then fail, an invitation the admin did
  // ask for is all that is left.
  const invited = await invite(kit, chat, user, command.t === "group.create" ? command.name : state.group?.name ?? "", change?.invite ?? [], facts.unseen);
  if (!change?.group) {
    // Nothing to change (adding members already there, or only invitations): the group as it is.
    if (command.t === "group.join") await kit.deps.stores.invites.deleteInvite(user, chat);
    return state.group ? replied(groupFrame(replyTo.r, state.group, invited)) : NO_GROUP;
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
  return replied(groupFrame(replyTo.r, change.group, invited));
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
  /** Users being added whose settings (or blocks) turn an add by this user into an invitation. */
  inviteOnly: ReadonlySet<string>;
  /**
   * Those of inviteOnly who blocked this user: the adder is told they were invited, as for a
   * privacy setting (so the block is not revealed), but no invitation is stored or sent.
   */
  unseen: ReadonlySet<string>;
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
  const none: PlanFacts = { inviteOnly: new Set(), unseen: new Set(), groupCounts: new Map() };
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
    const invitation = await kit.deps.stores.invites.invite(user, chat, kit.deps.clock.now());
    return { inviteOnly: new Set(), unseen: new Set(), groupCounts: await countGroups(kit, [user]), invitation };
  } else {
    return none;
  }
  const [settings, contactOf, blockedBy] = await Promise.all([
    kit.deps.stores.privacy.settingsOf(others),
    kit.deps.stores.contacts.holders(others, user),
    kit.deps.stores.blocks.holders(others, user),
  ]);
  const mayAdd = (other: string) => {
    const audience = settings.get(other)?.groups ?? "nobody";
    return audience === "everyone" || (audience === "contacts" && contactOf.has(other));
  };
  const inviteOnly = new Set(others.filter((other) => blockedBy.has(other) || !mayAdd(other)));
  const joining = others.filter((other) => !inviteOnly.has(other));
  if (command.t === "group.create") joining.push(user);
  return { inviteOnly, unseen: blockedBy, groupCounts: await countGroups(kit, joining) };
}

/** A refusal when any of `users` is already in the most groups a user may be in. */
function noRoomForGroups(kit: ConversationKit, facts: PlanFacts, users: readonly string[], self: string): Refusal | undefined {
  const max = kit.deps.limits.maxGroupsPerUser;
  const full = users.filter((member) => (facts.groupCounts.get(member) ?? 0) >= max);
  if (full.length === 0) return undefined;
  return refuse(
    "too_many_groups",
    full.length === 1 && full[0] === self ? `you are in ${max} groups, the most a user may be in` : `in ${max} groups already, the most a user may be in: ${full.join(", ")}`,
  );
}

/**
 * Stores an invitation for each of `users` and tells their live devices (the others hear of
 * it on their next hello). Resolves with those invited, `unseen` ones included, whom nothing
 * reaches (they blocked the adder).
 */
async function invite(kit: ConversationKit, chat: string, by: string, name: string, users: readonly string[], unseen: ReadonlySet<string>): Promise<string[]> {
  const { inviteTtlMs, maxPendingInvites } = kit.deps.limits;
  for (const invitee of users) {
    if (unseen.has(invitee)) continue;
    const createdAt = kit.deps.clock.now();
    const invitation: GroupInvite = { chat, by, name, invite: randomBytes(24).toString("base64url"), createdAt, expiresAt: createdAt + inviteTtlMs };
    await kit.deps.stores.invites.putInvite(invitee, invitation, maxPendingInvites);
    kit.deps.users.tellIfActive(invitee, { type: "group.invite", chat, by, name, invite: invitation.invite, expires: invitation.expiresAt });
  }
  return [...users];
}

/** What every membership plan reads: who asks, the chat's state, and the facts read beforehand. */
interface PlanContext {
  kit: ConversationKit;
  state: ConversationState;
  chat: string;
  user: string;
  facts: PlanFacts;
  maxMembers: number;
  /** The system message about this change gets the next seq: new members see from it on. */
  noticeSeq: number;
}

type ChangeCommand = Exclude<GroupRequestFrame, { t: "group.info" }>;
type Plan = Change | Refusal | undefined;

function plan(kit: ConversationKit, state: ConversationState, chat: string, user: string, command: ChangeCommand, facts: PlanFacts): Plan {
  const context: PlanContext = { kit, state, chat, user, facts, maxMembers: kit.deps.limits.maxGroupMembers, noticeSeq: state.nextSeq };
  switch (command.t) {
    case "group.create":
      return planCreate(context, command);
    case "group.add":
      return withGroup(context, (group) => planAdd(context, group, command));
    case "group.join":
      return withGroup(context, (group) => planJoin(context, group, command));
    case "group.remove":
      return withGroup(context, (group) => planRemove(context, group, command));
    case "group.leave":
      return withGroup(context, (group) => planLeave(context, group));
    case "group.admin":
      return withGroup(context, (group) => planAdmin(context, group, command));
  }
}

function withGroup(context: PlanContext, planFor: (group: GroupInfo) => Plan): Plan {
  return context.state.group ? planFor(context.state.group) : NO_GROUP;
}

function tooManyMembers(context: PlanContext, group: GroupInfo, adding: number): Refusal | undefined {
  if (group.members.length + adding <= context.maxMembers) return undefined;
  return refuse("limit_exceeded", `a group has at most ${context.maxMembers} members; it has ${group.members.length}`);
}

function planCreate({ kit, state, chat, user, facts, maxMembers, noticeSeq }: PlanContext, command: Extract<ChangeCommand, { t: "group.create" }>): Plan {
  if (state.group || state.lastSeq > 0) return refuse("conflict", "this group already exists");
  const members = [...new Set([user, ...command.members])].filter((member) => !facts.inviteOnly.has(member));
  const full = noRoomForGroups(kit, facts, members, user);
  if (full) return full;
  if (members.length > maxMembers) return refuse("limit_exceeded", `a group has at most ${maxMembers} members`);
  const group: GroupInfo = {
    chat,
    name: command.name,
    members,
    admins: [user],
    createdBy: user,
    createdAt: kit.deps.clock.now(),
    joined: Object.fromEntries(members.map((member) => [member, noticeSeq])),
  };
  return { group, notice: { op: "create", by: user, users: members, name: command.name }, concerns: [], invite: [...facts.inviteOnly] };
}

function planAdd(context: PlanContext, group: GroupInfo, command: Extract<ChangeCommand, { t: "group.add" }>): Plan {
  const { kit, user, facts, noticeSeq } = context;
  const refused = notAdmin(group, user);
  if (refused) return refused;
  const invited = command.users.filter((candidate) => facts.inviteOnly.has(candidate));
  const added = command.users.filter((candidate) => !group.members.includes(candidate) && !facts.inviteOnly.has(candidate));
  if (added.length === 0) return invited.length > 0 ? { invite: invited } : undefined;
  const full = tooManyMembers(context, group, added.length) ?? noRoomForGroups(kit, facts, added, user);
  if (full) return full;
  const joined = { ...group.joined };
  for (const member of added) joined[member] = noticeSeq;
  return {
    group: { ...group, members: [...group.members, ...added], joined },
    notice: { op: "add", by: user, users: added },
    concerns: [],
    invite: invited,
  };
}

function planJoin(context: PlanContext, group: GroupInfo, command: Extract<ChangeCommand, { t: "group.join" }>): Plan {
  const { kit, user, facts, noticeSeq } = context;
  if (group.members.includes(user)) return undefined;
  const invitation = facts.invitation;
  if (!invitation || invitation.invite !== command.invite) {
    return refuse("forbidden", "no such invitation to this group (or it expired)");
  }
  if (!group.admins.includes(invitation.by)) return refuse("forbidden", `${invitation.by}, who invited you, is no longer an admin of this group`);
  const full = tooManyMembers(context, group, 1) ?? noRoomForGroups(kit, facts, [user], user);
  if (full) return full;
  return {
    group: { ...group, members: [...group.members, user], joined: { ...group.joined, [user]: noticeSeq } },
    notice: { op: "join", by: user, users: [user] },
    concerns: [],
  };
}

function planRemove({ user }: PlanContext, group: GroupInfo, command: Extract<ChangeCommand, { t: "group.remove" }>): Plan {
  const refused = notAdmin(group, user);
  if (refused) return refused;
  if (command.user === user) return refuse("conflict", "use group.leave to leave a group");
  if (!group.members.includes(command.user)) return refuse("not_found", `${command.user} is not a member`);
  return { group: without(group, command.user), notice: { op: "remove", by: user, users: [command.user] }, concerns: [command.user] };
}

function planLeave({ user }: PlanContext, group: GroupInfo): Plan {
  return notMember(group, user) ?? { group: without(group, user), notice: { op: "leave", by: user, users: [user] }, concerns: [user] };
}

function planAdmin({ user }: PlanContext, group: GroupInfo, command: Extract<ChangeCommand, { t: "group.admin" }>): Plan {
  const refused = notAdmin(group, user);
  if (refused) return refused;
  if (!group.members.includes(command.user)) return refuse("not_found", `${command.user} is not a member`);
  const isAdmin = group.admins.includes(command.user);
  if (isAdmin === command.admin) return undefined;
  if (!command.admin && group.admins.length === 1) return refuse("conflict", "a group keeps at least one admin");
  const admins = command.admin ? [...group.admins, command.user] : group.admins.filter((admin) => admin !== command.user);
  return { group: { ...group, admins }, notice: { op: "admin", by: user, users: [command.user], admin: command.admin }, concerns: [] };
}

/** The group without `user`; when its last admin goes, the longest-standing member takes over. */
function without(group: GroupInfo, user: string): GroupInfo {
  const members = group.members.filter((member) => member !== user);
  let admins = group.admins.filter((admin) => admin !== user);
  if (admins.length === 0 && members.length > 0) admins = [members[0]!];
  const { [user]: _gone, ...joined } = group.joined;
  return { ...group, members, admins, joined };
}
