/**
 * End-to-end encryption through the router with the official libsignal client: the router
 * only ever sees public keys and ciphertext. Clients wrap each ciphertext in a one-byte
 * envelope (the libsignal message type), as Signal's own envelope carries it; the router
 * does not look at it.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CiphertextMessageType,
  IdentityChange,
  IdentityKeyPair,
  IdentityKeyStore,
  KEMKeyPair,
  KEMPublicKey,
  KyberPreKeyRecord,
  KyberPreKeyStore,
  PreKeyBundle,
  PreKeyRecord,
  PreKeySignalMessage,
  PreKeyStore,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  SessionRecord,
  SessionStore,
  SignalMessage,
  SignedPreKeyRecord,
  SignedPreKeyStore,
  processPreKeyBundle,
  signalDecrypt,
  signalDecryptPreKey,
  signalEncrypt,
  type Direction,
} from "@signalapp/libsignal-client";
import { directChatId, type KeyBundle, type MessageFrame } from "../../src/protocol/frames.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import type { Stores } from "../../src/storage/stores.ts";
import type { RouterClient } from "../../sdk/client.ts";
import { TestNode, tempDir } from "../support/node.ts";

/** libsignal wants ArrayBuffer-backed bytes; MessagePack decoding hands out Buffers. */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

class MemorySessions extends SessionStore {
  private readonly sessions = new Map<string, Uint8Array<ArrayBuffer>>();
  async saveSession(name: ProtocolAddress, record: SessionRecord): Promise<void> {
    this.sessions.set(name.toString(), record.serialize());
  }
  async getSession(name: ProtocolAddress): Promise<SessionRecord | null> {
    const bytes = this.sessions.get(name.toString());
    return bytes ? SessionRecord.deserialize(bytes) : null;
  }
  async getExistingSessions(addresses: ProtocolAddress[]): Promise<SessionRecord[]> {
    return Promise.all(addresses.map(async (a) => (await this.getSession(a))!));
  }
}

class MemoryIdentities extends IdentityKeyStore {
  private readonly known = new Map<string, PublicKey>();
  constructor(
    private readonly pair: IdentityKeyPair,
    private readonly registrationId: number,
  ) {
    super();
  }
  async getIdentityKey(): Promise<PrivateKey> {
    return this.pair.privateKey;
  }
  async getLocalRegistrationId(): Promise<number> {
    return this.registrationId;
  }
  async saveIdentity(name: ProtocolAddress, key: PublicKey): Promise<IdentityChange> {
    const before = this.known.get(name.toString());
    this.known.set(name.toString(), key);
    return before && !before.equals(key) ? IdentityChange.ReplacedExisting : IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(name: ProtocolAddress, key: PublicKey, _direction: Direction): Promise<boolean> {
    const known = this.known.get(name.toString());
    return !known || known.equals(key);
  }
  async getIdentity(name: ProtocolAddress): Promise<PublicKey | null> {
    return this.known.get(name.toString()) ?? null;
  }
}

class MemoryPreKeys extends PreKeyStore {
  readonly records = new Map<number, PreKeyRecord>();
  async savePreKey(id: number, record: PreKeyRecord): Promise<void> {
    this.records.set(id, record);
  }
  async getPreKey(id: number): Promise<PreKeyRecord> {
    const record = this.records.get(id);
    if (!record) throw new Error(`no prekey ${id}`);
    return record;
  }
  async removePreKey(id: number): Promise<void> {
    this.records.delete(id);
  }
}

class MemorySignedPreKeys extends SignedPreKeyStore {
  readonly records = new Map<number, SignedPreKeyRecord>();
  async saveSignedPreKey(id: number, record: SignedPreKeyRecord): Promise<void> {
    this.records.set(id, record);
  }
  async getSignedPreKey(id: number): Promise<SignedPreKeyRecord> {
    return this.records.get(id)!;
  }
}

class MemoryKyberPreKeys extends KyberPreKeyStore {
  readonly records = new Map<number, KyberPreKeyRecord>();
  async saveKyberPreKey(id: number, record: KyberPreKeyRecord): Promise<void> {
    this.records.set(id, record);
  }
  async getKyberPreKey(id: number): Promise<KyberPreKeyRecord> {
    return this.records.get(id)!;
  }
  async markKyberPreKeyUsed(): Promise<void> {
    // A last-resort key stays usable.
  }
}

/** One device: its libsignal state and its router connection. */
class SignalDevice {
  static readonly DEVICE_ID = 1;
  readonly identity = IdentityKeyPair.generate();
  readonly registrationId = 1 + Math.floor(Math.random() * 16380);
  readonly sessions = new MemorySessions();
  readonly identities = new MemoryIdentities(this.identity, this.registrationId);
  readonly prekeys = new MemoryPreKeys();
  readonly signedPrekeys = new MemorySignedPreKeys();
  readonly kyberPrekeys = new MemoryKyberPreKeys();

  constructor(
    readonly user: string,
    readonly client: RouterClient,
  ) {}

  get address(): ProtocolAddress {
    return ProtocolAddress.new(this.user, SignalDevice.DEVICE_ID);
  }

  async publish(prekeyCount: number): Promise<number> {
    const signedKey = PrivateKey.generate();
    const signedSig = this.identity.privateKey.sign(signedKey.getPublicKey().serialize());
    await this.signedPrekeys.saveSignedPreKey(1, SignedPreKeyRecord.new(1, Date.now(), signedKey.getPublicKey(), signedKey, signedSig));
    const kyber = KEMKeyPair.generate();
    const kyberSig = this.identity.privateKey.sign(kyber.getPublicKey().serialize());
    await this.kyberPrekeys.saveKyberPreKey(1, KyberPreKeyRecord.new(1, Date.now(), kyber, kyberSig));
    const prekeys = [];
    for (let id = 1; id <= prekeyCount; id += 1) {
      const key = PrivateKey.generate();
      await this.prekeys.savePreKey(id, PreKeyRecord.new(id, key.getPublicKey(), key));
      prekeys.push({ id, key: key.getPublicKey().serialize() });
    }
    return this.client.putKeys({
      identity: this.identity.publicKey.serialize(),
      signed: { id: 1, key: signedKey.getPublicKey().serialize(), sig: signedSig },
      kyber: { id: 1, key: kyber.getPublicKey().serialize(), sig: kyberSig },
      reg: this.registrationId,
      prekeys,
    });
  }

  async startSession(peer: string): Promise<KeyBundle> {
    const { bundles } = await this.client.getKeys(peer);
    assert.equal(bundles.length, 1);
    const b = bundles[0]!;
    assert.ok(b.prekey && b.kyber && b.reg !== undefined, "a full bundle");
    const bundle = PreKeyBundle.new(
      b.reg,
      SignalDevice.DEVICE_ID,
      b.prekey.id,
      PublicKey.deserialize(own(b.prekey.key)),
      b.signed.id,
      PublicKey.deserialize(own(b.signed.key)),
      own(b.signed.sig),
      PublicKey.deserialize(own(b.identity)),
      b.kyber.id,
      KEMPublicKey.deserialize(own(b.kyber.key)),
      own(b.kyber.sig),
    );
    await processPreKeyBundle(bundle, ProtocolAddress.new(peer, SignalDevice.DEVICE_ID), this.address, this.sessions, this.identities);
    return b;
  }

  async encrypt(peer: string, text: string): Promise<Uint8Array> {
    const message = await signalEncrypt(
      own(new TextEncoder().encode(text)),
      ProtocolAddress.new(peer, SignalDevice.DEVICE_ID),
      this.address,
      this.sessions,
      this.identities,
    );
    return new Uint8Array([message.type(), ...message.serialize()]);
  }

  async decrypt(from: string, envelope: Uint8Array): Promise<string> {
    const sender = ProtocolAddress.new(from, SignalDevice.DEVICE_ID);
    const body = own(envelope.subarray(1));
    const plain =
      envelope[0] === CiphertextMessageType.PreKey
        ? await signalDecryptPreKey(PreKeySignalMessage.deserialize(body), sender, this.address, this.sessions, this.identities, this.prekeys, this.signedPrekeys, this.kyberPrekeys)
        : await signalDecrypt(SignalMessage.deserialize(body), sender, this.address, this.sessions, this.identities);
    return new TextDecoder().decode(plain);
  }
}

// Every byte the store wrote, in every file under its folder (LMDB keeps more than one env).
function allBytes(dir: string): Buffer {
  return Buffer.concat(
    readdirSync(dir, { withFileTypes: true }).map((entry) =>
      entry.isDirectory() ? allBytes(join(dir, entry.name)) : readFileSync(join(dir, entry.name)),
    ),
  );
}

describe("libsignal sessions through the router", () => {
  let node: TestNode;
  let stores: Stores;
  let lmdbDir: string;
  before(async () => {
    lmdbDir = join(tempDir("router-e2e-"), "lmdb");
    stores = openLmdbStores({ path: lmdbDir });
    node = await TestNode.start({ overrides: { stores } });
  });
  after(async () => {
    await node.stop();
    rmSync(dirname(lmdbDir), { recursive: true, force: true });
  });

  it("establishes sessions from fetched bundles and relays only ciphertext", async () => {
    const alice = new SignalDevice("alice-e2e", await node.connect("alice-e2e", { device: "1" }));
    const bob = new SignalDevice("bob-e2e", await node.connect("bob-e2e", { device: "1" }));
    assert.equal(await alice.publish(5), 5);
    assert.equal(await bob.publish(5), 5);

    // Alice starts: she claims one of Bob's prekeys and her first message carries her half.
    const claimed = await alice.startSession("bob-e2e");
    const chat = directChatId("alice-e2e", "bob-e2e");
    const plaintexts: Array<[SignalDevice, SignalDevice, string]> = [
      [alice, bob, "secret one: the eagle lands at dawn"],
      [alice, bob, "secret two: bring the blue folder"],
      [bob, alice, "secret three: understood, blue folder"],
      [alice, bob, "secret four: 🛰️ unicode survives"],
      [bob, alice, "secret five: see you at the usual place"],
      [bob, alice, "secret six: and bring coffee"],
    ];
    let expected = { [alice.user]: 0, [bob.user]: 0 };
    for (const [from, to, text] of plaintexts) {
      const envelope = await from.encrypt(to.user, text);
      const sent = await from.client.send(to.user, envelope, { kind: "cipher" });
      expected = { ...expected, [to.user]: expected[to.user]! + 1 };
      const received = await to.client.waitForMessages(expected[to.user]!, chat);
      const frame = received.find((m) => m.seq === sent.seq) as MessageFrame;
      assert.equal(frame.kind, "cipher");
      assert.ok(frame.body instanceof Uint8Array, "ciphertext travels as bytes");
      assert.deepEqual(new Uint8Array(frame.body), envelope, "relayed untouched");
      assert.equal(await to.decrypt(from.user, frame.body), text);
    }
    // Bob's first reply went out on the session Alice's prekey message set up: no bundle fetch.
    assert.equal(bob.prekeys.records.has(claimed.prekey!.id), false, "the claimed one-time prekey was used up");

    // Bob's fresh bundle fetch (e.g. a second device of Alice's peer) gets a different prekey.
    const again = await alice.client.getKeys("bob-e2e");
    assert.notEqual(again.bundles[0]!.prekey?.id, claimed.prekey!.id);

    // What the router stored for this chat: every body is the ciphertext envelope, none the text.
    const stored = await stores.messages.readAfter(chat, 0, 100);
    assert.equal(stored.length, plaintexts.length);
    for (const message of stored) {
      assert.equal(message.kind, "cipher");
      assert.ok(message.body instanceof Uint8Array);
      const asText = Buffer.from(message.body).toString("latin1");
      for (const [, , text] of plaintexts) assert.ok(!asText.includes(text.slice(0, 12)));
    }
    // And on disk, nowhere in the LMDB files: checked against a control message that is
    // sent in the clear, so the scan is known to find plaintext when there is some.
    await alice.client.send("bob-e2e", "control-plaintext-7f3a", { kind: "text" });
    await Promise.all([alice.client.close(), bob.client.close()]);
    await node.stop();
    const disk = allBytes(lmdbDir);
    assert.ok(disk.includes("control-plaintext-7f3a"), "the scan sees plaintext stored in the clear");
    for (const [, , text] of plaintexts) {
      assert.ok(!disk.includes(Buffer.from(text)), `"${text}" is not on disk`);
      assert.ok(!disk.includes(Buffer.from(text.split(":")[1]!.trim())), "nor its content");
    }
  });
});
