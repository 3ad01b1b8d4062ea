import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import type { UserMessage } from "../../src/actors/messages.ts";
import type { ClientLink, ConnectionRef, FrameShare } from "../../src/seams.ts";
import { userBehaviour, type UserState } from "../../src/actors/user-actor.ts";
import { CLOSE_CODES, type ServerFrame } from "../../src/protocol/frames.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { systemClock } from "../../src/util/clock.ts";
import { tempDir } from "../support/node.ts";

const BUDGET: FrameShare = { framesPerSecond: 120, burst: 60 };

/** A ClientLink that records what the actor asked of each connection. */
function recordingLink() {
  const key = (conn: ConnectionRef) => `${conn.node}/${conn.id}`;
  const frames = new Map<string, ServerFrame[]>();
  const closes = new Map<string, number>();
  const shares = new Map<string, FrameShare>();
  const link: ClientLink = {
    send: (conn, frame) => void frames.set(key(conn), [...(frames.get(key(conn)) ?? []), frame]),
    close: (conn, code) => void closes.set(key(conn), code),
    closeUser: () => {},
    limit: (conn, share) => void shares.set(key(conn), share),
  };
  return { link, frames, closes, shares, key };
}

/**
 * The user actor's device bookkeeping, handled message by message as its mailbox would: how
 * many devices it lets in, and the share of the user's budget each connection is told.
 */
describe("a user's device sessions", () => {
  let dir: string;
  let stores: Stores;
  before(() => {
    dir = tempDir();
    stores = openLmdbStores({ path: dir });
  });
  after(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function ursula(recorded: ReturnType<typeof recordingLink>) {
    return userBehaviour({
      nodeId: "owner",
      stores,
      clock: systemClock,
      link: recorded.link,
      conversations: { tell: () => {}, tellIfActive: () => false },
      log: pino({ level: "silent" }),
      syncLimitPerChat: 1000,
      presence: { userOnline: () => {}, userOffline: () => {}, privacyChanged: () => {} },
      frameBudget: BUDGET,
      maxDevices: 3,
      contactLimits: { maxContacts: 10, maxBlocks: 10 },
    });
  }

  it("caps devices, divides the budget among them, and forgets devices on a node that left", async () => {
    const recorded = recordingLink();
    const behaviour = ursula(recorded);
    let state: UserState = behaviour.initialState("ursula");
    const handle = async (message: UserMessage) => (state = await behaviour.handle(state, message, "ursula"));
    let nextId = 0;
    const attach = async (device: string, node: string) => {
      const conn = { node, id: (nextId += 1) };
      await handle({ type: "attach", device, conn, r: 1 });
      return conn;
    };
    const shareOf = (conn: ConnectionRef) => recorded.shares.get(recorded.key(conn));
    const split = (ways: number) => ({ framesPerSecond: BUDGET.framesPerSecond / ways, burst: BUDGET.burst / ways });

    const a = await attach("a", "gw1");
    assert.deepEqual(shareOf(a), BUDGET);
    const b = await attach("b", "gw1");
    const c = await attach("c", "gw2");
    for (const conn of [a, b, c]) assert.deepEqual(shareOf(conn), split(3));

    // A fourth device is refused; the three are untouched.
    const d = await attach("d", "gw2");
    const refusal = recorded.frames.get(recorded.key(d))!;
    assert.deepEqual(refusal.map((f) => f.t === "err" && f.code), ["too_many_devices"]);
    assert.equal(recorded.closes.get(recorded.key(d)), CLOSE_CODES.too_many_devices);
    assert.equal(shareOf(d), undefined);
    assert.deepEqual([...state.sessions.keys()], ["a", "b", "c"]);
    for (const conn of [a, b, c]) assert.equal(recorded.closes.get(recorded.key(conn)), undefined);

    // A device already in reconnecting replaces its connection and is not counted twice.
    const b2 = await attach("b", "gw2");
    assert.equal(recorded.closes.get(recorded.key(b)), CLOSE_CODES.replaced);
    assert.equal(recorded.closes.get(recorded.key(b2)), undefined);
    assert.deepEqual(shareOf(b2), split(3));

    // gw1 left the ring: device a went with it without a detach. Its slot and share are freed.
    await handle({ type: "gateways-gone", nodes: ["gw1"] });
    assert.deepEqual([...state.sessions.keys()].sort(), ["b", "c"]);
    // Were gw1 only cut off for a while, its socket must not stay on, hearing nothing: it is closed.
    assert.equal(recorded.closes.get(recorded.key(a)), CLOSE_CODES.going_away);
    for (const conn of [b2, c]) assert.deepEqual(shareOf(conn), split(2));
    const d2 = await attach("d", "gw2");
    assert.equal(recorded.closes.get(recorded.key(d2)), undefined);
    assert.deepEqual(shareOf(d2), split(3));

    // A detach gives the others the departed device's share.
    await handle({ type: "detach", device: "c", conn: c });
    for (const conn of [b2, d2]) assert.deepEqual(shareOf(conn), split(2));
  });

  it("fills a gap from the store before handing a message on, on every device, and skips what a device has", async () => {
    const recorded = recordingLink();
    const behaviour = ursula(recorded);
    let state: UserState = behaviour.initialState("ursula");
    const handle = async (message: UserMessage) => (state = await behaviour.handle(state, message, "ursula"));
    const chat = "d:ursula:victor";
    const stored = (seq: number) => ({ chat, seq, ts: 1000 + seq, from: "victor", body: `m${seq}`, kind: "text", cid: `c${seq}` });
    await stores.messages.append({ chat, messages: [1, 2, 3, 4].map(stored), notify: ["ursula", "victor"] });
    const phone = { node: "owner", id: 101 };
    const laptop = { node: "owner", id: 102 };
    await handle({ type: "attach", device: "phone", conn: phone, r: 1 });
    await handle({ type: "attach", device: "laptop", conn: laptop, r: 1 });
    const seqsOf = (conn: ConnectionRef) => recorded.frames.get(recorded.key(conn))!.flatMap((f) => (f.t === "msg" ? [f.seq] : []));
    assert.deepEqual(seqsOf(phone), [1, 2, 3, 4], "synced on attach");
    // Both were handed 1-4; a deliver of 5 is contiguous. Then 7 arrives without 6 (a missed
    // deliver): 6 comes from the store first, then 7, to both devices; 5 again is skipped.
    await stores.messages.append({ chat, messages: [5, 6, 7].map(stored), notify: ["ursula", "victor"] });
    const origin = { user: "victor", device: "v" };
    await handle({ type: "deliver", messages: [stored(5)], origin });
    await handle({ type: "deliver", messages: [stored(5), stored(7)], origin });
    for (const device of [phone, laptop]) assert.deepEqual(seqsOf(device), [1, 2, 3, 4, 5, 6, 7]);
  });
});
