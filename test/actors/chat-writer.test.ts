import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { ChatWriter, retryDelay, SWEEP_AFTER, WritesInFlight, type Accepted, type ChatWriterDeps } from "../../src/actors/chat-writer.ts";
import type { ReplyTo } from "../../src/seams.ts";
import { SeqConflictError, StorageUnavailableError } from "../../src/storage/errors.ts";
import type { AppendBatch, MessageStore, SendRecord, StoredMessage } from "../../src/storage/messages.ts";
import { ManualClock } from "../../src/util/clock.ts";

const CHAT = "d:ann:ben";

/**
 * What the next append does. `ok`: written. `down`: refused, nothing written. `lost`: written,
 * but the answer is lost (a timeout): the writer cannot tell it from `down`.
 */
type Outcome = "ok" | "down" | "lost";

/**
 * A chat log that keeps MessageStore's append contract (continue the log or be the same
 * batch again, else SeqConflictError) and can be told how each append ends, and held open.
 */
class ScriptedStore implements Pick<MessageStore, "append" | "lastSeq" | "findByCid"> {
  readonly log: StoredMessage[] = [];
  readonly appends: AppendBatch[] = [];
  readonly script: Outcome[] = [];
  readonly pending = new Set<Promise<void>>();
  private gate: Promise<void> | undefined;

  /** Appends wait until the returned function is called. */
  holdAppends(): () => void {
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    return () => {
      this.gate = undefined;
      open();
    };
  }

  append(batch: AppendBatch): Promise<void> {
    const write = this.write(batch, this.gate);
    this.pending.add(write);
    void write.catch(() => {}).finally(() => this.pending.delete(write));
    return write;
  }

  private async write(batch: AppendBatch, gate: Promise<void> | undefined): Promise<void> {
    await gate;
    this.appends.push({ ...batch, messages: batch.messages.map((m) => ({ ...m })) });
    const outcome = this.script.shift() ?? "ok";
    if (outcome === "down") throw new StorageUnavailableError("store down");
    this.land(batch.messages);
    if (outcome === "lost") throw new StorageUnavailableError("timed out");
  }

  private land(messages: readonly StoredMessage[]): void {
    const first = messages[0];
    if (!first) return;
    const there = this.log[first.seq - 1];
    if (there) {
      if (there.cid === first.cid && there.from === first.from && there.ts === first.ts) return;
      throw new SeqConflictError(`${CHAT} already holds ${first.seq}`);
    }
    if (this.log.length !== first.seq - 1) throw new SeqConflictError(`${CHAT} is at ${this.log.length}`);
    for (const message of messages) this.log.push({ ...message });
  }

  /** Another writer (a node that also believes it owns the chat) appends. */
  foreign(from: string, cid: string, ts: number): void {
    this.log.push({ chat: CHAT, seq: this.log.length + 1, from, ts, body: cid, kind: "text", cid });
  }

  async lastSeq(): Promise<number> {
    return this.log.length;
  }

  async findByCid(_chat: string, from: string, cid: string): Promise<SendRecord | undefined> {
    const found = this.log.find((m) => m.from === from && m.cid === cid);
    return found && { seq: found.seq, ts: found.ts };
  }
}

/** The same log, reporting appends by callback as the LMDB store does (MessageStore.appendThen). */
class CallbackStore extends ScriptedStore {
  appendThen(batch: AppendBatch, settled: (error?: unknown) => void): void {
    this.append(batch).then(() => settled(), settled);
  }
}

interface Answer {
  r: number;
  seq: number;
  ts: number;
}

/**
 * A writer as its actor runs it: outcomes reported to a mailbox the test hands back (to
 * whichever writer is current: a restarted actor's), holds counted as the directory counts
 * them, time on a manual clock.
 */
function harness(store = new ScriptedStore(), clock = new ManualClock(1_000_000)) {
  const mailbox: Array<{ batchId: number; error?: unknown }> = [];
  const sent: Answer[] = [];
  const refused: number[] = [];
  const delivered: number[][] = [];
  let holds = 0;
  let conflicts = 0;
  let nextR = 1;
  const deps: ChatWriterDeps = {
    store,
    clock,
    log: pino({ level: "silent" }),
    writes: new WritesInFlight(),
    maxBatch: 3,
    report: (_chat, batchId, error) => void mailbox.push({ batchId, error }),
    hold: (_chat, work) => {
      holds += 1;
      void work.finally(() => (holds -= 1));
    },
    keep: () => {
      holds += 1;
      let held = true;
      return () => {
        if (held) holds -= 1;
        held = false;
      };
    },
    sent: (waiter, _chat, seq, ts) => void sent.push({ r: waiter.r, seq, ts }),
    refuse: (waiter) => void refused.push(waiter.r),
    durable: (_chat, items) => void delivered.push(items.map((item) => item.message.seq)),
    onConflict: () => void (conflicts += 1),
  };
  const waiter = (): ReplyTo => ({ conn: { node: "n", id: 1 }, r: nextR++ });
  /** Accepts a message from `from` with idempotency key `cid`; returns its waiter's r. */
  const send = (writer: ChatWriter, cid: string, from = "ann"): number => {
    const replyTo = waiter();
    if (writer.join(from, cid, replyTo)) return replyTo.r;
    const message: StoredMessage = { chat: CHAT, seq: writer.takeSeq(), ts: writer.stamp(), from, body: cid, kind: "text", cid };
    const item: Accepted = { message, live: message, device: "d1", waiters: [replyTo], audience: ["ann", "ben"], notify: ["ann", "ben"], hidden: [], patches: [] };
    writer.enqueue(item);
    return replyTo.r;
  };
  /** Lets every write in flight end and hands each outcome to `writer`, until nothing is left. */
  const settle = async (writer: ChatWriter): Promise<void> => {
    for (;;) {
      await Promise.allSettled([...store.pending]);
      const next = mailbox.shift();
      if (!next) return;
      await writer.written(next.batchId, next.error);
    }
  };
  const newWriter = async (): Promise<ChatWriter> => {
    const writer = new ChatWriter(deps);
    await writer.load(CHAT);
    return writer;
  };
  return {
    store,
    clock,
    deps,
    sent,
    refused,
    delivered,
    mailbox,
    send,
    settle,
    newWriter,
    waiter,
    holds: () => holds,
    conflicts: () => conflicts,
    seqOf: (r: number) => sent.filter((answer) => answer.r === r).map((answer) => answer.seq),
  };
}

describe("the batches in flight of a node", () => {
  it("keeps a chat's entry between its batches and drops ended ones in a sweep, never one in flight", () => {
    const writes = new WritesInFlight();
    const live = writes.begin("d:a:b", []);
    for (let i = 0; i < SWEEP_AFTER - 1; i += 1) {
      writes.begin(`d:x:${i % 100}`, []);
      writes.end(`d:x:${i % 100}`);
    }
    assert.equal(writes.size, 101, "ended chats keep their entry until the sweep");
    assert.equal(writes.get("d:x:5"), undefined);
    writes.begin("d:x:5", []);
    writes.end("d:x:5");
    assert.equal(writes.size, 1, "the sweep dropped every ended entry");
    assert.equal(writes.get("d:a:b"), live, "the batch in flight is kept");
  });
});

for (const [reports, newStore] of [
  ["by promise", () => new ScriptedStore()],
  ["by callback", () => new CallbackStore()],
] as const) {
  describe(`the chat writer (the store reports ${reports})`, () => {
    it("continues the store's log and answers `sent` only once a batch is durable", async () => {
      const h = harness(newStore());
      h.store.foreign("ben", "before", 5);
      const writer = await h.newWriter();
      assert.equal(writer.lastSeq, 1);
      const release = h.store.holdAppends();
      const r = h.send(writer, "a");
      await Promise.resolve();
      assert.deepEqual(h.sent, [], "nothing answered before the write is durable");
      assert.ok(h.holds() > 0, "the actor is held while its write is in flight");
      release();
      await h.settle(writer);
      assert.deepEqual(h.seqOf(r), [2]);
      assert.equal(writer.lastSeq, 2);
      assert.deepEqual(h.delivered, [[2]]);
      assert.equal(h.holds(), 0);
    });

    it("gathers what arrives while a batch is written into the next, at most maxBatch a write", async () => {
      const h = harness(newStore());
      const writer = await h.newWriter();
      const release = h.store.holdAppends();
      const rs = ["a", "b", "c", "d", "e", "f"].map((cid) => h.send(writer, cid));
      release();
      await h.settle(writer);
      assert.deepEqual(h.store.appends.map((batch) => batch.messages.map((m) => m.seq)), [[1], [2, 3, 4], [5, 6]]);
      assert.deepEqual(rs.map((r) => h.seqOf(r)), [[1], [2], [3], [4], [5], [6]]);
      assert.deepEqual(h.store.appends[1]!.notify, ["ann", "ben"], "one audience, merged once");
    });

    it("joins a retry with the same cid to the entry in flight: one entry, both answered", async () => {
      const h = harness(newStore());
      const writer = await h.newWriter();
      const release = h.store.holdAppends();
      const first = h.send(writer, "a");
      const retry = h.send(writer, "a");
      assert.ok(writer.inFlight("ann", "a"));
      release();
      await h.settle(writer);
      assert.equal(h.store.log.length, 1);
      assert.deepEqual([h.seqOf(first), h.seqOf(retry)], [[1], [1]]);
      assert.ok(!writer.inFlight("ann", "a"), "forgotten once durable (the store answers from then on)");
    });

    it("joins retries whether few or many entries are pending, and tells senders apart by cid", async () => {
      const h = harness(newStore());
      const writer = await h.newWriter();
      const release = h.store.holdAppends();
      // Past INDEX_FROM (16) pending entries the writer looks retries up in an index; below, by a walk.
      const cids = Array.from({ length: 40 }, (_, i) => `c${i}`);
      const firsts = cids.map((cid) => h.send(writer, cid));
      const otherSender = h.send(writer, "c7", "ben");
      const retries = [0, 17, 39].map((i) => h.send(writer, cids[i]!));
      assert.ok(writer.inFlight("ann", "c39") && writer.inFlight("ben", "c7") && !writer.inFlight("ben", "c8"));
      release();
      await h.settle(writer);
      assert.equal(h.store.log.length, 41, "each cid once per sender, the retries joined");
      assert.deepEqual(retries.map((r) => h.seqOf(r)), [0, 17, 39].map((i) => h.seqOf(firsts[i]!)));
      assert.deepEqual(h.seqOf(otherSender), [41], "ben's c7 is not ann's c7");
      assert.ok(!writer.inFlight("ann", "c0"), "nothing is pending once all is durable");
      // Few pending again: a retry still joins.
      const hold = h.store.holdAppends();
      const first = h.send(writer, "late");
      const retry = h.send(writer, "late");
      hold();
      await h.settle(writer);
      assert.deepEqual([h.seqOf(first), h.seqOf(retry)], [[42], [42]]);
      assert.equal(h.store.log.length, 42);
    });

    it("after a failed write refuses what waits, takes no new seq, and retries the same batch with backoff", async () => {
      const h = harness(newStore());
      const writer = await h.newWriter();
      h.store.script.push("down", "down");
      const release = h.store.holdAppends();
      const first = h.send(writer, "a");
      const queued = h.send(writer, "b");
      release();
      await h.settle(writer);
      assert.deepEqual(h.refused.sort(), [first, queued].sort(), "every waiter told to retry");
      assert.equal(writer.writable, false);
      assert.equal(writer.accepting, false);
      assert.equal(writer.nextSeq, 2, "the queued entry gave its seq back; the failed one keeps it");
      assert.ok(!writer.inFlight("ann", "b"));
      assert.ok(writer.inFlight("ann", "a"), "a retry of the failed entry joins it");

      assert.equal(h.store.appends.length, 1);
      h.clock.advance(retryDelay(1) - 1);
      assert.equal(h.store.appends.length, 1, "no retry before its delay");
      h.clock.advance(1);
      await h.settle(writer);
      assert.equal(h.store.appends.length, 2, "retried once its delay passed");
      assert.equal(writer.writable, false, "still failing");
      const retried = h.send(writer, "a");
      h.clock.advance(retryDelay(2));
      await h.settle(writer);
      assert.equal(writer.writable, true);
      assert.deepEqual(h.store.appends.map((batch) => batch.messages.map((m) => [m.seq, m.cid])), [[[1, "a"]], [[1, "a"]], [[1, "a"]]]);
      assert.deepEqual(h.seqOf(retried), [1], "the retry joined and was answered with the stored seq");
      assert.deepEqual(h.seqOf(first), [], "the first request was already refused");
      const next = h.send(writer, "c");
      await h.settle(writer);
      assert.deepEqual(h.seqOf(next), [2]);
      assert.equal(h.holds(), 0);
    });

    it("backs off exponentially, up to two seconds", () => {
      assert.deepEqual([1, 2, 3, 4, 5, 6].map(retryDelay), [100, 200, 400, 800, 1600, 2000]);
      assert.equal(retryDelay(40), 2000);
    });

    it("retries a write whose answer was lost with the same seqs and content, so it lands once", async () => {
      const h = harness(newStore());
      const writer = await h.newWriter();
      h.store.script.push("lost");
      const r = h.send(writer, "a");
      await h.settle(writer);
      assert.equal(h.store.log.length, 1, "it did land");
      assert.equal(writer.writable, false, "but the writer cannot know");
      h.clock.advance(retryDelay(1));
      await h.settle(writer);
      assert.equal(writer.writable, true);
      assert.deepEqual(h.store.log.map((m) => m.cid), ["a"], "written once");
      assert.deepEqual(h.store.appends[0]!.messages, h.store.appends[1]!.messages, "the retry is the same batch");
      assert.deepEqual(h.refused, [r]);
      assert.equal(writer.lastSeq, 1);
    });

    it("renumbers after another writer took its seqs, answering what reached the other writer with its seq", async () => {
      const h = harness(newStore());
      const writer = await h.newWriter();
      const release = h.store.holdAppends();
      const a = h.send(writer, "a");
      const b = h.send(writer, "b", "ben");
      const c = h.send(writer, "c");
      // Meanwhile another node wrote seqs 1 and 2, one of them ben's retry of "b".
      h.store.foreign("ann", "x", 900);
      h.store.foreign("ben", "b", 901);
      release();
      await h.settle(writer);
      assert.equal(h.conflicts(), 1);
      assert.deepEqual(h.seqOf(b), [2], "answered with the other writer's seq, not written again");
      assert.deepEqual(h.seqOf(a), [3]);
      assert.deepEqual(h.seqOf(c), [4]);
      assert.deepEqual(h.store.log.map((m) => m.cid), ["x", "b", "a", "c"]);
      const stamps = h.store.log.map((m) => m.ts);
      assert.deepEqual(stamps, [...stamps].sort((x, y) => x - y), "times keep seq order");
      assert.equal(writer.lastSeq, 4);
      assert.equal(writer.nextSeq, 5);
    });

    it("a restarted writer adopts the batch in flight: no seq handed out twice, its outcome answered", async () => {
      const h = harness(newStore());
      const crashed = await h.newWriter();
      const release = h.store.holdAppends();
      const first = h.send(crashed, "a");
      // The actor restarts while the write is in flight; its new incarnation loads a new writer.
      const writer = await h.newWriter();
      assert.equal(writer.nextSeq, 2, "the seq in flight is not handed out again");
      const retry = h.send(writer, "a");
      const next = h.send(writer, "b");
      release();
      await h.settle(writer);
      assert.deepEqual(h.seqOf(first), [1]);
      assert.deepEqual(h.seqOf(retry), [1]);
      assert.deepEqual(h.seqOf(next), [2]);
      assert.deepEqual(h.store.log.map((m) => m.cid), ["a", "b"]);
    });

    it("ignores an outcome that is not its batch's (a stale report)", async () => {
      const h = harness(newStore());
      const writer = await h.newWriter();
      await writer.written(12345, new StorageUnavailableError("stale"));
      assert.equal(writer.writable, true);
      const r = h.send(writer, "a");
      await h.settle(writer);
      assert.deepEqual(h.seqOf(r), [1]);
    });
  });
}
