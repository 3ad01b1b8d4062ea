import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { Ring } from "../../src/cluster/ring.ts";
import { CLOSE_CODES } from "../../src/protocol/frames.ts";
import { startNatsServer, type NatsServer } from "../support/nats.ts";
import { NodeProcess, tempDir } from "../support/node.ts";

const run = promisify(execFile);

describe("the operator CLI", () => {
  let nats: NatsServer;
  const dirs = [tempDir(), tempDir()];
  const nodes: NodeProcess[] = [];
  const prefix = `cli${process.pid}`;
  const router = (...args: string[]) =>
    run(process.execPath, ["bin/router.mjs", ...args, "--nats", nats.url, "--prefix", prefix], { encoding: "utf8" });

  before(async () => {
    nats = await startNatsServer();
    for (const [i, dir] of dirs.entries()) {
      // The operator commands need no shared store: nodes on their own LMDB (development only).
      const args = ["--nats", nats.url, "--cluster-prefix", prefix, "--node-id", `op-${i}`, "--unsafe-local-store-cluster"];
      nodes.push(await NodeProcess.start(dir, undefined, args));
    }
  });
  after(async () => {
    for (const node of nodes) await node.kill("SIGTERM");
    await nats.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("shows status, ring shares and placement, as tables and as JSON", async () => {
    // Both nodes answer once each sees the other: membership settles within a few beats.
    let status: Array<{ node: string; members: string[]; address: string }>;
    do {
      status = JSON.parse((await router("cluster", "status", "--json")).stdout);
    } while (status.length < 2 || status.some((s) => s.members.length < 2));
    assert.deepEqual(status.map((s) => s.node), ["op-0", "op-1"]);
    assert.deepEqual(status.map((s) => s.address), nodes.map((n) => `127.0.0.1:${n.port}`));

    const table = (await router("cluster", "status")).stdout;
    assert.match(table, /^node\s+address\s+version\s+up since\s+connections\s+actors\s+ring size$/m);
    assert.match(table, /^op-1\s+127\.0\.0\.1:\d+/m);

    const shares: Array<{ node: string; share: number }> = JSON.parse((await router("cluster", "ring", "--json")).stdout);
    assert.equal(shares.length, 2);
    for (const share of shares) assert.ok(Math.abs(share.share - 0.5) < 0.02, `${share.node}: ${share.share}`);

    const where = JSON.parse((await router("cluster", "where", "alice", "--json")).stdout);
    assert.deepEqual(where.key, "user:alice");
    assert.equal(where.owner, Ring.of(["op-0", "op-1"]).ownerOf("user:alice"));
    const chat = JSON.parse((await router("cluster", "where", "d:alice:bob", "--json")).stdout);
    assert.equal(chat.key, "chat:d:alice:bob");
  });

  it("drains a node: its clients are told to reconnect, it leaves the ring and exits", async () => {
    const client = await nodes[1]!.connect("drained-user");
    await router("node", "drain", "op-1");
    assert.equal((await client.waitForClose()).code, CLOSE_CODES.going_away);
    assert.equal(await nodes[1]!.exited, 0);
    let status: Array<{ node: string; members: string[] }>;
    do {
      status = JSON.parse((await router("cluster", "status", "--json")).stdout);
    } while (status.length !== 1 || status[0]!.members.length !== 1);
    assert.deepEqual(status[0]!.members, ["op-0"]);
    await assert.rejects(router("node", "drain", "no-such-node"), /did not answer/);
  });
});
