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
