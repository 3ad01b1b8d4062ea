import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { StoredMessage, Stores } from "../../src/storage/types.ts";

let counter = 0;
/** A chat id no other test in this run uses, so implementations can share one database. */
function freshChat(): string {
  counter += 1;
  return `d:a${process.pid}x${counter}:b${Date.now()}`;
}

function message(chat: string, seq: number, overrides: Partial<StoredMessage> = {}): StoredMessage {
  return { chat, seq, from: "alice", ts: 1_700_000_000_000 + seq, body: `m${seq}`, kind: "text", cid: `c${seq}`, ...overrides };
}

async function appendRange(stores: Stores, chat: string, from: number, to: number, notify: string[] = []): Promise<void> {
  const messages: StoredMessage[] = [];
  for (let seq = from; seq <= to; seq += 1) messages.push(message(chat, seq));
  await stores.messages.append({ chat, messages, notify });
}

/**
 * The behaviour every Stores implementation owes the actors. Run against each backend with a
 * factory; a failure here is a backend bug, whatever the actor tests say.
 */
export function storeContract(name: string, open: () => Promise<Stores>): void {
  describe(`${name} store contract`, () => {
    let stores: Stores;
    before(async () => {
      stores = await open();
    });
    after(async () => {
      await stores.close();
    });

    it("starts a chat at seq 0 and tracks the last appended seq", async () => {
      const chat = freshChat();
      assert.equal(await stores.messages.lastSeq(chat), 0);
      await appendRange(stores, chat, 1, 3);
      assert.equal(await stores.messages.lastSeq(chat), 3);
      await appendRange(stores, chat, 4, 4);
      assert.equal(await stores.messages.lastSeq(chat), 4);
    });

    it("round-trips every message field, bytes and text bodies alike", async () => {
      const chat = freshChat();
      const bytes = new Uint8Array([0, 1, 2, 255]);
      await stores.messages.append({
        chat,
        messages: [message(chat, 1, { body: bytes, kind: "cipher" }), message(chat, 2, { reply: 1, from: "bob", cid: "x" })],
        notify: [],
      });
      const [first, second] = await stores.messages.readAfter(chat, 0, 10);
      assert.ok(first && second);
      assert.deepEqual(new Uint8Array(first.body as Uint8Array), bytes);
      assert.equal(first.kind, "cipher");
      assert.equal(first.reply, undefined);
      assert.deepEqual(
        { chat: second.chat, seq: second.seq, from: second.from, ts: second.ts, body: second.body, kind: second.kind, reply: second.reply, cid: second.cid },
        message(chat, 2, { reply: 1, from: "bob", cid: "x" }),
      );
    });

    it("reads after a seq in ascending order, with a limit, across many messages", async () => {
      const chat = freshChat();
      await appendRange(stores, chat, 1, 1200);
      await appendRange(stores, chat, 1201, 2500);
      const page = await stores.messages.readAfter(chat, 990, 30);
      assert.deepEqual(page.map((m) => m.seq), Array.from({ length: 30 }, (_, i) => 991 + i));
      const tail = await stores.messages.readAfter(chat, 2490, 100);
      assert.deepEqual(tail.map((m) => m.seq), Array.from({ length: 10 }, (_, i) => 2491 + i));
      assert.deepEqual(await stores.messages.readAfter(chat, 2500, 10), []);
    });

    it("reads the latest messages below a seq, returned ascending", async () => {
      const chat = freshChat();
      await appendRange(stores, chat, 1, 2100);
      const page = await stores.messages.readBefore(chat, 2005, 10);
      assert.deepEqual(page.map((m) => m.seq), Array.from({ length: 10 }, (_, i) => 1995 + i));
      const acrossBoundary = await stores.messages.readBefore(chat, 1003, 6);
      assert.deepEqual(acrossBoundary.map((m) => m.seq), [997, 998, 999, 1000, 1001, 1002]);
      const head = await stores.messages.readBefore(chat, 4, 50);
      assert.deepEqual(head.map((m) => m.seq), [1, 2, 3]);
      assert.deepEqual(await stores.messages.readBefore(chat, 1, 50), []);
      const latest = await stores.messages.readBefore(chat, Number.MAX_SAFE_INTEGER, 3);
      assert.deepEqual(latest.map((m) => m.seq), [2098, 2099, 2100]);
    });

    it("keeps chats apart", async () => {
      const one = freshChat();
      const two = freshChat();
      await appendRange(stores, one, 1, 3);
      await appendRange(stores, two, 1, 1);
      assert.equal((await stores.messages.readAfter(one, 0, 10)).length, 3);
      assert.equal((await stores.messages.readAfter(two, 0, 10)).length, 1);
    });

    it("finds the first answer of an idempotency key", async () => {
      const chat = freshChat();
      await stores.messages.append({ chat, messages: [message(chat, 1, { cid: "k1", ts: 42 })], notify: [] });
      assert.deepEqual(await stores.messages.findByCid(chat, "alice", "k1"), { seq: 1, ts: 42 });
      assert.equal(await stores.messages.findByCid(chat, "bob", "k1"), undefined);
      assert.equal(await stores.messages.findByCid(chat, "alice", "k2"), undefined);
    });

    it("notifies inboxes with the batch's last seq", async () => {
      const chat = freshChat();
      const user = `u${process.pid}x${Date.now()}`;
      await appendRange(stores, chat, 1, 5, [user, "someone"]);
      assert.deepEqual(await stores.messages.inbox(user), [{ chat, seq: 5 }]);
      const other = freshChat();
      await appendRange(stores, other, 1, 2, [user]);
      const inbox = await stores.messages.inbox(user);
      assert.deepEqual(
        inbox.sort((a, b) => a.chat.localeCompare(b.chat)),
        [{ chat, seq: 5 }, { chat: other, seq: 2 }].sort((a, b) => a.chat.localeCompare(b.chat)),
      );
    });

    it("keeps device cursors per user and device", async () => {
      const user = `u${process.pid}c${Date.now()}`;
      await stores.cursors.setCursor(user, "phone", "d:a:b", 3);
      await stores.cursors.setCursor(user, "phone", "d:a:c", 1);
      await stores.cursors.setCursor(user, "laptop", "d:a:b", 7);
      await stores.cursors.setCursor(user, "phone", "d:a:b", 4);
      assert.deepEqual(await stores.cursors.cursors(user, "phone"), new Map([["d:a:b", 4], ["d:a:c", 1]]));
      assert.deepEqual(await stores.cursors.cursors(user, "laptop"), new Map([["d:a:b", 7]]));
      assert.deepEqual(await stores.cursors.cursors(user, "tablet"), new Map());
    });

    it("keeps delivered and read marks per chat member", async () => {
      const chat = freshChat();
      await stores.receipts.setMarks(chat, "alice", { delivered: 3, read: 1 });
      await stores.receipts.setMarks(chat, "bob", { delivered: 2, read: 2 });
      await stores.receipts.setMarks(chat, "alice", { delivered: 5, read: 4 });
      assert.deepEqual(
        await stores.receipts.marks(chat),
        new Map([["alice", { delivered: 5, read: 4 }], ["bob", { delivered: 2, read: 2 }]]),
      );
      assert.deepEqual(await stores.receipts.marks(freshChat()), new Map());
    });
  });
}

/** Edits, deletes, reactions, groups and last seen: the parts of the contract issue 3 added. */
export function extendedStoreContract(name: string, open: () => Promise<Stores>): void {
  describe(`${name} store contract: message state, groups, last seen`, () => {
    let stores: Stores;
    before(async () => {
      stores = await open();
    });
    after(async () => {
      await stores.close();
    });

    it("applies patches atomically with a batch and round-trips event fields", async () => {
      const chat = freshChat();
      await appendRange(stores, chat, 1, 2);
      await stores.messages.append({
        chat,
        messages: [message(chat, 3, { kind: "edit", target: 1, body: "" }), message(chat, 4, { kind: "react", target: 2, emoji: "👍", body: "" })],
        notify: [],
        patches: [
          { seq: 1, body: "edited", edited: 99 },
          { seq: 2, reactions: { bob: "👍" } },
        ],
      });
      const [one, two, three, four] = await stores.messages.readAfter(chat, 0, 10);
      assert.equal(one?.body, "edited");
      assert.equal(one?.edited, 99);
      assert.equal(one?.cid, "c1");
      assert.deepEqual(two?.reactions, { bob: "👍" });
      assert.equal(three?.target, 1);
      assert.equal(three?.kind, "edit");
      assert.equal(four?.emoji, "👍");
      await stores.messages.append({ chat, messages: [message(chat, 5, { kind: "delete", target: 1, body: "" })], notify: [], patches: [{ seq: 1, body: "", deleted: true }] });
      const [deleted] = await stores.messages.readAfter(chat, 0, 1);
      assert.equal(deleted?.deleted, true);
      assert.equal(deleted?.body, "");
      assert.equal(await stores.messages.lastSeq(chat), 5);
    });

    it("keeps groups and each user's groups in step with membership", async () => {
      const chat = `g:${process.pid}x${Date.now()}`;
      const alice = `ga${process.pid}${Date.now()}`;
      const bob = `gb${process.pid}${Date.now()}`;
      const group = { chat, name: "friends", members: [alice, bob], admins: [alice], createdBy: alice, createdAt: 1, joined: { [alice]: 1, [bob]: 1 } };
      await stores.groups.put(group, []);
      assert.deepEqual(await stores.groups.get(chat), group);
      assert.deepEqual(await stores.groups.groupsOf(bob), [chat]);
      await stores.groups.put({ ...group, members: [alice] }, [alice, bob]);
      assert.deepEqual(await stores.groups.groupsOf(bob), []);
      assert.deepEqual(await stores.groups.groupsOf(alice), [chat]);
      assert.equal(await stores.groups.get(`g:missing${Date.now()}`), undefined);
    });

    it("remembers when users were last seen", async () => {
      const user = `ls${process.pid}${Date.now()}`;
      await stores.presence.setLastSeen(user, 1234);
      await stores.presence.setLastSeen(user, 5678);
      assert.deepEqual(await stores.presence.lastSeen([user, `${user}-never`]), new Map([[user, 5678]]));
    });
  });
}
