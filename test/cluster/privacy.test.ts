import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { GroupInviteFrame, PresenceFrame } from "../../src/protocol/frames.ts";
import { Ring } from "../../src/cluster/ring.ts";
import { userKey } from "../../src/cluster/routing.ts";
import { ClusterBackend } from "../support/cluster.ts";
import { TestNode } from "../support/node.ts";

const presenceOf = (user: string) => (f: { t: string }) => f.t === "presence" && (f as PresenceFrame).user === user;

/**
 * Privacy settings are kept by the user's actor on one node and enforced where the action
 * happens: presence on the watcher's node, group adds on the group's.
 */
describe("privacy across a cluster", () => {
  let backend: ClusterBackend;
  const nodes: TestNode[] = [];

  before(async () => {
    backend = await ClusterBackend.start(`p${process.pid}`);
    for (let i = 0; i < 2; i += 1) {
      nodes.push(
        await TestNode.start({
          config: (c) => {
            c.nodeId = `pnode-${i}`;
            c.storage = backend.storage();
            c.cluster.nats = backend.nats.url;
            c.cluster.subjectPrefix = backend.prefix;
            c.cluster.heartbeatMs = 200;
          },
        }),
      );
    }
    await Promise.all(nodes.map((node) => node.node.cluster!.whenMembers(2)));
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await backend.stop();
  });

  it("hides presence from a watcher on another node, at once when the setting changes", async () => {
    // The target's actor on one node, the watcher (and its hub) on the other.
    const ring = Ring.of(["pnode-0", "pnode-1"]);
    const target = Array.from({ length: 50 }, (_, i) => `far${i}`).find((u) => ring.ownerOf(userKey(u)) === "pnode-1")!;
    const targetClient = await nodes[1]!.connect(target);
    const watcher = await nodes[0]!.connect("far-watcher");
    await watcher.request({ t: "watch", users: [target] });
    assert.equal((await watcher.waitFor<PresenceFrame>(presenceOf(target))).online, true);

    const mark = watcher.frames.length;
    await targetClient.setPrivacy({ online: "nobody", last_seen: "nobody" });
    const hidden = await watcher.waitFor<PresenceFrame>(presenceOf(target), 10_000, mark);
    assert.deepEqual({ ...hidden }, { t: "presence", user: target, hidden: true });
    // A new watch on that node reads the setting from the shared store.
    const other = await nodes[0]!.connect("far-watcher2");
    await other.request({ t: "watch", users: [target] });
    assert.deepEqual({ ...(await other.waitFor<PresenceFrame>(presenceOf(target))) }, { t: "presence", user: target, hidden: true });
    await Promise.all([targetClient.close(), watcher.close(), other.close()]);
  });

  it("turns an add on another node into an invitation the invitee gets live", async () => {
    const invitee = await nodes[0]!.connect("far-invitee");
    await invitee.setPrivacy({ groups: "nobody" });
    const admin = await nodes[1]!.connect("far-admin");
    const group = await admin.group("create", { name: "Far", members: ["far-invitee"] });
    assert.deepEqual(group.members, ["far-admin"]);
    assert.deepEqual(group.invited, ["far-invitee"]);
    const invite = await invitee.waitFor<GroupInviteFrame>((f) => f.t === "group.invite" && (f as GroupInviteFrame).chat === group.chat);
    const joined = await invitee.joinGroup(group.chat, invite.invite);
    assert.deepEqual(joined.members, ["far-admin", "far-invitee"]);
    await Promise.all([invitee.close(), admin.close()]);
  });
});
