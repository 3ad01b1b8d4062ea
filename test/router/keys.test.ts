import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { KeysLowFrame } from "../../src/protocol/frames.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { TestNode } from "../support/node.ts";

function ec(): Uint8Array {
  return new Uint8Array([5, ...randomBytes(32)]);
}

function deviceKeys(prekeyIds: number[], identity = ec()) {
  return {
    identity,
    signed: { id: 1, key: ec(), sig: new Uint8Array(randomBytes(64)) },
    prekeys: prekeyIds.map((id) => ({ id, key: ec() })),
  };
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

function isCode(code: string) {
  return (error: unknown) => error instanceof RequestError && error.code === code;
}

describe("prekey service", () => {
  let node: TestNode;
  const open: RouterClient[] = [];
  async function connect(user: string, device?: string): Promise<RouterClient> {
    const client = await node.connect(user, { device });
    open.push(client);
    return client;
  }
  before(async () => {
    // These tests claim up to 61 of one user's prekeys in a window: over the per-target budget
    // (tested in key-claim-limit.test.ts), which would hand later fetches no prekey.
    node = await TestNode.start({ config: (c) => void (c.keys.claimsPerTargetWindow = 1000) });
  });
  after(async () => {
    await Promise.all(open.map((c) => c.close()));
    await node.stop();
  });

  it("stores a device's keys and hands out one bundle per device, each with its own prekey", async () => {
    const phone = await connect("kira1", "phone");
    const laptop = await connect("kira1", "laptop");
    const phoneKeys = deviceKeys(range(1, 30));
    assert.equal(await phone.putKeys(phoneKeys), 30);
    assert.equal(await laptop.putKeys(deviceKeys(range(100, 20))), 20);
    // More prekeys add to those held; a repeated id replaces, not duplicates.
    assert.equal(await phone.putKeys({ ...phoneKeys, prekeys: [{ id: 30, key: ec() }, { id: 31, key: ec() }] }), 31);

    const leo = await connect("leo1");
    const answer = await leo.getKeys("kira1");
    assert.equal(answer.t, "keys");
    assert.equal(answer.user, "kira1");
    assert.deepEqual(answer.bundles.map((b) => b.device).sort(), ["laptop", "phone"]);
    const phoneBundle = answer.bundles.find((b) => b.device === "phone")!;
    assert.deepEqual(new Uint8Array(phoneBundle.identity), phoneKeys.identity);
    assert.equal(phoneBundle.signed.id, 1);
    assert.deepEqual(new Uint8Array(phoneBundle.signed.key), phoneKeys.signed.key);
    assert.deepEqual(new Uint8Array(phoneBundle.signed.sig), phoneKeys.signed.sig);
    assert.equal(phoneBundle.prekey?.id, 1);
    assert.deepEqual(new Uint8Array(phoneBundle.prekey!.key), phoneKeys.prekeys[0]!.key);

    const onlyLaptop = await leo.getKeys("kira1", "laptop");
    assert.deepEqual(onlyLaptop.bundles.map((b) => [b.device, b.prekey?.id]), [["laptop", 101]]);
    await assert.rejects(leo.getKeys("nobody1"), isCode("not_found"));
    await assert.rejects(leo.getKeys("kira1", "tablet"), isCode("not_found"));
  });

  it("never hands one prekey to two of 50 concurrent claims from different connections", async () => {
    const owner = await connect("mona2");
    assert.equal(await owner.putKeys(deviceKeys(range(1, 60))), 60);
    const claimers = await Promise.all(range(0, 50).map((i) => connect(`claimer2-${i}`)));
    const answers = await Promise.all(claimers.map((c) => c.getKeys("mona2")));
    const ids = answers.map((a) => a.bundles[0]?.prekey?.id);
    assert.ok(ids.every((id) => typeof id === "number"), "every claim got a prekey");
    assert.equal(new Set(ids).size, 50, "all distinct");
    // None lost: what is left is exactly what nobody was given.
    const rest: number[] = [];
    for (let i = 0; i < 10; i += 1) rest.push((await owner.getKeys("mona2")).bundles[0]!.prekey!.id);
    assert.deepEqual([...ids, ...rest].sort((a, b) => a! - b!), range(1, 60));
    const exhausted = await owner.getKeys("mona2");
    assert.equal(exhausted.bundles[0]!.prekey, undefined);
    assert.equal(exhausted.bundles[0]!.signed.id, 1, "the signed prekey still serves once one-time prekeys run out");
  });

  it("tells the owner's devices once when one-time prekeys drop below 10, and again after a refill", async () => {
    const phone = await connect("nina3", "phone");
    const tablet = await connect("nina3", "tablet");
    const keys = deviceKeys(range(1, 12));
    await phone.putKeys(keys);
    const other = await connect("omar3");
    const low = (c: RouterClient) => c.frames.filter((f): f is KeysLowFrame => f.t === "keys.low");

    await other.getKeys("nina3"); // 11 left
    await other.getKeys("nina3"); // 10 left
    assert.equal(low(phone).length, 0);
    await other.getKeys("nina3"); // 9 left: below
    const warned = await phone.waitFor<KeysLowFrame>((f) => f.t === "keys.low");
    assert.deepEqual(warned, { t: "keys.low", device: "phone", count: 9 });
    await tablet.waitFor<KeysLowFrame>((f) => f.t === "keys.low");
    await other.getKeys("nina3"); // 8
    await other.getKeys("nina3"); // 7
    await phone.request({ t: "ping" }); // the warning, had there been one, would be in by now
    assert.equal(low(phone).length, 1, "at most once per drop below");

    // A refill back over the mark re-arms the warning.
    assert.equal(await phone.putKeys({ ...keys, prekeys: range(100, 10).map((id) => ({ id, key: ec() })) }), 17);
    for (let i = 0; i < 8; i += 1) await other.getKeys("nina3"); // 9 left
    await phone.waitFor<KeysLowFrame>((f) => f.t === "keys.low" && f.count === 9, 5000, phone.frames.indexOf(low(phone)[0]!) + 1);
    assert.equal(low(phone).length, 2);
  });

  it("drops the old one-time prekeys when a device publishes a new identity", async () => {
    const device = await connect("pia4");
    await device.putKeys(deviceKeys(range(1, 20)));
    assert.equal(await device.putKeys(deviceKeys(range(500, 3))), 3);
    const other = await connect("quin4");
    const bundle = (await other.getKeys("pia4")).bundles[0]!;
    assert.equal(bundle.prekey?.id, 500);
  });

  it("refuses malformed keys with invalid_field and too many with limit_exceeded", async () => {
    const client = await connect("rosa5");
    const good = deviceKeys(range(1, 3));
    const bad: Array<[string, Record<string, unknown>]> = [
      ["identity as a string", { ...good, identity: "not bytes" }],
      ["empty identity", { ...good, identity: new Uint8Array(0) }],
      ["oversized identity", { ...good, identity: new Uint8Array(65) }],
      ["missing signed", { ...good, signed: undefined }],
      ["signed without sig", { ...good, signed: { id: 1, key: ec() } }],
      ["oversized signature", { ...good, signed: { ...good.signed, sig: new Uint8Array(129) } }],
      ["negative signed id", { ...good, signed: { ...good.signed, id: -1 } }],
      ["id over 32 bits", { ...good, prekeys: [{ id: 2 ** 32, key: ec() }] }],
      ["prekeys not a list", { ...good, prekeys: { id: 1, key: ec() } }],
      ["prekey without key", { ...good, prekeys: [{ id: 1 }] }],
      ["duplicate prekey ids", { ...good, prekeys: [{ id: 7, key: ec() }, { id: 7, key: ec() }] }],
      ["too many prekeys in one frame", { ...good, prekeys: range(1, 101).map((id) => ({ id, key: ec() })) }],
      ["oversized kyber key", { ...good, kyber: { id: 1, key: new Uint8Array(2049), sig: new Uint8Array(64) } }],
      ["registration id as text", { ...good, reg: "12" }],
    ];
    for (const [what, frame] of bad) {
      await assert.rejects(client.request({ t: "keys.put", ...frame }), isCode("invalid_field"), what);
    }
    await assert.rejects(client.request({ t: "keys.get" }), isCode("invalid_field"), "keys.get without user");
    await assert.rejects(client.request({ t: "keys.get", user: "bad user" }), isCode("invalid_field"));
    await assert.rejects(client.request({ t: "keys.get", user: "rosa5", device: 7 }), isCode("invalid_field"));

    for (let i = 0; i < 10; i += 1) await client.putKeys({ ...good, prekeys: range(i * 100, 100).map((id) => ({ id, key: ec() })) });
    await assert.rejects(client.putKeys({ ...good, prekeys: [{ id: 5000, key: ec() }] }), isCode("limit_exceeded"));
    // Replacing held ids adds nothing, so it is allowed at the limit.
    assert.equal(await client.putKeys({ ...good, prekeys: [{ id: 0, key: ec() }] }), 1000);
  });

  it("answers keys requests sent before hello with hello_required", async () => {
    const { RouterClient } = await import("../../sdk/client.ts");
    const raw = await RouterClient.open(node.url);
    open.push(raw);
    await assert.rejects(raw.request({ t: "keys.get", user: "kira1" }), isCode("hello_required"));
  });
});

describe("prekey claims racing refills", () => {
  it("hands each prekey out once while a device's puts and 300 claims interleave", async () => {
    // Whatever stores the run's backend gives the node: the store's own atomicity is under test.
    const node = await TestNode.start({ config: (c) => void (c.keys.claimsPerTargetWindow = 1000) });
    const clients: RouterClient[] = [];
    try {
      const owner = await node.connect("sam6", { device: "a" });
      clients.push(owner);
      const keys = deviceKeys(range(1, 100));
      assert.equal(await owner.putKeys(keys), 100);
      const claimers = await Promise.all(range(0, 10).map((i) => node.connect(`claimer6-${i}`)));
      clients.push(...claimers);
      // 300 claims racing 2 more batches of 100: every prekey is handed out at most once,
      // and exactly the 300 prekeys that exist are handed out.
      const claims = range(0, 300).map((i) => claimers[i % claimers.length]!.getKeys("sam6"));
      const puts = [101, 201].map((from) => owner.putKeys({ ...keys, prekeys: range(from, 100).map((id) => ({ id, key: ec() })) }));
      const handedOut = (await Promise.all(claims)).flatMap((answer) => (answer.bundles[0]?.prekey ? [answer.bundles[0].prekey.id] : []));
      await Promise.all(puts);
      assert.equal(new Set(handedOut).size, handedOut.length, "no prekey handed out twice");
      const rest: number[] = [];
      for (;;) {
        const prekey = (await owner.getKeys("sam6", "a")).bundles[0]?.prekey;
        if (!prekey) break;
        rest.push(prekey.id);
      }
      assert.deepEqual([...handedOut, ...rest].sort((a, b) => a - b), range(1, 300), "none lost");
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await node.stop();
    }
  });
});
