import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { turnCredentials } from "../../src/calls/turn.ts";
import { RequestError } from "../../sdk/client.ts";
import { startTurnServer, type TurnServer } from "../support/coturn.ts";
import { TestNode } from "../support/node.ts";
import { SERVER_HOST } from "../support/server-process.ts";
import { TurnClient } from "../support/turn-client.ts";

const TURN_SECRET = "turn-shared-secret-for-tests";

describe("TURN credentials against a real coturn", () => {
  let turn: TurnServer;
  let node: TestNode;
  // One UDP socket per attempt: a TURN server keeps one allocation per client address.
  const client = {
    allocate: async (username: string, password: string) => {
      const socket = await TurnClient.open(SERVER_HOST, turn.port);
      try {
        return await socket.allocate(username, password);
      } finally {
        socket.close();
      }
    },
  };
  before(async () => {
    turn = await startTurnServer({ secret: TURN_SECRET });
    node = await TestNode.start({
      config: (config) => {
        config.calls.turn = { secret: TURN_SECRET, urls: `${turn.url}, stun:${SERVER_HOST}:${turn.port}`, ttlSeconds: 600 };
      },
    });
  });
  after(async () => {
    await node.stop();
    await turn.stop();
  });

  it("issues time-limited credentials that allocate a relay", async () => {
    const alice = await node.connect("turn-alice");
    const before = Math.floor(Date.now() / 1000);
    const credentials = await alice.turn();
    assert.deepEqual(credentials.urls, [turn.url, `stun:${SERVER_HOST}:${turn.port}`]);
    assert.equal(credentials.ttl, 600);
    const [expiry, user] = credentials.username.split(":");
    assert.equal(user, "turn-alice");
    assert.ok(Number(expiry) >= before + 600 && Number(expiry) <= Math.floor(Date.now() / 1000) + 600);

    const outcome = await client.allocate(credentials.username, credentials.credential);
    assert.ok(outcome.ok, `allocation refused: ${JSON.stringify(outcome)}`);
    assert.equal(outcome.relay.address, SERVER_HOST);
    await alice.close();
  });

  it("refuses expired and forged credentials", async () => {
    const settings = { secret: TURN_SECRET, urls: [turn.url], ttlSeconds: 600 };
    // Issued with the right secret, but an hour ago: its expiry has passed.
    const expired = turnCredentials(settings, "turn-bob", 0, Date.now() - 3_600_000);
    const expiredOutcome = await client.allocate(expired.username, expired.credential);
    assert.equal(expiredOutcome.ok, false);
    assert.equal(!expiredOutcome.ok && expiredOutcome.code, 401);

    // A future expiry signed with another secret.
    const forgedName = `${Math.floor(Date.now() / 1000) + 600}:turn-bob`;
    const forged = createHmac("sha1", "not-the-secret").update(forgedName).digest("base64");
    const forgedOutcome = await client.allocate(forgedName, forged);
    assert.equal(forgedOutcome.ok, false);
    assert.equal(!forgedOutcome.ok && forgedOutcome.code, 401);

    // A real credential for one user, its username changed to another's.
    const real = await (await node.connect("turn-carol")).turn();
    const stolen = await client.allocate(real.username.replace("turn-carol", "turn-dave"), real.credential);
    assert.equal(stolen.ok, false);
  });

  it("answers unavailable when no TURN secret is configured", async () => {
    const bare = await TestNode.start();
    try {
      const alice = await bare.connect("turn-erin");
      await assert.rejects(alice.turn(), (error: unknown) => error instanceof RequestError && error.code === "unavailable");
      await alice.close();
    } finally {
      await bare.stop();
    }
  });
});
