import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ErrorFrame, MessageFrame, ReceiptsFrame } from "../../src/protocol/frames.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { TestNode } from "../support/node.ts";

const isCode = (code: string) => (error: RequestError) => error.code === code;

function systemNotices(client: RouterClient, chat: string): Array<{ op: string; users: string[] }> {
  return client.messages.filter((m) => m.chat === chat && m.kind === "system").map((m) => JSON.parse(m.body as string));
}

function userMessages(client: RouterClient, chat: string): MessageFrame[] {
  return client.messages.filter((m) => m.chat === chat && m.kind !== "system");
}

async function connectAll(node: TestNode, users: string[]): Promise<RouterClient[]> {
  const clients: RouterClient[] = [];
  // A few at a time: hundreds of simultaneous handshakes only measure the test machine.
  for (let i = 0; i < users.length; i += 50) {
    clients.push(...(await Promise.all(users.slice(i, i + 50).map((user) => node.connect(user)))));
  }
  return clients;
}

/**
 * The same story on a node that fans out on write (threshold above the group size) and on
 * one where members pull (threshold below it): clients must not be able to tell them apart.
 */
function membershipStory(label: string, fanoutThreshold: number): void {
  describe(`group membership (${label})`, () => {
    let node: TestNode;
    before(async () => {
      node = await TestNode.start({ config: (c) => void (c.groups.fanoutThreshold = fanoutThreshold) });
    });
    after(async () => {
      await node.stop();
    });

    it("delivers in one order to online members, recovers offline ones, and follows membership", async () => {
      const p = `t${fanoutThreshold}-`;
      const [owner, online, willLeave] = await connectAll(node, [`${p}owner`, `${p}online`, `${p}leaver`]);
      const group = await owner!.group("create", { name: "Team", members: [`${p}online`, `${p}leaver`, `${p}offline`, `${p}removed`] });
      assert.match(group.chat, /^g:/);
      assert.deepEqual(group.admins, [`${p}owner`]);
      assert.deepEqual(group.members, [`${p}owner`, `${p}online`, `${p}leaver`, `${p}offline`, `${p}removed`]);

      const sent = [];
      for (let i = 1; i <= 5; i += 1) sent.push(await (i % 2 ? owner! : online!).sendToGroup(group.chat, `m${i}`));
      assert.deepEqual(sent.map((s) => s.seq), [2, 3, 4, 5, 6]);
      // Every member sees the one order; a sending device is not sent its own messages back.
      await willLeave!.waitForMessages(6, group.chat);
      assert.deepEqual(willLeave!.messages.filter((m) => m.chat === group.chat).map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(systemNotices(willLeave!, group.chat), [{ op: "create", by: `${p}owner`, users: group.members, name: "Team" }]);
      await online!.waitForMessages(4, group.chat);
      assert.deepEqual(online!.messages.filter((m) => m.chat === group.chat).map((m) => m.seq), [1, 2, 4, 6]);

      // Only admins change membership.
      await assert.rejects(online!.group("add", { chat: group.chat, users: [`${p}late`] }), isCode("forbidden"));
      await assert.rejects(online!.group("remove", { chat: group.chat, user: `${p}removed` }), isCode("forbidden"));

      await owner!.group("remove", { chat: group.chat, user: `${p}removed` });
      const left = await willLeave!.group("leave", { chat: group.chat });
      assert.equal(left.members.includes(`${p}leaver`), false);
      const added = await owner!.group("add", { chat: group.chat, users: [`${p}late`] });
      assert.deepEqual(added.members, [`${p}owner`, `${p}online`, `${p}offline`, `${p}late`]);
      await owner!.sendToGroup(group.chat, "after changes");
      await assert.rejects(willLeave!.sendToGroup(group.chat, "still here?"), isCode("forbidden"));

      // The leaver saw its own leaving and nothing after.
      const leaverNotices = await willLeave!.waitForMessages(7, group.chat);
      assert.deepEqual(systemNotices(willLeave!, group.chat).map((n) => n.op), ["create", "remove", "leave"]);
      assert.equal(leaverNotices.some((m) => m.body === "after changes"), false);

      // Offline members recover everything they may see, in order, on connect.
      const offline = await node.connect(`${p}offline`);
      assert.deepEqual(userMessages(offline, group.chat).map((m) => m.body), ["m1", "m2", "m3", "m4", "m5", "after changes"]);
      assert.deepEqual(systemNotices(offline, group.chat).map((n) => n.op), ["create", "remove", "leave", "add"]);
      const seqs = offline.messages.filter((m) => m.chat === group.chat).map((m) => m.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));

      // The removed member learns of the removal and gets nothing sent after it.
      const removed = await node.connect(`${p}removed`);
      assert.deepEqual(systemNotices(removed, group.chat).map((n) => n.op), ["remove"]);
      assert.equal(userMessages(removed, group.chat).length, 0);
      await assert.rejects(removed.history(group.chat), isCode("forbidden"));

      // A member added later sees from the notice that added them, in history too.
      const late = await node.connect(`${p}late`);
      assert.deepEqual(late.messages.filter((m) => m.chat === group.chat).map((m) => m.body).slice(1), ["after changes"]);
      assert.deepEqual(systemNotices(late, group.chat).map((n) => n.op), ["add"]);
      const lateHistory = await late.history(group.chat);
      assert.deepEqual(lateHistory.msgs.map((m) => m.kind), ["system", "text"]);
      assert.equal(lateHistory.more, false);

      const info = await late.group("info", { chat: group.chat });
      assert.deepEqual(info.admins, [`${p}owner`]);
      await Promise.all([owner, online, willLeave, offline, removed, late].map((c) => c!.close()));
    });

    it("keeps a group with an admin, enforces the member limit, and refuses unknown groups", async () => {
      const p = `t${fanoutThreshold}-adm-`;
      const [founder, second] = await connectAll(node, [`${p}founder`, `${p}second`]);
      const group = await founder!.group("create", { name: "Admins", members: [`${p}second`, `${p}third`] });
      await assert.rejects(founder!.group("admin", { chat: group.chat, user: `${p}founder`, admin: false }), isCode("conflict"));
      const promoted = await founder!.group("admin", { chat: group.chat, user: `${p}third`, admin: true });
      assert.deepEqual(promoted.admins, [`${p}founder`, `${p}third`]);
      await founder!.group("leave", { chat: group.chat });
      // With the founder gone, the remaining admin runs the group.
      const after = await second!.group("info", { chat: group.chat });
      assert.deepEqual(after.admins, [`${p}third`]);
      await second!.group("leave", { chat: group.chat });
      const alone = await (await node.connect(`${p}third`)).group("info", { chat: group.chat });
      assert.deepEqual(alone.members, [`${p}third`]);

      const tooMany = Array.from({ length: 500 }, (_, i) => `${p}m${i}`);
      await assert.rejects(founder!.group("create", { name: "Big", members: tooMany }), (e: RequestError) => {
        return e.code === "limit_exceeded" && /500/.test(e.message);
      });
      const big = await founder!.group("create", { name: "Big", members: tooMany.slice(0, 499) });
      assert.equal(big.members.length, 500);
      await assert.rejects(founder!.group("add", { chat: big.chat, users: [`${p}one-more`] }), isCode("limit_exceeded"));
      await assert.rejects(founder!.group("info", { chat: "g:doesnotexist000" }), isCode("not_found"));
      await assert.rejects(founder!.sendToGroup("g:doesnotexist000", "hello?"), isCode("not_found"));
      founder!.sendRaw({ t: "send", r: 99, cid: "x", to: `${p}second`, group: big.chat, body: "both" });
      const err = await founder!.waitFor<ErrorFrame>((f) => f.t === "err" && f.r === 99);
      assert.equal(err.code, "invalid_field");
      await Promise.all([founder!.close(), second!.close()]);
    });

    it("counts who delivered and read a message, without broadcasting receipts", async () => {
      const p = `t${fanoutThreshold}-rc-`;
      const [author, reader, idle] = await connectAll(node, [`${p}author`, `${p}reader`, `${p}idle`]);
      const group = await author!.group("create", { name: "Receipts", members: [`${p}reader`, `${p}idle`, `${p}away`] });
      const sent = await author!.sendToGroup(group.chat, "did you read this?");
      await reader!.waitForMessages(2, group.chat);
      await idle!.waitForMessages(2, group.chat);
      reader!.read(group.chat, sent.seq);
      // Poll the count through the protocol: it is eventually 2 delivered, 1 read.
      let counts: ReceiptsFrame;
      do {
        counts = (await author!.request({ t: "receipts", chat: group.chat, seq: sent.seq })) as ReceiptsFrame;
      } while (counts.delivered < 2 || counts.read < 1);
      assert.deepEqual({ members: counts.members, delivered: counts.delivered, read: counts.read }, { members: 3, delivered: 2, read: 1 });
      assert.equal(author!.frames.filter((f) => f.t === "receipt").length, 0);
      await Promise.all([author, reader, idle].map((c) => c!.close()));
    });
  });
}

membershipStory("fan-out on write", 50);
membershipStory("members pull", 2);

describe("a 500-member group", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  it("reaches every online member once and in order, and offline members on reconnect", async () => {
    const users = Array.from({ length: 500 }, (_, i) => `big${i}`);
    const onlineUsers = users.slice(0, 450);
    const offlineUsers = users.slice(450);
    const online = await connectAll(node, onlineUsers);
    const group = await online[0]!.group("create", { name: "Everyone", members: users.slice(1) });
    assert.equal(group.members.length, 500);
    const bodies = ["first", "second", "third"];
    for (const body of bodies) await online[1]!.sendToGroup(group.chat, body);
    await Promise.all(
      online.map(async (client, i) => {
        await client.waitForMessages(i === 1 ? 1 : 4, group.chat, 30_000);
        const received = userMessages(client, group.chat).map((m) => m.body);
        // The sender's own device does not get its messages back.
        assert.deepEqual(received, i === 1 ? [] : bodies, `member ${i}`);
        const positions = client.frames.filter((f): f is MessageFrame => f.t === "msg" && f.chat === group.chat).map((m) => m.seq);
        assert.deepEqual(positions, i === 1 ? [1] : [1, 2, 3, 4], `member ${i} got each message once, in order`);
      }),
    );
    await Promise.all(online.map((client) => client.close()));
    const offline = await connectAll(node, offlineUsers);
    for (const client of offline) {
      assert.deepEqual(userMessages(client, group.chat).map((m) => m.body), bodies);
      assert.equal(client.synced?.recovered, true);
    }
    await Promise.all(offline.map((client) => client.close()));
  });
});

describe("a member added later", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  it("hears nothing about messages from before joining, and may not touch them", async () => {
    const [author, early, late] = await connectAll(node, ["vis-author", "vis-early", "vis-late"]);
    const group = await author!.group("create", { name: "Visibility", members: ["vis-early"] });
    const old = await author!.sendToGroup(group.chat, "before you");
    await author!.group("add", { chat: group.chat, users: ["vis-late"] });
    await late!.waitForMessages(1, group.chat);
    // Live too, a member sees the chat from the notice that added them on.
    assert.deepEqual(late!.messages.filter((m) => m.chat === group.chat).map((m) => m.kind), ["system"]);
    const joinedAt = late!.messages.find((m) => m.chat === group.chat)!.seq;

    // Events about the old message reach those who saw it, and only them.
    const edit = await author!.operate("edit", group.chat, old.seq, { body: "before you (edited)" });
    const react = await early!.operate("react", group.chat, old.seq, { emoji: "+1" });
    const fresh = await author!.sendToGroup(group.chat, "after you");
    await early!.waitFor((f) => f.t === "edit" && f.chat === group.chat);
    await late!.waitForMessages(2, group.chat);
    assert.deepEqual(late!.events.filter((e) => e.chat === group.chat), []);
    // Their positions come as `skip`, so the late member's acks still move past them.
    const skipped = late!.frames.filter((f) => f.t === "skip" && f.chat === group.chat).map((f) => (f as { pos: number }).pos);
    assert.deepEqual(skipped, [edit.seq, react.seq]);

    // Operations and receipts on messages from before joining are refused alike, whether
    // the message exists, was deleted, or never was.
    for (const attempt of [
      () => late!.operate("react", group.chat, old.seq, { emoji: "?" }),
      () => late!.operate("edit", group.chat, old.seq, { body: "mine now" }),
      () => late!.operate("delete", group.chat, old.seq),
      () => late!.operate("react", group.chat, joinedAt - 1, { emoji: "?" }),
      () => late!.request({ t: "receipts", chat: group.chat, seq: old.seq }),
    ]) {
      await assert.rejects(attempt(), isCode("forbidden"));
    }
    await author!.operate("delete", group.chat, old.seq);
    await assert.rejects(late!.operate("react", group.chat, old.seq, { emoji: "?" }), isCode("forbidden"));
    // What came after joining is theirs to react to and count.
    await late!.operate("react", group.chat, fresh.seq, { emoji: "ok" });
    const counts = (await late!.request({ t: "receipts", chat: group.chat, seq: fresh.seq })) as ReceiptsFrame;
    assert.equal(counts.members, 2);

    // Nor on replay: another device of the late member connecting gets only its own window.
    const tablet = await node.connect("vis-late", { device: "tablet" });
    assert.deepEqual(tablet.messages.filter((m) => m.chat === group.chat).map((m) => m.body), [JSON.stringify({ op: "add", by: "vis-author", users: ["vis-late"] }), "after you"]);
    assert.deepEqual(tablet.events.filter((e) => e.chat === group.chat).map((e) => [e.t, e.seq]), [["react", fresh.seq]]);
    assert.ok(tablet.frames.some((f) => f.t === "skip" && f.chat === group.chat && f.pos === edit.seq));

    // Leaving and coming back: the latest join counts.
    await late!.group("leave", { chat: group.chat });
    await author!.group("add", { chat: group.chat, users: ["vis-late"] });
    await assert.rejects(late!.operate("react", group.chat, fresh.seq, { emoji: "again" }), isCode("forbidden"));
    await Promise.all([author, early, late, tablet].map((c) => c!.close()));
  });
});
