import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { directChatId, type CallEndedFrame, type MessageFrame, type PresenceFrame, type ReceiptFrame, type ServerFrame, type StatusNewFrame } from "../../src/protocol/frames.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { TestNode } from "../support/node.ts";

const presenceOf = (user: string) => (f: { t: string }) => f.t === "presence" && (f as PresenceFrame).user === user;
const isCode = (code: string) => (error: unknown) => error instanceof RequestError && error.code === code;

/** Every text a client was handed, wherever in a frame: a withheld body must be in none. */
function texts(frames: readonly ServerFrame[]): string {
  return JSON.stringify(frames);
}

describe("blocking", () => {
  let node: TestNode;
  const open: RouterClient[] = [];
  async function connect(user: string, device?: string): Promise<RouterClient> {
    const client = await node.connect(user, device ? { device } : {});
    open.push(client);
    return client;
  }
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node.stop();
  });

  it("answers a blocked sender `sent` but never hands the blocker the message: live, on sync or in history", async () => {
    const chat = directChatId("bk-a", "bk-b");
    const blocker = await connect("bk-a", "phone");
    const blockerLaptop = await connect("bk-a", "laptop");
    const sender = await connect("bk-b", "phone");
    const senderLaptop = await connect("bk-b", "laptop");
    await sender.send("bk-a", "before the block");
    await blockerLaptop.waitForMessages(1, chat);

    assert.equal((await blocker.block("bk-b")).count, 1);
    assert.deepEqual(await blocker.blocks(), ["bk-b"]);
    await assert.rejects(blocker.block("bk-a"), isCode("invalid_field"));

    const first = await sender.send("bk-a", "withheld one", { cid: "w1" });
    const second = await sender.send("bk-a", "withheld two", { cid: "w2" });
    // Like any send: its own seq, in order, and a retry finds the first answer.
    assert.deepEqual([first.chat, first.seq, second.seq], [chat, 2, 3]);
    assert.equal((await sender.send("bk-a", "withheld one", { cid: "w1" })).seq, 2);
    // The sender's other devices see what they sent, as ever.
    const mirrored = await senderLaptop.waitForMessages(3, chat);
    assert.deepEqual(mirrored.map((m) => m.body), ["before the block", "withheld one", "withheld two"]);

    // Edits and reactions of a blocked sender are withheld the same way.
    assert.equal((await sender.operate("edit", chat, first.seq, { body: "withheld edit" })).seq, 4);
    assert.equal((await sender.operate("react", chat, 1, { emoji: "👍" })).seq, 5);

    // The blocker's next message of the chat comes after all of them: by then anything
    // withheld would have reached the blocker's other device first.
    const ping = await blocker.send("bk-b", "anyone there?");
    assert.equal(ping.seq, 6);
    const seen = await blockerLaptop.waitFor<MessageFrame>((f) => f.t === "msg" && f.chat === chat && f.seq === 6);
    assert.equal(seen.body, "anyone there?");
    assert.doesNotMatch(texts(blockerLaptop.frames), /withheld/);
    assert.doesNotMatch(texts(blocker.frames), /withheld/);
    assert.equal([...blocker.frames, ...blockerLaptop.frames].some((f) => f.t === "react" || f.t === "edit"), false);

    const history = await blocker.history(chat);
    assert.deepEqual(history.msgs.map((m) => [m.seq, m.body, m.reactions]), [[1, "before the block", undefined], [6, "anyone there?", undefined]]);

    // A device that syncs afresh gets nothing of it either.
    const tablet = await connect("bk-a", "tablet");
    await tablet.waitFor<MessageFrame>((f) => f.t === "msg" && f.chat === chat && f.seq === 6);
    assert.doesNotMatch(texts(tablet.frames), /withheld/);

    // Unblocked: new messages are delivered again, after every seq handed out.
    assert.equal((await blocker.unblock("bk-b")).count, 0);
    const later = await sender.send("bk-a", "after the unblock");
    assert.equal(later.seq, 7);
    const delivered = await blocker.waitFor<MessageFrame>((f) => f.t === "msg" && f.chat === chat && f.seq === 7);
    assert.equal(delivered.body, "after the unblock");
    assert.doesNotMatch(texts(blocker.frames), /withheld/);
  });

  it("keeps blocks across reconnects, and a chat that starts after the block withholds too", async () => {
    const blocker = await connect("bk-c");
    await blocker.block("bk-d");
    await blocker.close();
    const again = await connect("bk-c");
    assert.deepEqual(await again.blocks(), ["bk-d"]);
    // A chat that starts after the block reads it from the store.
    const sender = await connect("bk-d");
    const sent = await sender.send("bk-c", "withheld from a cold chat");
    assert.equal(sent.seq, 1);
    const chat = directChatId("bk-c", "bk-d");
    assert.deepEqual((await again.history(chat)).msgs, []);
  });

  it("relays nothing of a blocked user's typing to the blocker, and shows them nothing of the blocker's presence", async () => {
    const chat = directChatId("bk-e", "bk-f");
    const blocker = await connect("bk-e");
    const blocked = await connect("bk-f");
    const other = await connect("bk-g");
    await blocked.request({ t: "watch", users: ["bk-e"] });
    assert.equal((await blocked.waitFor<PresenceFrame>(presenceOf("bk-e"))).online, true);

    const mark = blocked.frames.length;
    await blocker.block("bk-f");
    // A watch from before the block goes dark at once; a new one shows nothing either.
    const hidden = await blocked.waitFor<PresenceFrame>(presenceOf("bk-e"), 10_000, mark);
    assert.deepEqual({ ...hidden }, { t: "presence", user: "bk-e", hidden: true });
    const rewatch = blocked.frames.length;
    await blocked.request({ t: "watch", users: ["bk-e"] });
    assert.deepEqual({ ...(await blocked.waitFor<PresenceFrame>(presenceOf("bk-e"), 10_000, rewatch)) }, { t: "presence", user: "bk-e", hidden: true });
    await other.request({ t: "watch", users: ["bk-e"] });
    assert.equal((await other.waitFor<PresenceFrame>(presenceOf("bk-e"))).online, true);

    // Typing from the blocked user goes nowhere. Their read of the blocker's message takes
    // the same path after it (their chat's actor, then the blocker's), so it arrives later.
    const sent = await blocker.send("bk-f", "you are blocked");
    await blocked.waitForMessages(1, chat);
    blocked.typing(chat, true);
    blocked.read(chat, sent.seq);
    await blocker.waitFor<ReceiptFrame>((f) => f.t === "receipt" && f.chat === chat && f.read === sent.seq);
    assert.equal(blocker.frames.filter((f) => f.t === "typing").length, 0);
  });

  it("turns a blocked user's group add of the blocker into an invitation that never reaches them", async () => {
    const blocker = await connect("bk-h");
    await blocker.block("bk-i");
    const blocked = await connect("bk-i");
    const created = await blocked.group("create", { name: "Nope", members: ["bk-h"] });
    assert.deepEqual(created.members, ["bk-i"]);
    // As a privacy setting would answer: the adder cannot tell a block from a setting.
    assert.deepEqual(created.invited, ["bk-h"]);
    const added = await blocked.group("add", { chat: created.chat, users: ["bk-h"] });
    assert.deepEqual(added.members, ["bk-i"]);
    assert.deepEqual(added.invited, ["bk-h"]);
    // Anyone else may still add the blocker directly.
    const friend = await connect("bk-j");
    assert.deepEqual((await friend.group("create", { name: "Yes", members: ["bk-h"] })).members, ["bk-j", "bk-h"]);
    // No invitation was stored: a hello lists pending ones before `synced`.
    const again = await connect("bk-h", "other");
    assert.equal(again.frames.filter((f) => f.t === "group.invite").length, 0);
    assert.equal(blocker.frames.filter((f) => f.t === "group.invite").length, 0);
  });

  it("answers a blocked caller busy, as from someone in another call, and rings none of the blocker's devices", async () => {
    const blocker = await connect("bk-k");
    await blocker.block("bk-l");
    const caller = await connect("bk-l");
    const call = await caller.call({ to: "bk-k" }, "sdp");
    const ended = await caller.waitFor<CallEndedFrame>((f) => f.t === "call.end" && f.call === call);
    assert.deepEqual({ ...ended }, { t: "call.end", call, reason: "busy" });
    assert.equal(blocker.frames.some((f) => f.t === "call.offer"), false);
    // Nothing of the call reaches the blocker's chat either.
    assert.deepEqual((await blocker.history(directChatId("bk-k", "bk-l"))).msgs, []);
  });

  it("hides the blocker's statuses from the blocked user, though the audience names them", async () => {
    const blocker = await connect("bk-m");
    const blocked = await connect("bk-n");
    const friend = await connect("bk-o");
    await blocker.block("bk-n");
    const posted = await blocker.postStatus({ kind: "text", body: "not for bk-n" }, { allow: ["bk-n", "bk-o"] });
    const isNew = (f: ServerFrame) => f.t === "status.new" && (f as StatusNewFrame).id === posted.id;
    await friend.waitFor(isNew);
    assert.equal((await friend.listStatuses(["bk-m"])).posters[0]?.statuses[0]?.id, posted.id);
    assert.deepEqual((await blocked.listStatuses(["bk-m"])).posters, []);
    await assert.rejects(blocked.viewStatus("bk-m", posted.id), isCode("not_found"));
    assert.equal(blocked.frames.some(isNew), false);
  });
});
