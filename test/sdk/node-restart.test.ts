import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, it } from "node:test";
import type { ChatClient } from "../../sdk/chat-client.ts";
import { directChatId, type MessageFrame, type SentFrame } from "../../sdk/frames.ts";
import { NodeProcess, tempDir } from "../support/node.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { chatClient, until, within } from "./support.ts";

/** The messages of `from`, in the order the receiver got them. */
const bodiesFrom = (messages: MessageFrame[], from: string) => messages.filter((m) => m.from === from).map((m) => String(m.body));

describe("a conversation across a node restart", () => {
  const dir = tempDir();
  let node: NodeProcess | undefined;
  const clients: ChatClient[] = [];
  after(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await node?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("loses nothing, duplicates nothing and keeps each sender's order when the node is killed mid-conversation", async () => {
    node = await NodeProcess.start(dir);
    const { port, url } = node;
    const alice = chatClient(url, "restart-alice");
    const bob = chatClient(url, "restart-bob");
    clients.push(alice.client, bob.client);
    await within(alice.client.start(), "alice starts");
    await within(bob.client.start(), "bob starts");

    const sentByAlice: Array<Promise<SentFrame>> = [];
    const sentByBob: Array<Promise<SentFrame>> = [];
    for (let i = 1; i <= 4; i += 1) {
      sentByAlice.push(alice.client.send({ to: "restart-bob" }, `a${i}`));
      await sentByAlice.at(-1);
      sentByBob.push(bob.client.send({ to: "restart-alice" }, `b${i}`));
      await sentByBob.at(-1);
    }
    await until(() => bob.messages.length === 4 && alice.messages.length === 4, "the first half");

    // A burst in flight when the node dies: some of it is stored, some not, none of it answered.
    for (let i = 5; i <= 9; i += 1) sentByAlice.push(alice.client.send({ to: "restart-bob" }, `a${i}`));
    assert.equal(await node.kill("SIGKILL"), null);
    await until(() => alice.client.state !== "ready" && bob.client.state !== "ready", "both notice");
    // Written while the node is down: queued, sent once it is back.
    for (let i = 5; i <= 7; i += 1) sentByBob.push(bob.client.send({ to: "restart-alice" }, `b${i}`));
    sentByAlice.push(alice.client.send({ to: "restart-bob" }, "a10"));

    node = await NodeProcess.start(dir, port);
    const aliceSent = await within(Promise.all(sentByAlice), "alice's sends answered");
    const bobSent = await within(Promise.all(sentByBob), "bob's sends answered");
    await until(() => bob.messages.length === 10 && alice.messages.length === 7, "everything delivered");

    const expectedFromAlice = Array.from({ length: 10 }, (_, i) => `a${i + 1}`);
    const expectedFromBob = Array.from({ length: 7 }, (_, i) => `b${i + 1}`);
    assert.deepEqual(bodiesFrom(bob.messages, "restart-alice"), expectedFromAlice, "bob got each of alice's once, in order");
    assert.deepEqual(bodiesFrom(alice.messages, "restart-bob"), expectedFromBob, "alice got each of bob's once, in order");

    // One chat, one order: the answered seqs are distinct, each sender's increasing, and the
    // stored history is exactly the 17 messages, gapless.
    const seqs = [...aliceSent, ...bobSent].map((sent) => sent.seq);
    assert.equal(new Set(seqs).size, 17);
    for (const sent of [aliceSent, bobSent]) {
      assert.deepEqual(
        sent.map((s) => s.seq),
        [...sent.map((s) => s.seq)].sort((a, b) => a - b),
      );
    }
    const history = await alice.client.history(directChatId("restart-alice", "restart-bob"), { limit: 50 });
    assert.deepEqual(
      history.msgs.map((m) => m.seq),
      Array.from({ length: 17 }, (_, i) => i + 1),
    );
    assert.deepEqual(bodiesFrom(history.msgs, "restart-alice"), expectedFromAlice);
    assert.deepEqual(bodiesFrom(history.msgs, "restart-bob"), expectedFromBob);
    assert.ok(alice.readies() >= 2 && bob.readies() >= 2, "both reconnected");
  });
});

describe("a device's own message stored just before its node died", () => {
  const dir = tempDir();
  let node: NodeProcess | undefined;
  let proxy: TcpProxy | undefined;
  const clients: ChatClient[] = [];
  after(async () => {
    await Promise.all(clients.map((client) => client.stop()));
    await proxy?.stop();
    await node?.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  });

  it("is not handed back to it as a message when the sync after the restart replays it before the resend's `sent`", async () => {
    // Cursor writes wait 10 s: the kill below comes before the sender's cursor passes its own
    // message, so the sync after the restart replays that message to the device that sent it.
    const slowCursors = { env: { ROUTER_WATERMARK_FLUSH_MS: "10000" } };
    node = await NodeProcess.start(dir, undefined, [], slowCursors);
    const port = node.port;
    proxy = await TcpProxy.start({ host: "127.0.0.1", port });
    const alice = chatClient(proxy.url, "own-alice");
    const bob = chatClient(node.url, "own-bob");
    clients.push(alice.client, bob.client);
    await within(alice.client.start(), "alice starts");
    await within(bob.client.start(), "bob starts");

    // The node's answers to alice stop on the way: her message is stored, her `sent` lost.
    proxy.hold();
    const answered = alice.client.send({ to: "own-bob" }, "mine");
    await until(() => bob.messages.length === 1, "stored and delivered to bob");
    await node.kill("SIGKILL");
    node = await NodeProcess.start(dir, port, [], slowCursors);

    const sent = await within(answered, "the resend answered with the first seq");
    assert.equal(sent.seq, 1);
    const reply = await within(bob.client.send({ to: "own-alice" }, "theirs"), "bob's reply stored");
    await until(() => alice.messages.some((m) => m.seq === reply.seq), "bob's reply at alice");
    assert.deepEqual(
      alice.messages.map((m) => String(m.body)),
      ["theirs"],
      "alice's own message came back in her sync, and is not shown to her as one received",
    );
  });
});
