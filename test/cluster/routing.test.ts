import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { directChatId, type PresenceFrame } from "../../src/protocol/frames.ts";
import type { RouterClient } from "../../sdk/client.ts";
import { Ring } from "../../src/cluster/ring.ts";
import { userKey } from "../../src/cluster/routing.ts";
import { ClusterBackend } from "../support/cluster.ts";
import { TestNode } from "../support/node.ts";

/**
 * Three nodes on one NATS, one CQL keyspace and one Redis: every user and chat actor lives on
 * the node the ring names, whichever node a client reached.
 */
describe("cluster routing over NATS", () => {
  let backend: ClusterBackend;
  const nodes: TestNode[] = [];

  async function startNode(i: number): Promise<TestNode> {
    const node = await TestNode.start({
      config: (c) => {
        c.nodeId = `node-${i}`;
        c.storage = backend.storage();
        c.cluster.nats = backend.nats.url;
        c.cluster.subjectPrefix = backend.prefix;
        c.cluster.heartbeatMs = 200;
      },
    });
    nodes.push(node);
    return node;
  }

  before(async () => {
    backend = await ClusterBackend.start(`t${process.pid}`);
    for (let i = 0; i < 3; i += 1) await startNode(i);
    await Promise.all(nodes.map((node) => node.node.cluster!.whenMembers(3)));
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await backend.stop();
  });

  it("carries direct messages, receipts and history between users on different nodes", async () => {
    const clients: RouterClient[] = [];
    // Many pairs, so the ring puts users and chats on every node, local and remote.
    for (let i = 0; i < 24; i += 1) {
      clients.push(await nodes[i % 3]!.connect(`ca${i}`), await nodes[(i + 1) % 3]!.connect(`cb${i}`));
    }
    await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const [a, b] = [clients[2 * i]!, clients[2 * i + 1]!];
        const chat = directChatId(`ca${i}`, `cb${i}`);
        const sent = [];
        for (let n = 0; n < 20; n += 1) sent.push(await a.send(`cb${i}`, `p${i}-${n}`));
        assert.deepEqual(sent.map((s) => s.seq), Array.from({ length: 20 }, (_, n) => n + 1));
        const received = await b.waitForMessages(20, chat);
        assert.deepEqual(received.map((m) => m.body), Array.from({ length: 20 }, (_, n) => `p${i}-${n}`));
        await a.waitFor((f) => f.t === "receipt" && f.chat === chat && f.delivered === 20);
        const page = await b.history(chat, undefined, 5);
        assert.deepEqual(page.msgs.map((m) => m.seq), [16, 17, 18, 19, 20]);
      }),
    );
    // The actors really are spread: every node hosts some users and some chats.
    for (const node of nodes) {
      assert.ok((await node.node.metrics.value("router_user_actors")) > 0, `${node.config.nodeId} hosts users`);
      assert.ok((await node.node.metrics.value("router_conversation_actors")) > 0, `${node.config.nodeId} hosts chats`);
    }
    await Promise.all(clients.map((client) => client.close()));
  });

  it("replays to a device that reconnects through another node", async () => {
    const sender = await nodes[0]!.connect("roamer-sender");
    const first = await nodes[1]!.connect("roamer");
    await sender.send("roamer", "one");
    await first.waitForMessages(1);
    await first.close();
    await sender.send("roamer", "two");
    const again = await nodes[2]!.connect("roamer");
    assert.deepEqual(again.messages.map((m) => m.body), ["two"]);
    await Promise.all([sender.close(), again.close()]);
  });

  it("carries groups and presence across nodes", async () => {
    const members = await Promise.all(Array.from({ length: 6 }, (_, i) => nodes[i % 3]!.connect(`gm${i}`)));
    const group = await members[0]!.group("create", { name: "spread", members: members.slice(1).map((_, i) => `gm${i + 1}`) });
    for (let n = 0; n < 5; n += 1) await members[n % 6]!.sendToGroup(group.chat, `g${n}`);
    for (const [i, member] of members.entries()) {
      const expected = ["g0", "g1", "g2", "g3", "g4"].filter((_, n) => n % 6 !== i);
      const received = await member.waitForMessages(1 + expected.length, group.chat);
      assert.deepEqual(received.filter((m) => m.kind !== "system").map((m) => m.body), expected);
    }

    const watcher = members[0]!;
    await watcher.request({ t: "watch", users: ["faraway"] });
    await watcher.waitFor((f) => f.t === "presence" && (f as PresenceFrame).user === "faraway");
    const faraway = await nodes[2]!.connect("faraway");
    await watcher.waitFor((f) => f.t === "presence" && (f as PresenceFrame).user === "faraway" && (f as PresenceFrame).online === true);
    await Promise.all([...members, faraway].map((client) => client.close()));
  });

  it("tells a watcher on a node that joined later who is online", async () => {
    // A user whose actor stays where it is when the fourth node joins, so the join does not
    // move (and reconnect) it: what the late node must learn is that it is online.
    const [three, four] = [Ring.of(["node-0", "node-1", "node-2"]), Ring.of(["node-0", "node-1", "node-2", "node-3"])];
    const user = Array.from({ length: 50 }, (_, i) => `early${i}`).find((u) => three.ownerOf(userKey(u)) === four.ownerOf(userKey(u)))!;
    const early = await nodes[0]!.connect(user);
    const late = await startNode(3);
    await Promise.all(nodes.map((node) => node.node.cluster!.whenMembers(4)));

    const watcher = await late.connect("late-watcher");
    watcher.sendRaw({ t: "watch", users: [user] });
    const now = await watcher.waitFor<PresenceFrame>((f) => f.t === "presence" && (f as PresenceFrame).user === user);
    assert.equal(now.online, true, "online, although the late node never heard it announced");
    await early.close();
    const left = await watcher.waitFor<PresenceFrame>((f) => f.t === "presence" && (f as PresenceFrame).user === user && !(f as PresenceFrame).online);
    assert.ok(left.last_seen !== undefined);
    await watcher.close();
  });
});
