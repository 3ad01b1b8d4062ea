import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { directChatId } from "../../src/protocol/frames.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import { SeqConflictError } from "../../src/storage/errors.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { ClusterBackend } from "../support/cluster.ts";
import { TestNode, tempDir } from "../support/node.ts";

interface SharedStore {
  name: string;
  /** The shared stores, and a way to start a node on them. */
  open(): Promise<{ stores: Stores; startNode(): Promise<TestNode>; close(): Promise<void> }>;
}

const SHARED_STORES: SharedStore[] = [
  {
    name: "CQL + Redis",
    async open() {
      const backend = await ClusterBackend.start(`tw${process.pid}`);
      return {
        stores: backend.stores,
        startNode: () => TestNode.start({ config: (c) => void (c.storage = backend.storage()) }),
        close: () => backend.stop(),
      };
    },
  },
  {
    name: "LMDB",
    async open() {
      const dir = tempDir();
      const stores = openLmdbStores({ path: join(dir, "lmdb") });
      return {
        stores,
        startNode: () => TestNode.start({ overrides: { stores: { ...stores, close: async () => {} } } }),
        close: async () => {
          await stores.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

/**
 * Two nodes sharing one store, each alone (no NATS), so each believes it owns every chat:
 * the worst case of a ring change. Fencing in the store must keep them from assigning a
 * seq twice, and every `sent` must name the message really stored at that seq.
 */
for (const backend of SHARED_STORES) describe(`two nodes that both believe they own a chat (${backend.name})`, () => {
  let shared: Stores;
  let closeShared: () => Promise<void>;
  const nodes: TestNode[] = [];
  before(async () => {
    const opened = await backend.open();
    shared = opened.stores;
    closeShared = opened.close;
    for (let i = 0; i < 2; i += 1) nodes.push(await opened.startNode());
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await closeShared();
  });

  it("cannot both write it: no seq is assigned twice and nothing answered is lost", async () => {
    const alice = await nodes[0]!.connect("alice");
    const bob = await nodes[1]!.connect("bob");
    const chat = directChatId("alice", "bob");
    const perSide = 150;
    const [fromAlice, fromBob] = await Promise.all([
      Promise.all(Array.from({ length: perSide }, (_, i) => alice.send("bob", `a${i}`, { cid: `a${i}` }))),
      Promise.all(Array.from({ length: perSide }, (_, i) => bob.send("alice", `b${i}`, { cid: `b${i}` }))),
    ]);
    const answers = [...fromAlice, ...fromBob];
    const seqs = answers.map((a) => a.seq);
    assert.equal(new Set(seqs).size, answers.length, "every answer names its own seq");
    const stored = await shared.messages.readAfter(chat, 0, 1000);
    assert.deepEqual(stored.map((m) => m.seq), Array.from({ length: 2 * perSide }, (_, i) => i + 1));
    for (const answer of answers) assert.equal(stored[answer.seq - 1]?.cid, answer.cid, `seq ${answer.seq} holds ${answer.cid}`);
    const conflicts = (await Promise.all(nodes.map((node) => node.node.metrics.value("router_write_conflicts_total")))).reduce((sum, value) => sum + value, 0);
    assert.ok(conflicts > 0, "the two writers did collide, and the store refused one");
    await Promise.all([alice.close(), bob.close()]);
  });

  it("refuses a batch that does not continue the chat's log, and accepts its own retry", async () => {
    const chat = directChatId("carol", "dave");
    const message = (seq: number, cid: string) => ({ chat, seq, from: "carol", ts: 1000 + seq, body: "x", kind: "text", cid });
    await shared.messages.append({ chat, messages: [message(1, "one")], notify: [] });
    await shared.messages.append({ chat, messages: [message(1, "one")], notify: [] });
    await assert.rejects(shared.messages.append({ chat, messages: [message(1, "other")], notify: [] }), SeqConflictError);
    await assert.rejects(shared.messages.append({ chat, messages: [message(3, "gap")], notify: [] }), SeqConflictError);
    assert.equal(await shared.messages.lastSeq(chat), 1);
  });
});
