import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import { directChatId } from "../../src/protocol/frames.ts";
import { NodeProcess, tempDir } from "../support/node.ts";

describe("durability", () => {
  const dataDir = tempDir();
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("loses nothing answered `sent` when the node is killed with SIGKILL", async () => {
    const first = await NodeProcess.start(dataDir);
    const alice = await first.connect("alice");
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => alice.send("bob", `m${i}`, { cid: `k${i}` })));
    // Kill right after the last answer: no graceful shutdown, no flush.
    const exit = first.kill("SIGKILL");
    await alice.waitForClose();
    assert.equal(await exit, null);

    const second = await NodeProcess.start(dataDir, first.port);
    try {
      const bob = await second.connect("bob");
      const chat = directChatId("alice", "bob");
      const received = await bob.waitForMessages(answers.length, chat);
      assert.deepEqual(received.map((m) => m.seq), answers.map((a) => a.seq));
      assert.deepEqual(received.map((m) => m.body), answers.map((_, i) => `m${i}`));
      // The idempotency keys survived too: a retry after the crash creates nothing.
      const aliceAgain = await second.connect("alice");
      const retry = await aliceAgain.send("bob", "m0", { cid: "k0" });
      assert.equal(retry.seq, answers[0]!.seq);
      const next = await aliceAgain.send("bob", "after restart");
      assert.equal(next.seq, answers.length + 1);
      await Promise.all([bob.close(), aliceAgain.close()]);
    } finally {
      await second.kill("SIGTERM");
    }
  });
});
