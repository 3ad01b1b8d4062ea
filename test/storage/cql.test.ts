import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import cassandra from "cassandra-driver";
import { bucketOf, firstSeqOf, lastSeqOf, SEQS_PER_BUCKET } from "../../src/storage/cql/buckets.ts";
import { splitCqlStatements } from "../../src/storage/cql/cql-script.ts";
import { openCqlStores } from "../../src/storage/cql/cql-stores.ts";
import { isTransientCqlError } from "../../src/storage/cql/errors.ts";
import {
  loadMigrations,
  migrate,
  MigrationChecksumError,
  replicationLiteral,
  SchemaNotReadyError,
  verifySchema,
} from "../../src/storage/cql/migrate.ts";
import { packPending } from "../../src/storage/cql/pending-batch.ts";
import { SeqConflictError, StorageUnavailableError } from "../../src/storage/errors.ts";
import type { StoredMessage } from "../../src/storage/messages.ts";
import type { Stores } from "../../src/storage/stores.ts";
import { SCHEMA_CHANGE_TIMEOUT_MS, TEST_CQL_REQUEST_TIMEOUT_MS } from "../support/backend.ts";
import { testCqlContactPoint } from "../support/cassandra.ts";
import { freePort } from "../support/ports.ts";
import { randomBytes } from "node:crypto";
import { accountStoreContract } from "./accounts-contract.ts";
import { contactsStoreContract } from "./contacts-contract.ts";
import { extendedStoreContract, keyAndPushStoreContract, privacyStoreContract, storeContract } from "./contract.ts";

// One Cassandra serves the whole run (scripts/test.mjs); this file keeps to its own keyspaces.
const DATA_CENTER = "datacenter1";
const REPLICATION = { class: "NetworkTopologyStrategy", [DATA_CENTER]: 1 };
const FILE_TAG = `${process.pid.toString(36)}${Date.now().toString(36)}`;
let keyspaces = 0;

function freshKeyspace(purpose: string): string {
  keyspaces += 1;
  return `router_${purpose}_${FILE_TAG}_${keyspaces}`;
}

function adminClient(): cassandra.Client {
  return new cassandra.Client({
    contactPoints: [testCqlContactPoint()],
    localDataCenter: DATA_CENTER,
    refreshSchemaDelay: 10,
    socketOptions: { readTimeout: SCHEMA_CHANGE_TIMEOUT_MS },
  });
}

/** Stores in a keyspace of their own, dropped again on close. */
async function openTestStores(keyspace: string): Promise<Stores> {
  const stores = await openCqlStores({
    contactPoints: [testCqlContactPoint()],
    localDataCenter: DATA_CENTER,
    keyspace,
    replication: REPLICATION,
    schemaRefreshDelayMs: 10,
    requestTimeoutMs: TEST_CQL_REQUEST_TIMEOUT_MS,
  });
  return {
    ...stores,
    close: async () => {
      await stores.close();
      const admin = adminClient();
      try {
        await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
      } finally {
        await admin.shutdown();
      }
    },
  };
}

function message(chat: string, seq: number, overrides: Partial<StoredMessage> = {}): StoredMessage {
  return { chat, seq, from: "alice", ts: 1_700_000_000_000 + seq, body: `m${seq}`, kind: "text", cid: `c${seq}`, ...overrides };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

let chats = 0;
function freshChat(): string {
  chats += 1;
  return `d:cql${chats}:${FILE_TAG}`;
}

storeContract("cql", () => openTestStores(freshKeyspace("contract")));
extendedStoreContract("cql", () => openTestStores(freshKeyspace("extended")));
keyAndPushStoreContract("cql", () => openTestStores(freshKeyspace("keys")));
accountStoreContract("cql", () => openTestStores(freshKeyspace("accounts")));
privacyStoreContract("cql", () => openTestStores(freshKeyspace("privacy")));
contactsStoreContract("cql", () => openTestStores(freshKeyspace("contacts")));

describe("cql stores", () => {
  let stores: Stores;
  const storesKeyspace = freshKeyspace("stores");
  before(async () => {
    stores = await openTestStores(storesKeyspace);
  });
  after(async () => {
    await stores.close();
  });

  async function appendSeqs(chat: string, from: number, to: number, notify: string[] = []): Promise<void> {
    await stores.messages.append({ chat, messages: range(from, to).map((seq) => message(chat, seq)), notify });
  }

  describe("across bucket boundaries", () => {
    const chat = freshChat();
    const last = 2 * SEQS_PER_BUCKET + 500; // three buckets, the last one half full
    before(async () => {
      for (let from = 1; from <= last; from += 700) await appendSeqs(chat, from, Math.min(from + 699, last));
    });

    it("reads after a seq through every following bucket", async () => {
      const all = await stores.messages.readAfter(chat, 0, 10_000);
      assert.deepEqual(all.map((m) => m.seq), range(1, last));
      assert.deepEqual(all.map((m) => m.body), range(1, last).map((seq) => `m${seq}`));
    });

    it("reads after a seq starting at, just before and just after a boundary", async () => {
      for (const afterSeq of [998, 999, 1000, 1999, 2000]) {
        const page = await stores.messages.readAfter(chat, afterSeq, 3);
        assert.deepEqual(page.map((m) => m.seq), range(afterSeq + 1, afterSeq + 3), `after ${afterSeq}`);
      }
      const spanning = await stores.messages.readAfter(chat, 500, 2000);
      assert.deepEqual(spanning.map((m) => m.seq), range(501, 2500));
    });

    it("stops at the end of a chat whose last bucket is full", async () => {
      const exact = freshChat();
      await appendSeqs(exact, 1, SEQS_PER_BUCKET - 1);
      assert.deepEqual((await stores.messages.readAfter(exact, 990, 50)).map((m) => m.seq), range(991, 999));
      assert.deepEqual(await stores.messages.readAfter(exact, 999, 50), []);
    });

    it("reads before a seq down through every earlier bucket", async () => {
      const all = await stores.messages.readBefore(chat, last + 1, 10_000);
      assert.deepEqual(all.map((m) => m.seq), range(1, last));
      for (const beforeSeq of [1000, 1001, 2000, 2001]) {
        const page = await stores.messages.readBefore(chat, beforeSeq, 3);
        assert.deepEqual(page.map((m) => m.seq), range(beforeSeq - 3, beforeSeq - 1), `before ${beforeSeq}`);
      }
      const spanning = await stores.messages.readBefore(chat, 2400, 1500);
      assert.deepEqual(spanning.map((m) => m.seq), range(900, 2399));
    });

    it("answers empty for limits of zero and unknown chats", async () => {
      assert.deepEqual(await stores.messages.readAfter(chat, 0, 0), []);
      assert.deepEqual(await stores.messages.readBefore(chat, 100, 0), []);
      assert.deepEqual(await stores.messages.readAfter(freshChat(), 0, 10), []);
      assert.deepEqual(await stores.messages.readBefore(freshChat(), Number.MAX_SAFE_INTEGER, 10), []);
    });
  });

  it("round-trips empty and non-ASCII bodies", async () => {
    const chat = freshChat();
    const bodies = ["", new Uint8Array(0), "héllo ✓ 👋", new Uint8Array([0xff, 0xfe, 0x00])];
    await stores.messages.append({ chat, messages: bodies.map((body, i) => message(chat, i + 1, { body })), notify: [] });
    const read = await stores.messages.readAfter(chat, 0, 10);
    assert.equal(read.length, bodies.length);
    for (const [i, body] of bodies.entries()) {
      const stored = read[i]?.body;
      if (typeof body === "string") assert.equal(stored, body);
      else assert.deepEqual(stored instanceof Uint8Array ? [...stored] : stored, [...body]);
    }
  });

  it("replaces a rewritten seq whole, leaving nothing of the old message", async () => {
    const chat = freshChat();
    await stores.messages.append({ chat, messages: [message(chat, 1, { body: "old", reply: 7, kind: "text" })], notify: [] });
    const bytes = new Uint8Array([1, 2, 3]);
    await stores.messages.append({ chat, messages: [message(chat, 1, { body: bytes, kind: "cipher" })], notify: [] });
    const [stored] = await stores.messages.readAfter(chat, 0, 10);
    assert.ok(stored);
    assert.deepEqual([...(stored.body as Uint8Array)], [...bytes]);
    assert.equal(stored.kind, "cipher");
    assert.equal(stored.reply, undefined);
  });

  it("makes nothing of a batch visible when the cluster rejects it", async () => {
    const chat = freshChat();
    const user = `u-atomic-${FILE_TAG}`;
    // Over the test node's batch_size_fail_threshold (1 MiB): rejected before any of it applies.
    const oversized = new Uint8Array(1_200_000);
    const messages = [message(chat, 1), message(chat, 2), message(chat, 3, { body: oversized })];
    await assert.rejects(stores.messages.append({ chat, messages, notify: [user] }), (error: Error) => {
      assert.ok(!(error instanceof StorageUnavailableError), "a rejected batch is not a transient failure");
      assert.match(error.message, /batch too large/i);
      return true;
    });
    assert.equal(await stores.messages.lastSeq(chat), 0);
    assert.deepEqual(await stores.messages.readAfter(chat, 0, 10), []);
    assert.equal(await stores.messages.findByCid(chat, "alice", "c1"), undefined);
    assert.deepEqual(await stores.messages.inbox(user), []);
  });

  it("makes messages, idempotency keys, head and inbox visible together", async () => {
    const chat = freshChat();
    const user = `u-together-${FILE_TAG}`;
    await appendSeqs(chat, 1, 1500, [user]);
    assert.equal(await stores.messages.lastSeq(chat), 1500);
    assert.deepEqual(await stores.messages.findByCid(chat, "alice", "c1200"), { seq: 1200, ts: 1_700_000_001_200 });
    assert.deepEqual(await stores.messages.inbox(user), [{ chat, seq: 1500 }]);
    assert.equal((await stores.messages.readAfter(chat, 0, 2000)).length, 1500);
  });

  it("folds a patch of a message in the same batch into its insert", async () => {
    const chat = freshChat();
    await stores.messages.append({
      chat,
      messages: [message(chat, 1, { body: "typo" }), message(chat, 2, { kind: "edit", target: 1, body: "", cid: "" })],
      notify: [],
      patches: [{ seq: 1, body: "fixed", edited: 7 }],
    });
    const [first, edit] = await stores.messages.readAfter(chat, 0, 10);
    assert.equal(first?.body, "fixed");
    assert.equal(first?.edited, 7);
    assert.equal(edit?.target, 1);
    // An event entry has no idempotency key to find it by.
    assert.equal(await stores.messages.findByCid(chat, "alice", ""), undefined);
  });

  it("never creates a message by patching a seq that is not stored", async () => {
    const chat = freshChat();
    await appendSeqs(chat, 1, 1);
    await stores.messages.append({ chat, messages: [], notify: [], patches: [{ seq: 1, reactions: { bob: "🎉" } }, { seq: 5, deleted: true }] });
    const stored = await stores.messages.readAfter(chat, 0, 10);
    assert.deepEqual(stored.map((m) => m.seq), [1]);
    assert.deepEqual(stored[0]?.reactions, { bob: "🎉" });
    assert.equal(await stores.messages.lastSeq(chat), 1);
    // Patches alone do not move the head or anyone's inbox.
    await stores.messages.append({ chat, messages: [], notify: ["nobody"], patches: [{ seq: 1, reactions: {} }] });
    assert.deepEqual((await stores.messages.readAfter(chat, 0, 1))[0]?.reactions, {});
    assert.deepEqual(await stores.messages.inbox("nobody"), []);
  });

  it("refuses a batch that does not continue the chat's log, and accepts its own retry", async () => {
    const chat = freshChat();
    await stores.messages.append({ chat, messages: [message(chat, 1, { cid: "one" })], notify: [] });
    await stores.messages.append({ chat, messages: [message(chat, 1, { cid: "one" })], notify: [] });
    await assert.rejects(stores.messages.append({ chat, messages: [message(chat, 1, { cid: "other" })], notify: [] }), SeqConflictError);
    await assert.rejects(stores.messages.append({ chat, messages: [message(chat, 3, { cid: "gap" })], notify: [] }), SeqConflictError);
    await assert.rejects(stores.messages.append({ chat: freshChat(), messages: [message(chat, 2)], notify: [] }), SeqConflictError);
    assert.equal(await stores.messages.lastSeq(chat), 1);
    const [stored] = await stores.messages.readAfter(chat, 0, 10);
    assert.equal(stored?.cid, "one");
  });

  it("lets one of two racing writers have a seq, and the loser writes nothing", async () => {
    const chat = freshChat();
    const outcomes = await Promise.allSettled(
      ["x", "y", "z"].map((cid) => stores.messages.append({ chat, messages: [message(chat, 1, { cid, body: cid })], notify: [] })),
    );
    const won = outcomes.flatMap((outcome, i) => (outcome.status === "fulfilled" ? [["x", "y", "z"][i]] : []));
    assert.equal(won.length, 1);
    for (const outcome of outcomes) if (outcome.status === "rejected") assert.ok(outcome.reason instanceof SeqConflictError);
    const stored = await stores.messages.readAfter(chat, 0, 10);
    assert.deepEqual(stored.map((m) => m.body), won);
  });

  it("finishes a batch whose writer claimed its seqs and died before writing them", async () => {
    const chat = freshChat();
    const user = `u-orphan-${FILE_TAG}`;
    await appendSeqs(chat, 1, 2);
    // The claim a writer makes, and nothing after it.
    const media = { id: "0123456789abcdef0123456789abcdef", mime: "image/png", size: 3, sha256: "ef".repeat(32) };
    const batch = {
      chat,
      messages: [message(chat, 3, { cid: "c3" }), message(chat, 4, { cid: "c4", kind: "media", media })],
      patches: [],
      notify: [user],
    };
    const admin = adminClient();
    try {
      await admin.execute(
        `UPDATE ${storesKeyspace}.chat_heads SET last_seq = 4, claim = 'dead', pending = ? WHERE chat = ? IF last_seq = 2`,
        [packPending(batch), chat],
        { prepare: true },
      );
    } finally {
      await admin.shutdown();
    }
    assert.equal(await stores.messages.lastSeq(chat), 4);
    const finished = await stores.messages.readAfter(chat, 0, 10);
    assert.deepEqual(finished.map((m) => m.seq), [1, 2, 3, 4]);
    assert.deepEqual(finished[3]?.media, media);
    assert.deepEqual(await stores.messages.findByCid(chat, "alice", "c4"), { seq: 4, ts: 1_700_000_000_004 });
    assert.deepEqual(await stores.messages.inbox(user), [{ chat, seq: 4 }]);
  });

  it("keeps the latest last seen whatever order the writes arrive in", async () => {
    const user = `late-${FILE_TAG}`;
    await stores.presence.setLastSeen(user, 2_000);
    await stores.presence.setLastSeen(user, 1_000);
    assert.deepEqual(await stores.presence.lastSeen([user, user]), new Map([[user, 2_000]]));
  });

  it("never hands one prekey to two of 50 claims racing from two nodes", async () => {
    // A second driver client on the same keyspace: another node, with its own queue per device.
    const peer = await openCqlStores({
      contactPoints: [testCqlContactPoint()],
      localDataCenter: DATA_CENTER,
      keyspace: storesKeyspace,
      migrate: false,
      schemaRefreshDelayMs: 10,
    requestTimeoutMs: TEST_CQL_REQUEST_TIMEOUT_MS,
    });
    try {
      const user = `race-${FILE_TAG}`;
      const limits = { maxPrekeys: 1000, lowWater: 10 };
      const key = () => new Uint8Array(randomBytes(33));
      const published = { identity: key(), signed: { id: 1, key: key(), sig: key() } };
      const prekeys = range(1, 60).map((id) => ({ id, key: key() }));
      assert.deepEqual(await stores.keys!.put(user, "phone", published, prekeys, limits), { count: 60 });
      const claims = range(1, 50).map((i) => (i % 2 === 0 ? stores : peer).keys!.claim(user, undefined, limits));
      const handedOut = (await Promise.all(claims)).map((bundles) => bundles[0]?.prekey);
      const claimedIds = handedOut.map((prekey) => prekey?.id);
      assert.ok(claimedIds.every((id) => typeof id === "number"), "every claim got a prekey");
      assert.equal(new Set(claimedIds).size, 50, "no prekey handed out twice");
      // Each id came with the key stored under it.
      for (const prekey of handedOut) assert.deepEqual(new Uint8Array(prekey!.key), prekeys[prekey!.id - 1]?.key);
      const rest: number[] = [];
      for (;;) {
        const [bundle] = await (rest.length % 2 === 0 ? peer : stores).keys!.claim(user, "phone", limits);
        if (!bundle?.prekey) {
          assert.equal(bundle?.remaining, 0);
          break;
        }
        rest.push(bundle.prekey.id);
      }
      assert.deepEqual([...(claimedIds as number[]), ...rest].sort((a, b) => a - b), range(1, 60), "none lost");
    } finally {
      await peer.close();
    }
  });

  it("drops the old identity's prekey partition when a device publishes a new identity", async () => {
    const user = `gen-${FILE_TAG}`;
    const limits = { maxPrekeys: 1000, lowWater: 10 };
    const key = () => new Uint8Array(randomBytes(33));
    await stores.keys!.put(user, "a", { identity: key(), signed: { id: 1, key: key(), sig: key() } }, range(1, 5).map((id) => ({ id, key: key() })), limits);
    await stores.keys!.put(user, "a", { identity: key(), signed: { id: 2, key: key(), sig: key() } }, [{ id: 9, key: key() }], limits);
    const admin = adminClient();
    try {
      // The whole (small) table: the old partition's key is not known from outside the store.
      const rows = await admin.execute(`SELECT user_id, key_id FROM ${storesKeyspace}.prekeys`);
      const mine = rows.rows.filter((row) => row.get("user_id") === user);
      assert.deepEqual(mine.map((row) => Number(row.get("key_id"))), [9]);
    } finally {
      await admin.shutdown();
    }
  });

  it("round-trips empty member, admin and join lists of a group", async () => {
    const chat = `g:empty${FILE_TAG}`;
    const group = { chat, name: "", members: [], admins: [], createdBy: "x", createdAt: 5, joined: {} };
    await stores.groups.put(group, []);
    assert.deepEqual(await stores.groups.get(chat), group);
  });
});

describe("cql migrations", () => {
  const keyspace = freshKeyspace("migrate");
  let client: cassandra.Client;
  before(async () => {
    client = adminClient();
    await client.connect();
  });
  after(async () => {
    await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    await client.shutdown();
  });

  it("creates the keyspace, applies each version once and records it", async () => {
    const versions = loadMigrations().map((m) => m.version);
    assert.deepEqual(await migrate(client, keyspace, REPLICATION), versions);
    assert.deepEqual(await migrate(client, keyspace, REPLICATION), []);
    const recorded = await client.execute(`SELECT version FROM ${keyspace}.schema_migrations`);
    assert.deepEqual(recorded.rows.map((row) => row.get("version") as number).sort((a, b) => a - b), versions);
    const tables = await client.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", [keyspace]);
    assert.deepEqual(
      tables.rows.map((row) => row.get("table_name") as string).sort(),
      [
        "chat_groups",
        "chat_heads",
        "device_cursors",
        "group_invites",
        "inbox",
        "key_devices",
        "last_seen",
        "member_marks",
        "message_cids",
        "messages",
        "phone_users",
        "prekeys",
        "privacy_settings",
        "profiles",
        "push_registrations",
        "push_settings",
        "refresh_devices",
        "refresh_families",
        "schema_migrations",
        "status_expiry",
        "status_views",
        "statuses",
        "user_blocks",
        "user_contacts",
        "user_groups",
        "user_phones",
        "verification_codes",
      ],
    );
  });

  it("finishes a migration that was applied only in part", async () => {
    const partial = freshKeyspace("partial");
    const [first, second, ...later] = loadMigrations();
    assert.ok(first && second);
    try {
      await migrate(client, partial, REPLICATION, undefined, [first]);
      // As if a migrator died after the first statements of version 2, before recording it.
      await client.execute(`ALTER TABLE ${partial}.messages ADD target bigint`);
      await client.execute(`ALTER TABLE ${partial}.messages ADD emoji text`);
      assert.deepEqual(await migrate(client, partial, REPLICATION), [second.version, ...later.map((m) => m.version)]);
      await verifySchema(client, partial);
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${partial}`);
    }
  });

  it("verifies a migrated keyspace, and names what is missing otherwise", async () => {
    await verifySchema(client, keyspace);
    const missing = freshKeyspace("missing");
    await assert.rejects(verifySchema(client, missing), (error: Error) => {
      assert.ok(error instanceof SchemaNotReadyError);
      assert.match(error.message, /does not exist: run `router db migrate`/);
      return true;
    });
    const behind = freshKeyspace("behind");
    const [first] = loadMigrations();
    assert.ok(first);
    try {
      await migrate(client, behind, REPLICATION, undefined, [first]);
      await assert.rejects(verifySchema(client, behind), /lacks migrations 2_message_state_groups_last_seen/);
      await assert.rejects(
        openCqlStores({ contactPoints: [testCqlContactPoint()], localDataCenter: DATA_CENTER, keyspace: behind, migrate: false }),
        SchemaNotReadyError,
      );
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${behind}`);
    }
  });

  it("refuses to run when an applied migration changed", async () => {
    const [first] = loadMigrations();
    assert.ok(first);
    const edited = { ...first, cql: `${first.cql}\n-- edited`, checksum: "edited" };
    await assert.rejects(migrate(client, keyspace, REPLICATION, undefined, [edited]), MigrationChecksumError);
  });

  it("rejects a local data centre the cluster does not have, naming the ones it has", async () => {
    await assert.rejects(
      openCqlStores({ contactPoints: [testCqlContactPoint()], localDataCenter: "dc-typo", keyspace: "router_never" }),
      /localDataCenter was configured as 'dc-typo', but only found hosts in data centers: \[datacenter1\]/,
    );
  });

  it("rejects keyspace names CQL would fold or misread", async () => {
    await assert.rejects(migrate(client, "Router", REPLICATION), /keyspace name/);
    await assert.rejects(migrate(client, "x; DROP KEYSPACE y", REPLICATION), /keyspace name/);
  });
});

describe("cql stores without a cluster", () => {
  it("rejects opening with StorageUnavailableError when nothing listens", async () => {
    const port = await freePort();
    await assert.rejects(
      openCqlStores({
        contactPoints: [`127.0.0.1:${port}`],
        localDataCenter: DATA_CENTER,
        keyspace: "router_unreachable",
        connectTimeoutMs: 1_000,
      }),
      StorageUnavailableError,
    );
  });

  it("treats overload, timeouts and unreachable hosts as transient, bad queries not", () => {
    const { errors, types } = cassandra;
    const codes = types.responseErrorCodes;
    assert.ok(isTransientCqlError(new errors.NoHostAvailableError({})));
    assert.ok(isTransientCqlError(new errors.OperationTimedOutError("timed out")));
    assert.ok(isTransientCqlError(new errors.ResponseError(codes.writeTimeout, "write timeout")));
    assert.ok(isTransientCqlError(new errors.ResponseError(codes.unavailableException, "unavailable")));
    assert.ok(isTransientCqlError(new errors.ResponseError(codes.overloaded, "overloaded")));
    assert.ok(!isTransientCqlError(new errors.ResponseError(codes.syntaxError, "syntax")));
    assert.ok(!isTransientCqlError(new errors.ResponseError(codes.invalid, "invalid")));
    assert.ok(!isTransientCqlError(new Error("bug")));
  });

  it("splits CQL scripts on semicolons outside comments and strings", () => {
    const script = [
      "-- a comment; not a statement",
      "CREATE TABLE a (k text PRIMARY KEY); // trailing; comment",
      "/* block; comment */ INSERT INTO a (k) VALUES ('x;''y');",
      'SELECT "we;ird" FROM a',
    ].join("\n");
    assert.deepEqual(splitCqlStatements(script), [
      "CREATE TABLE a (k text PRIMARY KEY)",
      "INSERT INTO a (k) VALUES ('x;''y')",
      'SELECT "we;ird" FROM a',
    ]);
  });

  it("writes replication maps as CQL literals", () => {
    assert.equal(
      replicationLiteral({ class: "NetworkTopologyStrategy", dc1: 3, "o'dc": 1 }),
      "{'class': 'NetworkTopologyStrategy', 'dc1': '3', 'o''dc': '1'}",
    );
  });

  it("buckets seqs in fixed, contiguous ranges", () => {
    assert.equal(bucketOf(1), 0);
    assert.equal(bucketOf(SEQS_PER_BUCKET - 1), 0);
    assert.equal(bucketOf(SEQS_PER_BUCKET), 1);
    assert.equal(firstSeqOf(2), 2 * SEQS_PER_BUCKET);
    assert.equal(lastSeqOf(1), 2 * SEQS_PER_BUCKET - 1);
  });
});
