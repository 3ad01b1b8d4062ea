import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { directChatId, type MessageFrame, type PresenceFrame } from "../../src/protocol/frames.ts";
import { Ring } from "../../src/cluster/ring.ts";
import { chatKey, userKey } from "../../src/cluster/routing.ts";
import { ClusterBackend } from "../support/cluster.ts";
import { TestNode } from "../support/node.ts";

/**
 * A block is kept by the blocker's actor on one node and enforced by the chat's actor on
 * another: the block reaches the chat through the ring, and the sender on a third socket
 * is answered `sent` as ever.
 */
describe("blocking across a cluster", () => {
  let backend: ClusterBackend;
  const nodes: TestNode[] = [];

  before(async () => {
    backend = await ClusterBackend.start(`b${process.pid}`);
    for (let i = 0; i < 2; i += 1) {
      nodes.push(
        await TestNode.start({
          config: (c) => {
            c.nodeId = `bnode-${i}`;
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

  it("withholds a sender's messages in a chat running on another node than the blocker's actor", async () => {
    // The blocker's actor on bnode-0, their chat with the sender on bnode-1.
    const ring = Ring.of(["bnode-0", "bnode-1"]);
    const sender = "far-sender";
    const blockerId = Array.from({ length: 200 }, (_, i) => `far-blocker${i}`).find(
      (u) => ring.ownerOf(userKey(u)) === "bnode-0" && ring.ownerOf(chatKey(directChatId(u, sender))) === "bnode-1",
    )!;
    const chat = directChatId(blockerId, sender);
    const blocker = await nodes[0]!.connect(blockerId, { device: "phone" });
    const blockerLaptop = await nodes[1]!.connect(blockerId, { device: "laptop" });
    const senderClient = await nodes[1]!.connect(sender);
    // The chat's actor is running before the block: only the notice can tell it.
    await senderClient.send(blockerId, "before the block");
    await blockerLaptop.waitForMessages(1, chat);

    await blocker.block(sender);
    const withheld = await senderClient.send(blockerId, "withheld across nodes");
    assert.equal(withheld.seq, 2);
    const ping = await blocker.send(sender, "still there?");
    await blockerLaptop.waitFor<MessageFrame>((f) => f.t === "msg" && f.chat === chat && f.seq === ping.seq);
    assert.doesNotMatch(JSON.stringify([...blocker.frames, ...blockerLaptop.frames]), /withheld/);
    assert.deepEqual((await blocker.history(chat)).msgs.map((m) => m.body), ["before the block", "still there?"]);
    await Promise.all([blocker.close(), blockerLaptop.close(), senderClient.close()]);
  });

  it("hides the blocker's presence at once from a blocked watcher on another node", async () => {
    const ring = Ring.of(["bnode-0", "bnode-1"]);
    const blockerId = Array.from({ length: 50 }, (_, i) => `far-hider${i}`).find((u) => ring.ownerOf(userKey(u)) === "bnode-0")!;
    const blocker = await nodes[0]!.connect(blockerId);
    const watcher = await nodes[1]!.connect("far-watcher-b");
    await watcher.request({ t: "watch", users: [blockerId] });
    const isPresence = (f: { t: string }) => f.t === "presence" && (f as PresenceFrame).user === blockerId;
    assert.equal((await watcher.waitFor<PresenceFrame>(isPresence)).online, true);
    const mark = watcher.frames.length;
    await blocker.block("far-watcher-b");
    assert.deepEqual({ ...(await watcher.waitFor<PresenceFrame>(isPresence, 10_000, mark)) }, { t: "presence", user: blockerId, hidden: true });
    await Promise.all([blocker.close(), watcher.close()]);
  });
});
