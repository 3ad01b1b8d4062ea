import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { TestNode } from "../support/node.ts";

const ec = () => new Uint8Array([5, ...randomBytes(32)]);

describe("key bundle fetches per user", () => {
  let node: TestNode;
  const open: RouterClient[] = [];
  async function connect(user: string): Promise<RouterClient> {
    const client = await node.connect(user);
    open.push(client);
    return client;
  }
  before(async () => {
    node = await TestNode.start({
      config: (config) => {
        config.keys.claimsPerWindow = 5;
        config.keys.claimWindowMs = 60_000;
      },
    });
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node.stop();
  });

  it("are limited, so nobody can drain a user's one-time prekeys; a refused fetch claims none", async () => {
    const owner = await connect("vera");
    await owner.putKeys({
      identity: ec(),
      signed: { id: 1, key: ec(), sig: new Uint8Array(randomBytes(64)) },
      prekeys: Array.from({ length: 20 }, (_, i) => ({ id: i + 1, key: ec() })),
    });
    const greedy = await connect("greedy");
    const claimed: Array<number | undefined> = [];
    for (let i = 0; i < 5; i += 1) claimed.push((await greedy.getKeys("vera")).bundles[0]?.prekey?.id);
    assert.deepEqual(claimed, [1, 2, 3, 4, 5]);

    const refused = await greedy.getKeys("vera").then(
      () => assert.fail("the sixth fetch in the window was answered"),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof RequestError);
    assert.equal(refused.code, "rate_limited");
    assert.match(refused.message, /at most 5 key bundle fetches per 60 s; retry in \d+ s/);

    // Someone else is not held back, and gets the next prekey: the refused fetch took none.
    const friend = await connect("friend");
    assert.equal((await friend.getKeys("vera")).bundles[0]?.prekey?.id, 6);
  });
});

describe("key bundle fetches per target", () => {
  let node: TestNode;
  const open: RouterClient[] = [];
  async function connect(user: string): Promise<RouterClient> {
    const client = await node.connect(user);
    open.push(client);
    return client;
  }
  before(async () => {
    node = await TestNode.start({
      config: (config) => {
        config.keys.claimsPerWindow = 100;
        config.keys.claimsPerTargetWindow = 4;
        config.keys.claimWindowMs = 600_000;
      },
    });
  });
  after(async () => {
    await Promise.all(open.map((client) => client.close()));
    await node.stop();
  });

  it("take at most the target's budget of one-time prekeys, whoever asks; later fetches get the bundle without one", async () => {
    const owner = await connect("wanda");
    await owner.putKeys({
      identity: ec(),
      signed: { id: 1, key: ec(), sig: new Uint8Array(randomBytes(64)) },
      prekeys: Array.from({ length: 20 }, (_, i) => ({ id: i + 1, key: ec() })),
    });
    const first = await connect("drainer1");
    const second = await connect("drainer2");
    const prekeys: Array<number | undefined> = [];
    for (let i = 0; i < 3; i += 1) {
      prekeys.push((await first.getKeys("wanda")).bundles[0]?.prekey?.id);
      prekeys.push((await second.getKeys("wanda")).bundles[0]?.prekey?.id);
    }
    // Two requesters, six fetches, four prekeys: the rest answered with the signed prekey only.
    assert.deepEqual(prekeys, [1, 2, 3, 4, undefined, undefined]);
    const late = await second.getKeys("wanda");
    assert.equal(late.bundles.length, 1);
    assert.equal(late.bundles[0]?.prekey, undefined);
    assert.ok(late.bundles[0]?.signed.key instanceof Uint8Array);
    // Nothing more was taken: the owner still holds the 16 left.
    assert.equal(await owner.putKeys({ identity: late.bundles[0]!.identity, signed: late.bundles[0]!.signed, prekeys: [] }), 16);
  });
});
