import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { directChatId, type MessageFrame, type ReceiptFrame } from "../../src/protocol/frames.ts";
import { RequestError } from "../../sdk/client.ts";
import { TestNode } from "../support/node.ts";

describe("direct messages", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  it("answers sent with chat and seq, delivers msg, and reports delivered and read", async () => {
    const alice = await node.connect("alice1");
    const bob = await node.connect("bob1");
    const chat = directChatId("alice1", "bob1");
    assert.equal(chat, "d:alice1:bob1");

    const sent = await alice.send("bob1", "hello bob", { cid: "c-1" });
    assert.equal(sent.t, "sent");
    assert.equal(sent.cid, "c-1");
    assert.equal(sent.chat, chat);
    assert.equal(sent.seq, 1);
    assert.ok(Math.abs(sent.ts - Date.now()) < 5000);

    const [msg] = await bob.waitForMessages(1, chat);
    assert.deepEqual(msg, { t: "msg", chat, seq: 1, from: "alice1", ts: sent.ts, body: "hello bob", kind: "text" });

    // bob's client acked on arrival: alice learns it was delivered.
    const delivered = await alice.waitFor<ReceiptFrame>((f) => f.t === "receipt" && f.user === "bob1" && (f.delivered ?? 0) >= 1);
    assert.equal(delivered.chat, chat);

    bob.read(chat, 1);
    const read = await alice.waitFor<ReceiptFrame>((f) => f.t === "receipt" && f.user === "bob1" && f.read === 1);
    assert.equal(read.chat, chat);

    // Bytes travel as bytes; replies name the seq they answer.
    const bytes = new Uint8Array([1, 2, 3, 250]);
    const second = await bob.send("alice1", bytes, { kind: "image", reply: 1 });
    assert.equal(second.seq, 2);
    const [, fromBob] = await alice.waitForMessages(1, chat).then(() => [undefined, alice.messages.find((m) => m.seq === 2)]);
    assert.ok(fromBob);
    assert.deepEqual(new Uint8Array(fromBob.body as Uint8Array), bytes);
    assert.equal(fromBob.kind, "image");
    assert.equal(fromBob.reply, 1);
    // The sender's own device is not sent its own message back.
    assert.equal(bob.messages.filter((m) => m.seq === 2).length, 0);
    await Promise.all([alice.close(), bob.close()]);
  });

  it("returns the first answer for a repeated cid and stores nothing new", async () => {
    const carol = await node.connect("carol2");
    const dave = await node.connect("dave2");
    const first = await carol.send("dave2", "once", { cid: "same" });
    const again = await carol.send("dave2", "twice?", { cid: "same" });
    assert.deepEqual({ ...again, r: 0 }, { ...first, r: 0 });
    const concurrent = await Promise.all([1, 2, 3].map(() => carol.send("dave2", "burst", { cid: "burst" })));
    assert.equal(new Set(concurrent.map((s) => s.seq)).size, 1);
    const page = await dave.history(first.chat);
    assert.deepEqual(page.msgs.map((m) => m.body), ["once", "burst"]);
    await Promise.all([carol.close(), dave.close()]);
  });

  it("keeps the order of 1,000 messages sent back to back", async () => {
    const sender = await node.connect("fast3");
    const receiver = await node.connect("slow3");
    const count = 1000;
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) => sender.send("slow3", `n${i}`, { cid: `o${i}` })),
    );
    assert.deepEqual(answers.map((a) => a.seq), Array.from({ length: count }, (_, i) => i + 1));
    const received = await receiver.waitForMessages(count, directChatId("fast3", "slow3"), 20_000);
    assert.deepEqual(received.map((m) => m.body), Array.from({ length: count }, (_, i) => `n${i}`));
    assert.deepEqual(received.map((m) => m.seq), Array.from({ length: count }, (_, i) => i + 1));
    await Promise.all([sender.close(), receiver.close()]);
  });

  it("delivers to an offline recipient on connect, in order, and not again once acked", async () => {
    const sender = await node.connect("eve4");
    const chat = directChatId("eve4", "frank4");
    for (let i = 1; i <= 5; i += 1) await sender.send("frank4", `while away ${i}`);
    const frank = await node.connect("frank4");
    assert.deepEqual(frank.synced, { t: "synced", recovered: true });
    const replayed = frank.frames.filter((f): f is MessageFrame => f.t === "msg");
    assert.deepEqual(replayed.map((m) => m.seq), [1, 2, 3, 4, 5]);
    // Replayed before `synced`.
    const syncedAt = frank.frames.findIndex((f) => f.t === "synced");
    assert.ok(frank.frames.findIndex((f) => f.t === "msg") < syncedAt);
    // The acks are in; wait until the server has them (alice sees the receipt), then reconnect.
    await sender.waitFor<ReceiptFrame>((f) => f.t === "receipt" && f.chat === chat && f.delivered === 5);
    await frank.close();
    const again = await node.connect("frank4");
    assert.equal(again.frames.filter((f) => f.t === "msg").length, 0);
    await sender.send("frank4", "live");
    const [live] = await again.waitForMessages(1, chat);
    assert.equal(live?.seq, 6);
    await Promise.all([sender.close(), again.close()]);
  });

  it("delivers to two devices of one user, each acking on its own", async () => {
    const sender = await node.connect("gina5");
    const phone = await node.connect("hank5", { device: "phone" });
    const laptop = await node.connect("hank5", { device: "laptop", autoAck: false });
    const chat = directChatId("gina5", "hank5");
    await sender.send("hank5", "to both");
    await phone.waitForMessages(1, chat);
    await laptop.waitForMessages(1, chat);
    await sender.waitFor<ReceiptFrame>((f) => f.t === "receipt" && f.delivered === 1);
    await phone.close();
    await laptop.close();
    // The phone acked; the laptop did not: only the laptop gets it again.
    const phoneAgain = await node.connect("hank5", { device: "phone" });
    const laptopAgain = await node.connect("hank5", { device: "laptop" });
    assert.equal(phoneAgain.messages.length, 0);
    assert.deepEqual(laptopAgain.messages.map((m) => m.body), ["to both"]);
    await Promise.all([sender.close(), phoneAgain.close(), laptopAgain.close()]);
  });

  it("pages history backwards in ascending pages", async () => {
    const a = await node.connect("ivan6");
    for (let i = 1; i <= 120; i += 1) await a.send("judy6", `h${i}`, { cid: `h${i}` });
    const chat = directChatId("ivan6", "judy6");
    const latest = await a.history(chat);
    assert.equal(latest.msgs.length, 50);
    assert.equal(latest.more, true);
    assert.deepEqual([latest.msgs[0]?.seq, latest.msgs.at(-1)?.seq], [71, 120]);
    const older = await a.history(chat, 71, 50);
    assert.deepEqual([older.msgs[0]?.seq, older.msgs.at(-1)?.seq, older.more], [21, 70, true]);
    const oldest = await a.history(chat, 21, 50);
    assert.deepEqual([oldest.msgs[0]?.seq, oldest.msgs.at(-1)?.seq, oldest.more], [1, 20, false]);
    const small = await a.history(chat, undefined, 3);
    assert.deepEqual(small.msgs.map((m) => m.body), ["h118", "h119", "h120"]);
    await assert.rejects(a.history(chat, undefined, 500), (e: RequestError) => e.code === "invalid_field");
    await assert.rejects(a.history("d:judy6:mallory6"), (e: RequestError) => e.code === "forbidden");
    await a.close();
  });
});
