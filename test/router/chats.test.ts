import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { directChatId, type ChatSummary } from "../../src/protocol/frames.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { eventually } from "../support/flood.ts";
import { TestNode } from "../support/node.ts";

const isCode = (code: string) => (error: unknown) => error instanceof RequestError && error.code === code;

/** Every page, following `next`, concatenated. */
async function allChats(client: RouterClient, limit: number): Promise<ChatSummary[]> {
  const chats: ChatSummary[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100; pages += 1) {
    const page = await client.chats({ limit, ...(after ? { after } : {}) });
    assert.ok(page.chats.length <= limit);
    chats.push(...page.chats);
    if (!page.next) return chats;
    after = page.next;
  }
  throw new Error("paging did not end");
}

describe("the chat list", () => {
  let node: TestNode;
  const open: RouterClient[] = [];
  async function connect(user: string, device?: string): Promise<RouterClient> {
    const client = await node.connect(user, device ? { device } : {});
    open.push(client);
    return client;
  }
  before(async () => {
    // Groups of more than 2 members pull (no inbox entries): both kinds are listed.
    node = await TestNode.start({ config: (c) => void (c.groups.fanoutThreshold = 2) });
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node.stop();
  });

  it("gives a new device every chat, newest first, paged, with unread counts that follow reads", async () => {
    const me = await connect("cl-me");
    const a = await connect("cl-a");
    const b = await connect("cl-b");
    const c = await connect("cl-c");
    const withA = directChatId("cl-me", "cl-a");
    const withB = directChatId("cl-me", "cl-b");
    for (let i = 0; i < 3; i += 1) await a.send("cl-me", `a${i}`);
    await b.send("cl-me", "b0");
    const big = await me.group("create", { name: "Big", members: ["cl-a", "cl-b", "cl-c"] });
    await c.sendToGroup(big.chat, "c0");
    await c.sendToGroup(big.chat, "c1");
    const pair = await a.group("create", { name: "Pair", members: ["cl-me"] });
    await me.sendToGroup(pair.chat, "mine");

    // A device that never connected before knows nothing but what `chats` tells it.
    const fresh = await connect("cl-me", "new-phone");
    const listed = await allChats(fresh, 2);
    assert.deepEqual(new Set(listed.map((s) => s.chat)), new Set([withA, withB, big.chat, pair.chat]));
    assert.equal(listed.length, 4, "no chat twice across pages");
    const sorted = [...listed].sort((x, y) => y.last_ts - x.last_ts || (x.chat < y.chat ? -1 : 1));
    assert.deepEqual(listed, sorted, "newest last message first");
    const byChat = new Map(listed.map((s) => [s.chat, s]));
    assert.deepEqual({ ...byChat.get(withA), last_ts: 0 }, { chat: withA, last_seq: 3, last_ts: 0, unread: 3 });
    assert.equal(byChat.get(withB)!.unread, 1);
    // The large group writes no inbox entries: its head gives the last seq.
    assert.deepEqual({ ...byChat.get(big.chat), last_ts: 0 }, { chat: big.chat, last_seq: 3, last_ts: 0, unread: 3, name: "Big", members: 4 });
    // The user's own last message: nothing unread.
    assert.deepEqual({ ...byChat.get(pair.chat), last_ts: 0 }, { chat: pair.chat, last_seq: 2, last_ts: 0, unread: 0, name: "Pair", members: 2 });
    assert.ok(byChat.get(pair.chat)!.last_ts >= byChat.get(big.chat)!.last_ts);
    assert.equal(listed[0]!.last_ts, Math.max(...listed.map((s) => s.last_ts)));

    // Reads move the watermark (written by the chat's actor, so wait for it).
    fresh.read(withA, 2);
    fresh.read(big.chat, 3);
    await eventually(async () => {
      const now = new Map((await allChats(fresh, 50)).map((s) => [s.chat, s.unread]));
      assert.equal(now.get(withA), 1);
      assert.equal(now.get(big.chat), 0);
      assert.equal(now.get(withB), 1);
    });

    // A member of the large group only: its list holds the group, not others' chats.
    const cList = await allChats(c, 50);
    assert.deepEqual(cList.map((s) => s.chat), [big.chat]);
    assert.equal(cList[0]!.unread, 0, "c wrote the last message");
  });

  it("refuses bad limits and cursors", async () => {
    const user = await connect("cl-bad");
    await assert.rejects(user.chats({ limit: 0 }), isCode("invalid_field"));
    await assert.rejects(user.chats({ limit: 201 }), isCode("invalid_field"));
    await assert.rejects(user.chats({ after: "not-a-cursor" }), isCode("invalid_field"));
    await assert.rejects(user.request({ t: "chats", after: "x".repeat(600) }), isCode("invalid_field"));
    assert.deepEqual((await user.chats({ limit: 200 })).chats, []);
  });
});
