import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { GroupInviteFrame, PresenceFrame } from "../../src/protocol/frames.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { CapturedLog, freshPhone, post } from "../accounts/helpers.ts";
import { TestNode } from "../support/node.ts";

const isCode = (code: string) => (error: unknown) => error instanceof RequestError && error.code === code;
const presenceOf = (user: string) => (f: { t: string }) => f.t === "presence" && (f as PresenceFrame).user === user;

/** The frame's keys besides `t`: what a watcher learns, and nothing more. */
function shown(frame: PresenceFrame): Record<string, unknown> {
  const { t: _t, ...rest } = frame;
  return rest;
}

const BUDGET = 30;

describe("contacts: discovery and the server-side list", () => {
  const log = new CapturedLog("warn");
  let node: TestNode;
  const open: RouterClient[] = [];
  async function connect(user: string): Promise<RouterClient> {
    const client = await node.connect(user);
    open.push(client);
    return client;
  }

  /** Signs `phone` up through the HTTP flow (the code from the log sender) and answers its user id. */
  async function signUp(phone: string): Promise<string> {
    const started = await post(node.httpUrl, "/v1/verify/start", { phone });
    assert.equal(started.status, 202);
    const line = await log.next((entry) => entry.to === phone && typeof entry.code === "string");
    const finished = await post(node.httpUrl, "/v1/verify/finish", { phone, code: line.code });
    assert.equal(finished.status, 200);
    return finished.body.user as string;
  }

  before(async () => {
    node = await TestNode.start({
      config: (c) => {
        c.signup.sender = "log";
        c.contacts.syncPerDay = BUDGET;
        c.contacts.maxContacts = 5;
      },
      overrides: { logger: log.logger },
    });
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node.stop();
  });

  it("finds which numbers are users, each answered as it was sent, counting numbers against the budget", async () => {
    const phones = [freshPhone(), freshPhone()];
    const users = [await signUp(phones[0]!), await signUp(phones[1]!)];
    const stranger = freshPhone();
    const client = await connect("syncer");
    // The second number as an address book might hold it: spaces and a 00 prefix.
    const spaced = `00${phones[1]!.slice(1, 3)} ${phones[1]!.slice(3, 7)} ${phones[1]!.slice(7)}`;
    const found = await client.syncContacts([phones[0]!, spaced, stranger, "not a number"]);
    assert.deepEqual(
      [...found.users].sort((a, b) => a.phone.localeCompare(b.phone)),
      [
        { phone: phones[0], user: users[0] },
        { phone: spaced, user: users[1] },
      ].sort((a, b) => a.phone!.localeCompare(b.phone!)),
    );
    // Three numbers looked up (the one that is not a number costs nothing).
    assert.equal(found.left, BUDGET - 3);
  });

  it("refuses more than 5,000 numbers at once, and a user past their daily budget", async () => {
    const client = await connect("scraper");
    const many = Array.from({ length: 5001 }, (_, i) => `+1555${String(i).padStart(7, "0")}`);
    await assert.rejects(client.syncContacts(many), isCode("invalid_field"));
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => `+1666${String(from + i).padStart(7, "0")}`);
    assert.equal((await client.syncContacts(batch(0, BUDGET - 1))).left, 1);
    await assert.rejects(client.syncContacts(batch(100, 2)), (error: unknown) => {
      assert.ok(error instanceof RequestError && error.code === "quota_exceeded");
      assert.match(error.message, /per day/);
      return true;
    });
    // The budget is the user's, whichever device or connection asks.
    const again = await connect("scraper");
    await assert.rejects(again.syncContacts(batch(200, 1)), isCode("quota_exceeded"));
    // Another user has their own.
    assert.equal((await (await connect("other-syncer")).syncContacts(batch(300, 1))).left, BUDGET - 1);
  });

  it("keeps the contact list server-side: add, remove, list, bounded, across reconnects", async () => {
    const client = await connect("lister");
    assert.deepEqual(await client.contacts(), []);
    assert.equal((await client.addContacts(["cara", "abe", "bo"])).count, 3);
    assert.equal((await client.addContacts(["abe", "dee"])).count, 4);
    await assert.rejects(client.addContacts(["eli", "fay"]), isCode("limit_exceeded"));
    await assert.rejects(client.request({ t: "contacts.add", users: ["not a user id"] }), isCode("invalid_field"));
    assert.equal((await client.removeContacts(["bo"])).count, 3);
    await client.close();
    const later = await connect("lister");
    assert.deepEqual(await later.contacts(), ["abe", "cara", "dee"]);
  });

  it("shows presence set to `contacts` to contacts only, and hides it at once when one is removed", async () => {
    const target = await connect("ct-target");
    await target.setPrivacy({ online: "contacts", last_seen: "contacts" });
    await target.addContacts(["ct-friend"]);
    const friend = await connect("ct-friend");
    const stranger = await connect("ct-stranger");
    await friend.request({ t: "watch", users: ["ct-target"] });
    await stranger.request({ t: "watch", users: ["ct-target"] });
    assert.deepEqual(shown(await friend.waitFor<PresenceFrame>(presenceOf("ct-target"))), { user: "ct-target", online: true });
    assert.deepEqual(shown(await stranger.waitFor<PresenceFrame>(presenceOf("ct-target"))), { user: "ct-target", hidden: true });

    const mark = friend.frames.length;
    await target.removeContacts(["ct-friend"]);
    assert.deepEqual(shown(await friend.waitFor<PresenceFrame>(presenceOf("ct-target"), 10_000, mark)), { user: "ct-target", hidden: true });
  });

  it("lets contacts add a user whose groups setting is `contacts`; others' adds become invitations", async () => {
    const invitee = await connect("cg-invitee");
    await invitee.setPrivacy({ groups: "contacts" });
    await invitee.addContacts(["cg-friend"]);
    const friend = await connect("cg-friend");
    const stranger = await connect("cg-stranger");
    const direct = await friend.group("create", { name: "Friends", members: ["cg-invitee"] });
    assert.deepEqual(direct.members, ["cg-friend", "cg-invitee"]);
    assert.equal(direct.invited, undefined);
    const refused = await stranger.group("create", { name: "Strangers", members: ["cg-invitee"] });
    assert.deepEqual(refused.members, ["cg-stranger"]);
    assert.deepEqual(refused.invited, ["cg-invitee"]);
    await invitee.waitFor<GroupInviteFrame>((f) => f.t === "group.invite" && (f as GroupInviteFrame).chat === refused.chat);
  });
});
