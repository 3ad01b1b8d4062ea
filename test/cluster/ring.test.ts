import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  EmptyMembershipError,
  Ring,
  hashString,
  ownerChanges,
  ownerOf,
  ownershipShares,
} from "../../src/cluster/ring.ts";

function nodeIds(count: number, prefix = "node"): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

function sampleKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i % 2 === 0 ? `user:u${i}` : `chat:d:u${i}:u${i + 1}`));
}

function owners(ring: Ring, keys: readonly string[]): string[] {
  return keys.map((key) => ring.ownerOf(key));
}

describe("hashString", () => {
  // Published MurmurHash3 x86_32 vectors, fed as UTF-16LE code units: other languages
  // can reproduce placement from the same algorithm.
  it("matches MurmurHash3 x86_32 over UTF-16LE", () => {
    assert.equal(hashString("", 1), 0x514e28b7);
    assert.equal(hashString("", 0xffffffff), 0x81f16f39);
    assert.equal(hashString(String.fromCharCode(0xffff, 0xffff), 0), 0x76293b50);
    assert.equal(hashString(String.fromCharCode(0x4321, 0x8765), 0), 0xf55b516b);
    assert.equal(hashString(String.fromCharCode(0x4321, 0x8765), 0x5082edee), 0x2362f9de);
    assert.equal(hashString(String.fromCharCode(0x4321), 0), 0xa0f7b07a);
  });
});

describe("Ring", () => {
  it("places known keys on pinned owners, so versions of the router agree", () => {
    const ring = Ring.of(["node-a", "node-b", "node-c", "node-d", "node-e"]);
    const expected: Record<string, string> = {
      "user:alice": "node-c",
      "user:bob": "node-b",
      "user:carol": "node-e",
      "user:dave": "node-e",
      "user:😀": "node-a",
      "chat:d:alice:bob": "node-b",
      "chat:d:bob:carol": "node-c",
      "chat:g:family": "node-c",
    };
    for (const [key, owner] of Object.entries(expected)) assert.equal(ring.ownerOf(key), owner, key);
  });

  it("is deterministic: separately built rings agree on every key", () => {
    const keys = sampleKeys(5_000);
    assert.deepEqual(owners(Ring.of(nodeIds(7)), keys), owners(Ring.of(nodeIds(7)), keys));
  });

  it("does not depend on member order or duplicates", () => {
    const ids = nodeIds(12);
    const shuffled = [...ids].reverse().concat(ids.slice(0, 3));
    const keys = sampleKeys(5_000);
    const ring = Ring.of(ids);
    const other = Ring.of(shuffled);
    assert.deepEqual(other.members, ring.members);
    assert.deepEqual(owners(other, keys), owners(ring, keys));
    assert.ok(ring.sameMembersAs(other));
  });

  it("gives every key exactly one owner, and that owner is a member", () => {
    const ring = Ring.of(nodeIds(9));
    for (const key of sampleKeys(2_000)) {
      const claimants = ring.members.filter((id) => ring.isOwner(id, key));
      assert.deepEqual(claimants, [ring.ownerOf(key)]);
      assert.ok(ring.has(ring.ownerOf(key)));
    }
  });

  it("with one member, that member owns everything", () => {
    const ring = Ring.of(["solo"]);
    for (const key of sampleKeys(100)) assert.equal(ring.ownerOf(key), "solo");
  });

  it("rejects an empty membership with a clear error", () => {
    assert.throws(() => Ring.of([]), EmptyMembershipError);
    assert.throws(() => ownerOf("user:alice", []), /membership has no nodes/);
  });

  it("spreads keys evenly", () => {
    const ring = Ring.of(nodeIds(10));
    const shares = ownershipShares(ring, sampleKeys(100_000));
    assert.equal(shares.size, 10);
    for (const [id, { keys, share }] of shares) {
      // Binomial stddev here is ~95 keys; 5% (500 keys) is over five of them.
      assert.ok(Math.abs(keys - 10_000) < 500, `${id} holds ${keys}`);
      assert.ok(Math.abs(share - 0.1) < 0.005, `${id} share ${share}`);
    }
  });

  it("splits keys fairly between nodes whose primary seeds collide", () => {
    // These two ids hash to the same primary seed; without the tie-break one would own nothing.
    const colliding = ["node-62978", "node-121957"];
    assert.equal(hashString(colliding[0] as string, 0x9747b28c), hashString(colliding[1] as string, 0x9747b28c));
    const shares = ownershipShares(Ring.of(colliding), sampleKeys(20_000));
    for (const { share } of shares.values()) assert.ok(Math.abs(share - 0.5) < 0.03, `share ${share}`);
  });

  it("reports every member in the shares, even one that owns none of the keys", () => {
    const shares = ownershipShares(Ring.of(nodeIds(4)), []);
    assert.deepEqual([...shares.keys()], nodeIds(4));
    for (const share of shares.values()) assert.deepEqual(share, { keys: 0, share: 0 });
  });
});

describe("ownerChanges", () => {
  const keys = sampleKeys(60_000);

  it("moves about 1/N keys when a node joins, all of them to the new node", () => {
    const before = Ring.of(nodeIds(20));
    const after = Ring.of([...nodeIds(20), "node-new"]);
    const changes = ownerChanges(keys, before, after);
    const expected = keys.length / 21;
    assert.ok(Math.abs(changes.length - expected) < expected * 0.1, `${changes.length} moved, expected ~${expected}`);
    for (const change of changes) {
      assert.equal(change.to, "node-new");
      assert.equal(change.from, before.ownerOf(change.key));
    }
  });

  it("moves exactly the leaving node's keys when a node leaves, and nothing else", () => {
    const before = Ring.of(nodeIds(20));
    const after = Ring.of(nodeIds(20).filter((id) => id !== "node-7"));
    const changes = ownerChanges(keys, before, after);
    const ownedByLeaver = keys.filter((key) => before.ownerOf(key) === "node-7");
    assert.deepEqual(
      changes.map((change) => change.key),
      ownedByLeaver,
    );
    for (const change of changes) {
      assert.equal(change.from, "node-7");
      assert.notEqual(change.to, "node-7");
      assert.equal(change.to, after.ownerOf(change.key));
    }
    const expected = keys.length / 20;
    assert.ok(Math.abs(changes.length - expected) < expected * 0.1, `${changes.length} moved, expected ~${expected}`);
  });

  it("redistributes a leaving node's keys across all the remaining nodes", () => {
    const before = Ring.of(nodeIds(10));
    const after = Ring.of(nodeIds(10).filter((id) => id !== "node-3"));
    const receivers = new Set(ownerChanges(keys, before, after).map((change) => change.to));
    assert.equal(receivers.size, 9);
  });

  it("reports nothing when the membership is the same", () => {
    assert.deepEqual(ownerChanges(keys, Ring.of(nodeIds(5)), Ring.of(nodeIds(5).reverse())), []);
  });

  it("gives a node the keys it hosts but no longer owns", () => {
    const before = Ring.of(nodeIds(5));
    const hosted = keys.filter((key) => before.ownerOf(key) === "node-2");
    const after = Ring.of([...nodeIds(5), "node-5"]);
    const handOff = ownerChanges(hosted, before, after);
    assert.ok(handOff.length > 0);
    for (const change of handOff) assert.deepEqual([change.from, change.to], ["node-2", "node-5"]);
  });
});
