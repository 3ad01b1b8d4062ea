import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ErrorFrame, ReceiptFrame, ReceiptsFrame } from "../../src/protocol/frames.ts";
import { RequestError } from "../../sdk/client.ts";
import { TestNode } from "../support/node.ts";

// `read` goes from the connection straight to the chat's actor: what the user's actor used to
// check on the way, the chat still checks.
describe("read marks", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  it("moves the reader's read mark and tells the other member of a direct chat", async () => {
    const [ann, bob] = await Promise.all([node.connect("rm-ann"), node.connect("rm-bob")]);
    const sent = await ann.send("rm-bob", "read me");
    await bob.waitForMessages(1, sent.chat);
    bob.read(sent.chat, sent.seq);
    const receipt = await ann.waitFor<ReceiptFrame>((f) => f.t === "receipt" && f.chat === sent.chat && f.read === sent.seq);
    assert.equal(receipt.user, "rm-bob");
    await Promise.all([ann.close(), bob.close()]);
  });

  it("refuses a read of a direct chat the user is not in", async () => {
    const [ann, bob, eve] = await Promise.all([node.connect("rm2-ann"), node.connect("rm2-bob"), node.connect("rm2-eve")]);
    const sent = await ann.send("rm2-bob", "not for eve");
    eve.read(sent.chat, sent.seq);
    const refused = await eve.waitFor<ErrorFrame>((f) => f.t === "err" && f.code === "forbidden");
    assert.match(refused.msg, /not a member/);
    await Promise.all([ann.close(), bob.close(), eve.close()]);
  });

  it("ignores a read of a group by a user who is not a member", async () => {
    const [author, member, outsider] = await Promise.all([node.connect("rm3-author"), node.connect("rm3-member"), node.connect("rm3-outsider")]);
    const group = await author.group("create", { name: "Reads", members: ["rm3-member"] });
    const sent = await author.sendToGroup(group.chat, "members only");
    outsider.read(group.chat, sent.seq);
    // Answered by the chat's actor after it handled the read before it (one connection, one
    // mailbox, in order): refused, as the outsider is no member.
    await assert.rejects(
      () => outsider.request({ t: "receipts", chat: group.chat, seq: sent.seq }),
      (error: unknown) => error instanceof RequestError && error.code === "forbidden",
    );
    const counts = (await author.request({ t: "receipts", chat: group.chat, seq: sent.seq })) as ReceiptsFrame;
    assert.equal(counts.read, 0, "the outsider's read counted for nothing");
    member.read(group.chat, sent.seq);
    let after: ReceiptsFrame;
    do {
      after = (await author.request({ t: "receipts", chat: group.chat, seq: sent.seq })) as ReceiptsFrame;
    } while (after.read < 1);
    assert.deepEqual({ members: after.members, read: after.read }, { members: 1, read: 1 }, "counted among the members but the asker");
    await Promise.all([author.close(), member.close(), outsider.close()]);
  });
});
