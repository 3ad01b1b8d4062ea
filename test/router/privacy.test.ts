import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { GroupInviteFrame, PresenceFrame } from "../../src/protocol/frames.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { dropKeyspace, keyspaceFor, testBackend } from "../support/backend.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { TestNode, tempDir } from "../support/node.ts";

const isCode = (code: string) => (error: unknown) => error instanceof RequestError && error.code === code;
const presenceOf = (user: string) => (f: { t: string }) => f.t === "presence" && (f as PresenceFrame).user === user;
const inviteTo = (chat: string) => (f: { t: string }) => f.t === "group.invite" && (f as GroupInviteFrame).chat === chat;

/** The frame's keys besides `t`: what a watcher learns, and nothing more. */
function shown(frame: PresenceFrame): Record<string, unknown> {
  const { t: _t, ...rest } = frame;
  return rest;
}

describe("privacy settings", () => {
  const dataDir = tempDir();
  let node: TestNode | undefined;
  after(async () => {
    await node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (testBackend() === "cql") await dropKeyspace(keyspaceFor(dataDir));
  });

  it("are validated, answered in full, and kept across reconnects and restarts", async () => {
    node = await TestNode.start({ dataDir });
    const user = await node.connect("priv");
    assert.deepEqual({ ...(await user.getPrivacy()), r: 0 }, { t: "privacy", r: 0, last_seen: "everyone", online: "everyone", groups: "everyone", profile: "everyone" });
    await assert.rejects(user.request({ t: "privacy.set", online: "friends" }), isCode("invalid_field"));
    await assert.rejects(user.request({ t: "privacy.set", last_seen: true }), isCode("invalid_field"));
    const answer = await user.setPrivacy({ last_seen: "nobody", groups: "nobody" });
    assert.deepEqual({ ...answer, r: 0 }, { t: "privacy", r: 0, last_seen: "nobody", online: "everyone", groups: "nobody", profile: "everyone" });
    await user.close();

    const again = await node.connect("priv");
    assert.equal((await again.getPrivacy()).groups, "nobody");
    await again.close();
    await node.stop();

    node = await TestNode.start({ dataDir });
    const later = await node.connect("priv");
    const kept = await later.getPrivacy();
    assert.deepEqual([kept.last_seen, kept.online, kept.groups], ["nobody", "everyone", "nobody"]);
    await later.close();
  });
});

describe("presence as the user chose", () => {
  let node: TestNode;
  const open: RouterClient[] = [];
  async function connect(user: string, device?: string): Promise<RouterClient> {
    const client = await node.connect(user, device ? { device } : {});
    open.push(client);
    return client;
  }
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node.stop();
  });

  it("hides online and last seen from watchers, existing ones included, and shows them again", async () => {
    const target = await connect("shy");
    const watcher = await connect("curious");
    await watcher.request({ t: "watch", users: ["shy"] });
    assert.deepEqual(shown(await watcher.waitFor<PresenceFrame>(presenceOf("shy"))), { user: "shy", online: true });

    let mark = watcher.frames.length;
    await target.setPrivacy({ online: "nobody", last_seen: "nobody" });
    // The watcher already watching learns at once that there is nothing to see.
    assert.deepEqual(shown(await watcher.waitFor<PresenceFrame>(presenceOf("shy"), 10_000, mark)), { user: "shy", hidden: true });
    // A new watch gets the same, and no error.
    const late = await connect("late");
    await late.request({ t: "watch", users: ["shy"] });
    assert.deepEqual(shown(await late.waitFor<PresenceFrame>(presenceOf("shy"))), { user: "shy", hidden: true });

    // Last seen shown, online hidden: going offline shows a new last seen and never `online`.
    await target.setPrivacy({ last_seen: "everyone" });
    const laptop = await connect("shy", "laptop");
    mark = watcher.frames.length;
    const leftAt = Date.now();
    await target.close();
    await laptop.close();
    const gone = await watcher.waitFor<PresenceFrame>((f) => presenceOf("shy")(f) && (f as PresenceFrame).last_seen !== undefined, 10_000, mark);
    assert.equal(gone.online, undefined);
    assert.equal(gone.hidden, true);
    assert.ok(Math.abs(gone.last_seen! - leftAt) < 5000);
    // Coming back online shows nothing to watchers of a user hiding it.
    const back = await connect("shy");
    const ping = await watcher.request({ t: "ping" });
    assert.equal(ping.t, "pong");
    await back.setPrivacy({ online: "everyone" });
    const visible = await watcher.waitFor<PresenceFrame>((f) => presenceOf("shy")(f) && (f as PresenceFrame).online === true, 10_000, mark);
    assert.equal(visible.hidden, undefined);
    const seen = watcher.frames.slice(mark).filter(presenceOf("shy")) as PresenceFrame[];
    assert.ok(seen.slice(0, seen.indexOf(visible)).every((f) => f.online === undefined), "online status leaked while hidden");
  });

  it("with last seen hidden, shows online and offline but never when", async () => {
    const target = await connect("quiet");
    await target.setPrivacy({ last_seen: "nobody" });
    const watcher = await connect("looker");
    await watcher.request({ t: "watch", users: ["quiet"] });
    assert.deepEqual(shown(await watcher.waitFor<PresenceFrame>(presenceOf("quiet"))), { user: "quiet", online: true, hidden: true });
    const mark = watcher.frames.length;
    await target.close();
    const offline = await watcher.waitFor<PresenceFrame>((f) => presenceOf("quiet")(f) && (f as PresenceFrame).online === false, 10_000, mark);
    assert.deepEqual(shown(offline), { user: "quiet", online: false, hidden: true });
    const fresh = await connect("fresh");
    await fresh.request({ t: "watch", users: ["quiet"] });
    assert.deepEqual(shown(await fresh.waitFor<PresenceFrame>(presenceOf("quiet"))), { user: "quiet", online: false, hidden: true });
  });
});

describe("group adds as the user chose", () => {
  let node: TestNode;
  const open: RouterClient[] = [];
  async function connect(user: string): Promise<RouterClient> {
    const client = await node.connect(user);
    open.push(client);
    return client;
  }
  before(async () => {
    node = await TestNode.start({ config: (c) => void (c.groups.maxPerUser = 3) });
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node.stop();
  });

  it("turns an add into an invitation, delivered live and on hello, that group.join accepts", async () => {
    const carol = await connect("carol");
    await carol.setPrivacy({ groups: "nobody" });
    const alice = await connect("alice");
    const bob = await connect("bob");
    const group = await alice.group("create", { name: "Book club", members: ["bob"] });

    const added = await alice.group("add", { chat: group.chat, users: ["carol", "dave"] });
    assert.deepEqual(added.members, ["alice", "bob", "dave"]);
    assert.deepEqual(added.invited, ["carol"]);
    const live = await carol.waitFor<GroupInviteFrame>(inviteTo(group.chat));
    assert.deepEqual({ chat: live.chat, by: live.by, name: live.name }, { chat: group.chat, by: "alice", name: "Book club" });
    assert.match(live.invite, /^[A-Za-z0-9_-]{32}$/);
    assert.ok(live.expires > Date.now());
    // Not a member: nothing of the group reaches her, and she may not write to it.
    await assert.rejects(carol.sendToGroup(group.chat, "hi"), isCode("forbidden"));

    // Offline, the invitation waits: the next hello lists it again.
    await carol.close();
    const carolAgain = await connect("carol");
    const replayed = await carolAgain.waitFor<GroupInviteFrame>(inviteTo(group.chat));
    assert.equal(replayed.invite, live.invite);
    const synced = carolAgain.frames.findIndex((f) => f.t === "synced");
    assert.ok(carolAgain.frames.indexOf(replayed) < synced || synced === -1);

    // A made-up invitation, or another group's, is refused.
    const forged = randomBytes(24).toString("base64url");
    await assert.rejects(carolAgain.joinGroup(group.chat, forged), isCode("forbidden"));
    const other = await alice.group("create", { name: "Other", members: [] });
    await assert.rejects(carolAgain.joinGroup(other.chat, live.invite), isCode("forbidden"));
    // Someone else cannot use her invitation.
    const erin = await connect("erin");
    await assert.rejects(erin.joinGroup(group.chat, live.invite), isCode("forbidden"));

    const joined = await carolAgain.joinGroup(group.chat, live.invite);
    assert.deepEqual(joined.members, ["alice", "bob", "dave", "carol"]);
    const notice = await bob.waitFor((f) => f.t === "msg" && f.chat === group.chat && f.kind === "system" && String(f.body).includes('"join"'));
    assert.deepEqual(JSON.parse((notice as { body: string }).body), { op: "join", by: "carol", users: ["carol"] });
    await carolAgain.waitForMessages(1, group.chat);
    // An invitation is used once: it is gone from the next hello.
    await carolAgain.close();
    const third = await connect("carol");
    await third.waitFor((f) => f.t === "synced");
    assert.equal(third.frames.filter(inviteTo(group.chat)).length, 0);

    // group.create invites her too, rather than adding her.
    const created = await bob.group("create", { name: "Bob's", members: ["carol", "alice"] });
    assert.deepEqual(created.members, ["bob", "alice"]);
    assert.deepEqual(created.invited, ["carol"]);
    await third.waitFor(inviteTo(created.chat));
  });

  it("refuses a group too many, on create, add and join", async () => {
    const full = await connect("busy");
    for (let i = 0; i < 3; i += 1) await full.group("create", { name: `g${i}`, members: [] });
    await assert.rejects(full.group("create", { name: "one more", members: [] }), (error: unknown) => {
      assert.ok(error instanceof RequestError && error.code === "too_many_groups");
      assert.match(error.message, /3 groups/);
      return true;
    });
    const admin = await connect("organiser");
    const group = await admin.group("create", { name: "Party", members: [] });
    await assert.rejects(admin.group("add", { chat: group.chat, users: ["busy"] }), isCode("too_many_groups"));
    // Nothing of the refused add happened.
    assert.deepEqual((await admin.group("info", { chat: group.chat })).members, ["organiser"]);
    // Nor can she join by invitation while full.
    await full.setPrivacy({ groups: "nobody" });
    const invited = await admin.group("add", { chat: group.chat, users: ["busy"] });
    assert.deepEqual(invited.invited, ["busy"]);
    const invite = await full.waitFor<GroupInviteFrame>(inviteTo(group.chat));
    await assert.rejects(full.joinGroup(group.chat, invite.invite), isCode("too_many_groups"));
  });
});

describe("group invitations expire", () => {
  let node: TestNode;
  // Invitations expire on the node's clock, which the test moves on.
  const clock = new ManualClock();
  before(async () => {
    node = await TestNode.start({ config: (c) => void (c.groups.inviteTtlMs = 60_000), overrides: { clock } });
  });
  after(async () => {
    await node.stop();
  });

  it("and an expired one is refused", async () => {
    const invitee = await node.connect("late-invitee");
    await invitee.setPrivacy({ groups: "nobody" });
    const admin = await node.connect("hasty-admin");
    const group = await admin.group("create", { name: "Soon gone", members: ["late-invitee"] });
    const invite = await invitee.waitFor<GroupInviteFrame>(inviteTo(group.chat));
    assert.equal(invite.expires, clock.now() + 60_000);
    // The invitation ends at `expires`, on the node's clock: move it there.
    clock.advance(invite.expires - clock.now());
    await assert.rejects(invitee.joinGroup(group.chat, invite.invite), isCode("forbidden"));
    await Promise.all([invitee.close(), admin.close()]);
  });
});
