import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import pino from "pino";
import { withCoalescedWatermarks } from "../../src/storage/coalesced-watermarks.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import type { MemberMarks } from "../../src/storage/receipts.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { ManualClock } from "../../src/util/clock.ts";

const WINDOW_MS = 50;
const log = pino({ level: "silent" });
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function lmdb(): { path: string; stores: Stores } {
  const dir = mkdtempSync(join(tmpdir(), "coalesced-"));
  dirs.push(dir);
  const path = join(dir, "lmdb");
  return { path, stores: openLmdbStores({ path }) };
}

/** Real LMDB stores whose cursor and mark writes are counted, and can be told to fail. */
function counted(stores: Stores) {
  const writes: string[] = [];
  let failing = false;
  const cursors = stores.cursors;
  const receipts = stores.receipts;
  const inner: Stores = {
    ...stores,
    cursors: {
      cursors: (user, device) => cursors.cursors(user, device),
      setCursor: async (user, device, chat, seq) => {
        writes.push(`cursor ${user}/${device}/${chat}=${seq}`);
        if (failing) throw new Error("disk on fire");
        await cursors.setCursor(user, device, chat, seq);
      },
    },
    receipts: {
      marks: (chat) => receipts.marks(chat),
      setMarks: async (chat, user, marks) => {
        writes.push(`marks ${chat}/${user}=${marks.delivered},${marks.read}`);
        if (failing) throw new Error("disk on fire");
        await receipts.setMarks(chat, user, marks);
      },
    },
  };
  return { inner, writes, failWrites: (on: boolean) => (failing = on) };
}

describe("coalesced cursor and mark writes", () => {
  it("writes the latest cursor per (user, device, chat) once per window", async () => {
    const clock = new ManualClock();
    const { stores } = lmdb();
    const { inner, writes } = counted(stores);
    const coalesced = withCoalescedWatermarks(inner, { windowMs: WINDOW_MS, clock, log });
    for (let seq = 1; seq <= 100; seq += 1) await coalesced.cursors.setCursor("ann", "phone", "d:ann:bob", seq);
    await coalesced.cursors.setCursor("ann", "laptop", "d:ann:bob", 7);
    assert.deepEqual(writes, [], "nothing is written before the window ends");
    // The single writer reads its own pending values back.
    assert.deepEqual(await coalesced.cursors.cursors("ann", "phone"), new Map([["d:ann:bob", 100]]));

    clock.advance(WINDOW_MS - 1);
    assert.deepEqual(writes, []);
    clock.advance(1);
    assert.deepEqual(writes.sort(), ["cursor ann/laptop/d:ann:bob=7", "cursor ann/phone/d:ann:bob=100"]);
    await coalesced.close();
  });

  it("takes the promise-free setCursorSoon and setMarksSoon into the same window", async () => {
    const clock = new ManualClock();
    const { stores } = lmdb();
    const { inner, writes } = counted(stores);
    const coalesced = withCoalescedWatermarks(inner, { windowMs: WINDOW_MS, clock, log });
    const cursors = coalesced.cursors;
    const receipts = coalesced.receipts;
    assert.ok(cursors.setCursorSoon && receipts.setMarksSoon, "the coalescer offers both");
    cursors.setCursorSoon("ann", "phone", "d:ann:bob", 3);
    await cursors.setCursor("ann", "phone", "d:ann:bob", 2);
    receipts.setMarksSoon("d:ann:bob", "ann", { delivered: 3, read: 1 });
    assert.deepEqual(writes, []);
    assert.deepEqual(await cursors.cursors("ann", "phone"), new Map([["d:ann:bob", 3]]));
    assert.deepEqual(await receipts.marks("d:ann:bob"), new Map([["ann", { delivered: 3, read: 1 }]]));
    clock.advance(WINDOW_MS);
    assert.deepEqual(writes.sort(), ["cursor ann/phone/d:ann:bob=3", "marks d:ann:bob/ann=3,1"]);
    await coalesced.close();
  });

  it("never lets an older value overtake a newer one, in the window or in the store", async () => {
    const clock = new ManualClock();
    const { path, stores } = lmdb();
    const coalesced = withCoalescedWatermarks(stores, { windowMs: WINDOW_MS, clock, log });
    await stores.cursors.setCursor("ann", "phone", "d:ann:bob", 9);
    await coalesced.cursors.setCursor("ann", "phone", "d:ann:bob", 12);
    await coalesced.cursors.setCursor("ann", "phone", "d:ann:bob", 10);
    assert.equal((await coalesced.cursors.cursors("ann", "phone")).get("d:ann:bob"), 12);

    await coalesced.receipts.setMarks("d:ann:bob", "bob", { delivered: 5, read: 3 });
    await coalesced.receipts.setMarks("d:ann:bob", "bob", { delivered: 4, read: 4 });
    const expected: MemberMarks = { delivered: 5, read: 4 };
    assert.deepEqual((await coalesced.receipts.marks("d:ann:bob")).get("bob"), expected);
    clock.advance(WINDOW_MS);
    await coalesced.close();
    const reopened = openLmdbStores({ path });
    try {
      assert.equal((await reopened.cursors.cursors("ann", "phone")).get("d:ann:bob"), 12);
      assert.deepEqual((await reopened.receipts.marks("d:ann:bob")).get("bob"), expected);
    } finally {
      await reopened.close();
    }
  });

  it("writes what is pending when the stores close, without waiting for the window", async () => {
    const clock = new ManualClock();
    const { path, stores } = lmdb();
    const { inner, writes } = counted(stores);
    const coalesced = withCoalescedWatermarks(inner, { windowMs: WINDOW_MS, clock, log });
    await coalesced.cursors.setCursor("ann", "phone", "g:team", 4);
    await coalesced.receipts.setMarks("g:team", "ann", { delivered: 4, read: 2 });
    await coalesced.close();
    assert.equal(writes.length, 2);
    const reopened = openLmdbStores({ path });
    try {
      assert.deepEqual(await reopened.cursors.cursors("ann", "phone"), new Map([["g:team", 4]]));
      assert.deepEqual((await reopened.receipts.marks("g:team")).get("ann"), { delivered: 4, read: 2 });
    } finally {
      await reopened.close();
    }
  });

  it("keeps values readable while their write is in flight, and drops (logs) a failed one", async () => {
    const clock = new ManualClock();
    const { stores } = lmdb();
    const { inner, writes, failWrites } = counted(stores);
    const coalesced = withCoalescedWatermarks(inner, { windowMs: WINDOW_MS, clock, log });
    failWrites(true);
    await coalesced.cursors.setCursor("ann", "phone", "d:ann:bob", 3);
    clock.advance(WINDOW_MS);
    // Handed to the store and not settled yet: still what the actor reads.
    assert.equal((await coalesced.cursors.cursors("ann", "phone")).get("d:ann:bob"), 3);
    failWrites(false);
    await coalesced.cursors.setCursor("ann", "phone", "d:ann:bob", 4);
    await coalesced.close();
    assert.deepEqual(writes, ["cursor ann/phone/d:ann:bob=3", "cursor ann/phone/d:ann:bob=4"]);
  });

  it("writes every value at once with a window of 0", async () => {
    const clock = new ManualClock();
    const { stores } = lmdb();
    const { inner, writes } = counted(stores);
    const coalesced = withCoalescedWatermarks(inner, { windowMs: 0, clock, log });
    await coalesced.cursors.setCursor("ann", "phone", "d:ann:bob", 1);
    await coalesced.cursors.setCursor("ann", "phone", "d:ann:bob", 2);
    assert.deepEqual(writes, ["cursor ann/phone/d:ann:bob=1", "cursor ann/phone/d:ann:bob=2"]);
    assert.equal(clock.pending, 0);
    await coalesced.close();
  });
});
