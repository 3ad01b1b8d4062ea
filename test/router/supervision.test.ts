import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { directChatId } from "../../src/protocol/frames.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { RequestError } from "../../sdk/client.ts";
import { TestNode, tempDir } from "../support/node.ts";

/** Real LMDB stores with a bug planted: some requests make the handling actor throw. */
function storesWithPlantedBugs(path: string): Stores {
  const real = openLmdbStores({ path });
  return {
    ...real,
    close: () => real.close(),
    messages: {
      append: (batch) => real.messages.append(batch),
      lastSeq: (chat) => real.messages.lastSeq(chat),
      findByCid: async (chat, from, cid) => {
        if (cid.startsWith("crash-")) throw new Error(`planted bug for ${cid}`);
        return real.messages.findByCid(chat, from, cid);
      },
      readAfter: (chat, after, limit) => real.messages.readAfter(chat, after, limit),
      readBefore: (chat, beforeSeq, limit) => real.messages.readBefore(chat, beforeSeq, limit),
      inbox: async (user) => {
        if (user.startsWith("crashy")) throw new Error(`planted bug for ${user}`);
        return real.messages.inbox(user);
      },
    },
  };
}

describe("supervision", () => {
  const dir = tempDir();
  let node: TestNode;
  before(async () => {
    node = await TestNode.start({
      overrides: { stores: storesWithPlantedBugs(join(dir, "lmdb")) },
      config: (c) => {
        c.actors.maxRestarts = 3;
        c.actors.withinMs = 60_000;
      },
    });
  });
  after(async () => {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("restarts a crashed conversation with its state reloaded while other chats keep serving", async () => {
    const alice = await node.connect("alice");
    const bob = await node.connect("bob");
    const carol = await node.connect("carol");
    await alice.send("bob", "before", { cid: "ok-1" });
    const restartsBefore = (await node.node.metrics.value("router_actor_restarts_total", { kind: "conversations" }));

    // Crash alice-bob while carol-bob is busy: carol's messages all go through meanwhile.
    const carolSends = Promise.all(Array.from({ length: 50 }, (_, i) => carol.send("bob", `c${i}`)));
    await assert.rejects(alice.send("bob", "boom", { cid: "crash-1" }), (e: RequestError) => e.code === "internal");
    assert.equal((await carolSends).at(-1)?.seq, 50);
    assert.equal((await node.node.metrics.value("router_actor_restarts_total", { kind: "conversations" })), restartsBefore + 1);

    // The restarted actor reloaded its seq from the store: numbering continues without a gap.
    const after = await alice.send("bob", "after", { cid: "ok-2" });
    assert.equal(after.seq, 2);
    const received = await bob.waitForMessages(2, directChatId("alice", "bob"));
    assert.deepEqual(received.map((m) => m.body), ["before", "after"]);
    await Promise.all([alice.close(), bob.close(), carol.close()]);
  });

  it("escalates past the restart intensity, and the chat comes back fresh on its next message", async () => {
    const dave = await node.connect("dave");
    for (let i = 0; i < 4; i += 1) {
      await assert.rejects(dave.send("erin", "boom", { cid: `crash-e${i}` }), (e: RequestError) => e.code === "internal");
    }
    assert.equal((await node.node.metrics.value("router_actor_escalations_total", { kind: "conversations" })), 1);
    const sent = await dave.send("erin", "still here");
    assert.equal(sent.seq, 1);
    assert.equal((await dave.request({ t: "ping" })).t, "pong");
    await dave.close();
  });

  it("has a user's devices reconnect when its actor crashes, without touching other users", async () => {
    const bystander = await node.connect("frank");
    await assert.rejects(node.connect("crashy"), /internal|closed/);
    assert.equal((await node.node.metrics.value("router_actor_restarts_total", { kind: "users" })), 1);
    const sent = await bystander.send("grace", "unaffected");
    assert.equal(sent.seq, 1);
    assert.equal(bystander.closed, undefined);
    await bystander.close();
  });
});
