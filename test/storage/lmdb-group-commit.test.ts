import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { open, type Database, type RootDatabase } from "lmdb";
import { SeqConflictError } from "../../src/storage/errors.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import { TurnCommitter, type TransactionRunner } from "../../src/storage/lmdb/turn-committer.ts";
import type { StoredMessage } from "../../src/storage/messages.ts";
import type { Stores } from "../../src/storage/stores.ts";

describe("LMDB group commit (TurnCommitter), on a real environment", () => {
  let dir: string;
  let root: RootDatabase;
  let db: Database<number, string>;
  let transactions = 0;
  /** The environment, counting the write transactions the committer asks for. */
  const counting: TransactionRunner = {
    transaction: (callback) => {
      transactions += 1;
      return root.transaction(callback);
    },
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "router-turn-"));
    root = open({ path: dir });
    db = root.openDB({ name: "values" });
  });
  after(async () => {
    await root.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes everything handed in before the transaction runs in that one transaction", async () => {
    const committer = new TurnCommitter<number>(counting, (n) => void db.put(`k${n}`, n));
    transactions = 0;
    const handedIn = Array.from({ length: 500 }, (_, n) => committer.submit(n));
    await Promise.all(handedIn);
    assert.equal(transactions, 1);
    for (let n = 0; n < 500; n += 1) assert.equal(db.get(`k${n}`), n, "readable once its promise resolved");
  });

  it("refuses only the item whose apply threw; the others commit", async () => {
    const committer = new TurnCommitter<number>(counting, (n) => {
      if (n === 3) throw new SeqConflictError("three is taken");
      db.put(`r${n}`, n);
    });
    const outcomes = await Promise.allSettled([1, 2, 3, 4].map((n) => committer.submit(n)));
    assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    assert.ok(outcomes[2]?.status === "rejected" && outcomes[2].reason instanceof SeqConflictError);
    assert.deepEqual([1, 2, 3, 4].map((n) => db.get(`r${n}`)), [1, 2, undefined, 4]);
  });

  it("starts the next transaction for what is handed in once one is running", async () => {
    let inner: Promise<void> | undefined;
    const committer: TurnCommitter<number> = new TurnCommitter<number>(counting, (n) => {
      db.put(`n${n}`, n);
      // Handed in from inside the running transaction: it must not be lost in it.
      if (n === 0) inner = committer.submit(1);
    });
    transactions = 0;
    await committer.submit(0);
    assert.ok(inner);
    await inner;
    assert.equal(transactions, 2);
    assert.equal(db.get("n1"), 1);
  });
});

describe("LMDB message store: appends of many chats in one turn", () => {
  let dir: string;
  let stores: Stores;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "router-turn-store-"));
    stores = openLmdbStores({ path: dir });
  });
  after(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const message = (chat: string, seq: number, cid: string): StoredMessage => ({ chat, seq, from: "ann", ts: 1000 + seq, body: cid, kind: "text", cid });

  it("commits every chat's batch and fences each chat on its own head", async () => {
    const chats = Array.from({ length: 200 }, (_, i) => `d:ann:u${i}`);
    await Promise.all(chats.map((chat) => stores.messages.append({ chat, messages: [message(chat, 1, "one")], notify: ["ann"] })));
    // One turn: a second message in every chat, a gap in one, another writer's seq 1 in another.
    const [gapChat, takenChat] = [chats[0]!, chats[1]!];
    const outcomes = await Promise.allSettled([
      ...chats.map((chat) => stores.messages.append({ chat, messages: [message(chat, 2, "two")], notify: ["ann"] })),
      stores.messages.append({ chat: gapChat, messages: [message(gapChat, 4, "gap")], notify: [] }),
      stores.messages.append({ chat: takenChat, messages: [message(takenChat, 1, "other")], notify: [] }),
    ]);
    const refused = outcomes.filter((o) => o.status === "rejected");
    assert.equal(refused.length, 2);
    for (const outcome of refused) assert.ok(outcome.status === "rejected" && outcome.reason instanceof SeqConflictError);
    for (const chat of chats) {
      assert.deepEqual((await stores.messages.readAfter(chat, 0, 10)).map((m) => m.cid), ["one", "two"]);
      assert.equal(await stores.messages.lastSeq(chat), 2);
    }
    const inbox = await stores.messages.inbox("ann");
    assert.equal(inbox.length, chats.length);
    assert.ok(inbox.every((entry) => entry.seq === 2));
  });

  it("accepts a batch again that already landed (a retry after a lost answer), writing nothing twice", async () => {
    const chat = "d:ann:retry";
    const batch = { chat, messages: [message(chat, 1, "a"), message(chat, 2, "b")], notify: [] };
    await stores.messages.append(batch);
    await stores.messages.append(batch);
    await stores.messages.append({ chat, messages: [message(chat, 3, "c")], notify: [] });
    assert.deepEqual((await stores.messages.readAfter(chat, 0, 10)).map((m) => m.seq), [1, 2, 3]);
  });
});
