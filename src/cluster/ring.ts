/**
 * Placement: which node hosts the actor for a key (`user:alice`, `chat:d:alice:bob`).
 *
 * Rendezvous (highest random weight) hashing, not a ring of virtual nodes. Every member
 * scores the key and the highest score owns it. Why:
 * - Spread: each key is an independent fair draw, so per-node load is binomial (about 1%
 *   stddev at 100 nodes and 1M keys). Virtual nodes only get within 1/sqrt(vnodes) of that
 *   (about 8% with 160 per node) and need thousands of points per node to match it.
 * - Movement is minimal by construction: adding a node moves only the keys it now
 *   out-scores everyone on (1/N of them, all to the new node); removing one moves only its
 *   own keys. No table to rebalance, no per-node token bookkeeping.
 * - CPU: the key is hashed once; scoring a member is one xor and an integer mix over a
 *   precomputed per-member seed, so 100 members cost a few hundred nanoseconds, which is
 *   cheap next to decoding a frame (see bench/results/ring.md for the measured figures).
 *
 * The hash is part of the cluster's wire contract: nodes running different versions must
 * agree on every owner, so it must never change silently (test/cluster/ring.test.ts pins
 * golden values). Keys and node ids are hashed as MurmurHash3 x86_32 over their UTF-16LE
 * code units, which any language can reproduce.
 */

export type NodeId = string;

export class EmptyMembershipError extends Error {
  override readonly name = "EmptyMembershipError";
  constructor() {
    super("cannot place keys: the cluster membership has no nodes");
  }
}

const KEY_SEED = 0x5bd1e995;
// Two independent seeds per node: if two node ids ever collide on the first one, the
// second still splits their keys fairly instead of handing all of them to one node.
const NODE_SEED_PRIMARY = 0x9747b28c;
const NODE_SEED_TIEBREAK = 0x3c6ef372;

/** MurmurHash3 x86_32 of the string's UTF-16LE encoding, as an unsigned 32-bit integer. */
export function hashString(text: string, seed: number): number {
  let h = seed | 0;
  const length = text.length;
  const pairs = length & ~1;
  for (let i = 0; i < pairs; i += 2) {
    let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (pairs !== length) {
    let k = text.charCodeAt(pairs);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length * 2;
  return mix32(h);
}

/** MurmurHash3's finaliser: a bijection on 32 bits with full avalanche. */
function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash of a key, computed once per lookup and shared by every member's score. */
export function hashKey(key: string): number {
  return hashString(key, KEY_SEED);
}

/**
 * The owners of keys for one membership. Build one per membership change and share it;
 * lookups do no allocation.
 */
export class Ring {
  /** Member node ids, deduplicated and sorted, so two nodes with the same set agree. */
  readonly members: readonly NodeId[];
  // Int32, not Uint32: seeds above 2^31 would otherwise be loaded as doubles in the hot loop.
  private readonly primarySeeds: Int32Array;
  private readonly tiebreakSeeds: Int32Array;
  private readonly memberSet: ReadonlySet<NodeId>;

  private constructor(members: NodeId[]) {
    this.members = Object.freeze(members);
    this.memberSet = new Set(members);
    this.primarySeeds = Int32Array.from(members, (id) => hashString(id, NODE_SEED_PRIMARY) | 0);
    this.tiebreakSeeds = Int32Array.from(members, (id) => hashString(id, NODE_SEED_TIEBREAK) | 0);
  }

  /** Throws EmptyMembershipError when there is no member: no key could have an owner. */
  static of(memberIds: Iterable<NodeId>): Ring {
    const members = [...new Set(memberIds)].sort(compareIds);
    if (members.length === 0) throw new EmptyMembershipError();
    return new Ring(members);
  }

  get size(): number {
    return this.members.length;
  }

  has(nodeId: NodeId): boolean {
    return this.memberSet.has(nodeId);
  }

  ownerOf(key: string): NodeId {
    return this.members[this.ownerIndex(hashKey(key))] as NodeId;
  }

  isOwner(nodeId: NodeId, key: string): boolean {
    return this.ownerOf(key) === nodeId;
  }

  /** True when both rings hold the same members, so every key has the same owner in both. */
  sameMembersAs(other: Ring): boolean {
    if (other.size !== this.size) return false;
    return this.members.every((id, index) => other.members[index] === id);
  }

  private ownerIndex(keyHash: number): number {
    const seeds = this.primarySeeds;
    let best = 0;
    let bestScore = rankedScore(keyHash, seeds[0] as number);
    for (let i = 1; i < seeds.length; i++) {
      const candidate = rankedScore(keyHash, seeds[i] as number);
      if (candidate > bestScore || (candidate === bestScore && this.winsTie(keyHash, i, best))) {
        best = i;
        bestScore = candidate;
      }
    }
    return best;
  }

  // Members are sorted, so when even the second score ties the lower index (smaller id) keeps the key.
  private winsTie(keyHash: number, challenger: number, holder: number): boolean {
    const seeds = this.tiebreakSeeds;
    return rankedScore(keyHash, seeds[challenger] as number) > rankedScore(keyHash, seeds[holder] as number);
  }
}

/**
 * The weight a node gives a key: mix32(keyHash ^ nodeSeed), compared as unsigned. Returned
 * with the sign bit flipped, an int32 whose signed order is that unsigned order, so the hot
 * loop stays in int32 arithmetic (about 30% faster at 100 nodes than comparing doubles).
 */
function rankedScore(keyHash: number, nodeSeed: number): number {
  return mix32(keyHash ^ nodeSeed) ^ 0x80000000;
}

// Plain code-unit order, not localeCompare: the sort must not depend on a node's locale.
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One-off placement; for the message path build a Ring once per membership instead. */
export function ownerOf(key: string, memberIds: Iterable<NodeId>): NodeId {
  return Ring.of(memberIds).ownerOf(key);
}

export interface OwnerChange {
  readonly key: string;
  readonly from: NodeId;
  readonly to: NodeId;
}

/**
 * The keys among `keys` whose owner differs between two memberships: what a node must hand
 * off (from === itself) or take over (to === itself) when the membership changes.
 */
export function ownerChanges(keys: Iterable<string>, before: Ring, after: Ring): OwnerChange[] {
  const changes: OwnerChange[] = [];
  if (before.sameMembersAs(after)) return changes;
  for (const key of keys) {
    const from = before.ownerOf(key);
    const to = after.ownerOf(key);
    if (from !== to) changes.push({ key, from, to });
  }
  return changes;
}

export interface OwnershipShare {
  readonly keys: number;
  /** Fraction of the given keys; rendezvous hashing expects 1 / ring.size for every node. */
  readonly share: number;
}

/** How the given keys (hosted actors, or a sample) divide among the members; every member appears. */
export function ownershipShares(ring: Ring, keys: Iterable<string>): Map<NodeId, OwnershipShare> {
  const counts = new Map<NodeId, number>(ring.members.map((id) => [id, 0]));
  let total = 0;
  for (const key of keys) {
    const owner = ring.ownerOf(key);
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
    total++;
  }
  const shares = new Map<NodeId, OwnershipShare>();
  for (const [id, count] of counts) shares.set(id, { keys: count, share: total === 0 ? 0 : count / total });
  return shares;
}
