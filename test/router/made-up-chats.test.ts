import assert from "node:assert/strict";
import { setTimeout as delay } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { directChatId, type ServerFrame, type TypingFrame } from "../../src/protocol/frames.ts";
import { TestNode } from "../support/node.ts";

/** Polls `check` until it holds or the (generous) deadline passes. */
async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/**
 * Frames naming chats that do not exist must leave nothing behind. The node keeps idle actors
 * for ten minutes here, so an actor that lingers until the idle timeout fails these tests.
 */
describe("frames naming chats that do not exist", () => {
  let node: TestNode;
  const liveChats = () => node.node.metrics.value("router_conversation_actors");
  before(async () => {
    node = await TestNode.start({ config: (c) => void (c.actors.idleMs = 600_000) });
  });
  after(async () => {
    await node.stop();
  });

  it("typing activates no chat actor, and still reaches a connected peer", async () => {
    const typist = await node.connect("mu-typist");
    const baseline = await liveChats();
    for (let i = 0; i < 500; i += 1) typist.typing(directChatId("mu-typist", `mu-ghost-${i}`), i % 2 === 0);
    for (let i = 0; i < 100; i += 1) typist.typing(`g:madeupgroup${String(i).padStart(4, "0")}`, true);
    // Frames of one connection are handled in order: once the ping is answered, every typing was.
    assert.equal((await typist.request({ t: "ping" })).t, "pong");
    assert.equal(await liveChats(), baseline);

    // A new direct chat (no message yet, so no actor) with a connected peer: relayed,
    // throttled and switched off, without waking the chat.
    const peer = await node.connect("mu-peer");
    const chat = directChatId("mu-typist", "mu-peer");
    const typingOf = (frames: ServerFrame[]) => frames.filter((f): f is TypingFrame => f.t === "typing" && f.chat === chat);
    typist.typing(chat, true);
    typist.typing(chat, true);
    typist.typing(chat, false);
    await peer.waitFor((f) => f.t === "typing" && (f as TypingFrame).chat === chat && !(f as TypingFrame).on);
    assert.deepEqual(typingOf(peer.frames).map((f) => f.on), [true, false]);
    assert.equal(await liveChats(), baseline);

    // An existing chat whose actor is live relays as before.
    await typist.send("mu-peer", "hello");
    await peer.waitForMessages(1, chat);
    const mark = peer.frames.length;
    typist.typing(chat, true);
    const on = await peer.waitFor<TypingFrame>((f) => f.t === "typing" && (f as TypingFrame).chat === chat, 10_000, mark);
    assert.equal(on.on, true);
    typist.typing(chat, false);
    await Promise.all([typist.close(), peer.close()]);
  });

  it("requests about chats that do not exist leave no actor behind", async () => {
    const client = await node.connect("mu-asker");
    const baseline = await liveChats();
    const answers: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i += 1) {
      const group = `g:neverexisted${String(i).padStart(4, "0")}`;
      const direct = directChatId("mu-asker", `mu-nobody-${i}`);
      answers.push(
        client.history(group),
        client.history(direct),
        client.request({ t: "receipts", chat: group, seq: 1 }),
        client.request({ t: "receipts", chat: direct, seq: 1 }),
        client.group("info", { chat: group }),
        client.group("add", { chat: group, users: ["mu-someone"] }),
        client.sendToGroup(group, "anyone?"),
        client.operate("react", group, 1, { emoji: "x" }),
        client.operate("edit", direct, 1, { body: "x" }),
      );
      client.read(group, 5);
      client.read(direct, 5);
    }
    // Every one is refused or answered empty; none creates anything.
    const settled = await Promise.allSettled(answers);
    assert.equal(settled.length, 40 * 9);
    assert.equal((await client.request({ t: "ping" })).t, "pong");
    await eventually(async () => (await liveChats()) === baseline, `the live chat actors to return to ${baseline}`);

    // The chats still do not exist afterwards: nothing was written for them.
    const history = await client.history(directChatId("mu-asker", "mu-nobody-0"));
    assert.deepEqual(history.msgs, []);
    await assert.rejects(client.group("info", { chat: "g:neverexisted0000" }), (e: { code?: string }) => e.code === "not_found");
    await client.close();
  });
});
