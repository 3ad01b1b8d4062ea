import assert from "node:assert/strict";
import { eventually } from "../support/flood.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, watch } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { directChatId } from "../../src/protocol/frames.ts";
import { RequestError, type RouterClient } from "../../sdk/client.ts";
import { clusterStorage } from "../support/backend.ts";
import { startCassandra, type CassandraNode } from "../support/cassandra.ts";
import { TestNode } from "../support/node.ts";
import { startRedisServer, type RedisServer } from "../support/redis.ts";

/**
 * The Cassandra JVM this process started (test/support/cassandra.ts spawns it as a child), as
 * /proc tells: its command line, working directory (its data and log live there) and binary.
 * startCassandra() offers no restart, and a restart must keep the data to show what was stored.
 */
interface Jvm {
  pid: number;
  exe: string;
  args: string[];
  cwd: string;
}

function ownCassandraJvm(): Jvm {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // Field 4, after the parenthesised command name (which may hold spaces).
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent !== process.pid) continue;
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      if (!argv.includes("org.apache.cassandra.service.CassandraDaemon")) continue;
      return { pid: Number(entry), exe: readlinkSync(`/proc/${entry}/exe`), args: argv.slice(1), cwd: readlinkSync(`/proc/${entry}/cwd`) };
    } catch {
      // A process that ended while we looked.
    }
  }
  throw new Error("no Cassandra JVM among this process's children");
}

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** Resolves once `line` is appended to `path` after this call; rejects after `timeoutMs`. */
function waitForNewLogLine(path: string, line: string, timeoutMs: number): Promise<void> {
  let offset = statSync(path).size;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const text = readFileSync(path, "utf8").slice(offset);
      if (!text.includes(line)) return;
      offset += text.length;
      finish(() => resolve());
    };
    const watcher = watch(path, check);
    const timer = setTimeout(() => finish(() => reject(new Error(`"${line}" not logged within ${timeoutMs} ms`))), timeoutMs);
    const finish = (outcome: () => void): void => {
      clearTimeout(timer);
      watcher.close();
      outcome();
    };
  });
}

/** Kills and starts again the JVM of a CassandraNode, on the same ports and data. */
class CassandraRestarter {
  private jvm: Jvm;
  private respawned: ChildProcess | undefined;

  constructor(private readonly node: CassandraNode) {
    this.jvm = ownCassandraJvm();
    process.once("exit", () => this.respawned?.kill("SIGKILL"));
  }

  /** SIGKILL: no drain, no flush; what was acknowledged must be in the commit log. */
  async kill(): Promise<void> {
    process.kill(this.jvm.pid, "SIGKILL");
    // The socket closes with the process; a refused connect is the sign it is gone.
    while (!(await portRefuses(this.node.port))) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  async start(): Promise<void> {
    const logPath = join(this.jvm.cwd, "cassandra.log");
    const ready = waitForNewLogLine(logPath, "Startup complete", 180_000);
    const logFd = openSync(logPath, "a");
    const child = spawn(this.jvm.exe, this.jvm.args, { cwd: this.jvm.cwd, stdio: ["ignore", logFd, logFd] });
    closeSync(logFd);
    this.respawned = child;
    this.jvm = { ...this.jvm, pid: child.pid ?? 0 };
    await ready;
  }

  /** Stops a JVM this restarter started; startCassandra's own stop() then removes the data. */
  async stop(): Promise<void> {
    const child = this.respawned;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }
}

const RETRIABLE = new Set(["unavailable", "timeout", "internal"]);

interface Outcome {
  cid: string;
  seq?: number;
  code?: string;
}

async function trySend(client: RouterClient, cid: string): Promise<Outcome> {
  try {
    return { cid, seq: (await client.send("bob", `body ${cid}`, { cid })).seq };
  } catch (error) {
    if (error instanceof RequestError) return { cid, code: error.code };
    throw error;
  }
}

/**
 * A node on a Cassandra of this test's own, which is killed under traffic and started again.
 * The run's shared Cassandra is never touched.
 */
describe("a cluster node when Cassandra goes away mid-traffic", () => {
  let cassandra: CassandraNode;
  let restarter: CassandraRestarter;
  let redis: RedisServer;
  let node: TestNode;
  before(async () => {
    [cassandra, redis] = await Promise.all([startCassandra({ durableCommitLog: true }), startRedisServer()]);
    restarter = new CassandraRestarter(cassandra);
    node = await TestNode.start({
      config: (config) => {
        config.storage = { ...clusterStorage(config.dataDir, { scylla: cassandra.contactPoint, redis: redis.url }), cqlRequestTimeoutMs: 2_000 };
      },
    });
  });
  after(async () => {
    await node?.stop();
    await restarter?.stop();
    await cassandra?.stop();
    await redis?.stop();
  });

  it("answers unavailable, acks nothing it did not store, and sends again once Cassandra is back", async () => {
    const chat = directChatId("alice", "bob");
    const alice = await node.connect("alice");
    const outcomes = new Map<string, Outcome>();
    const record = (outcome: Outcome): void => void outcomes.set(outcome.cid, outcome);

    for (const outcome of await Promise.all(Array.from({ length: 20 }, (_, i) => trySend(alice, `before-${i}`)))) record(outcome);
    assert.ok([...outcomes.values()].every((outcome) => outcome.seq !== undefined), "all stored before the fault");

    // Traffic in flight while the JVM dies, then more while it is gone.
    const inFlight = Promise.all(Array.from({ length: 30 }, (_, i) => trySend(alice, `during-${i}`)));
    await restarter.kill();
    // A node whose message store does not answer tells load balancers to send clients elsewhere.
    await eventually(async () => {
      const readiness = await fetch(`${node.httpUrl}/readyz`);
      assert.equal(readiness.status, 503);
      assert.match(((await readiness.json()) as { reasons: string[] }).reasons.join(), /message store does not answer/);
    }, 60_000);
    for (const outcome of await inFlight) record(outcome);
    for (const outcome of await Promise.all(Array.from({ length: 20 }, (_, i) => trySend(alice, `down-${i}`)))) record(outcome);

    const refused = [...outcomes.values()].filter((outcome) => outcome.code !== undefined);
    assert.ok(refused.length >= 20, `sends while Cassandra is down are refused (${refused.length})`);
    for (const outcome of refused) assert.ok(RETRIABLE.has(outcome.code!), `retriable, got ${outcome.code}`);
    assert.ok(refused.some((outcome) => outcome.code === "unavailable"));
    const ackedBeforeRestart = new Map([...outcomes.values()].flatMap((o) => (o.seq !== undefined ? [[o.cid, o.seq] as const] : [])));

    await restarter.start();
    await eventually(async () => assert.equal((await fetch(`${node.httpUrl}/readyz`)).status, 200), 90_000);
    // The client retries everything refused, with the same cid and a client's backoff, until it
    // is stored.
    const deadline = Date.now() + 90_000;
    for (let pending = refused.map((o) => o.cid); pending.length > 0; ) {
      assert.ok(Date.now() < deadline, `still refused a minute and a half after the restart: ${pending.join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const retried = await Promise.all(pending.map((cid) => trySend(alice, cid)));
      for (const outcome of retried) if (outcome.seq !== undefined) record(outcome);
      pending = retried.filter((outcome) => outcome.seq === undefined).map((outcome) => outcome.cid);
      for (const outcome of retried) if (outcome.code) assert.ok(RETRIABLE.has(outcome.code), `retriable, got ${outcome.code}`);
    }
    const fresh = await trySend(alice, "after-restart");
    assert.equal(fresh.code, undefined, "sending works again");
    record(fresh);

    // Every message has exactly one seq, seqs run 1..n without a gap, every ack names the message
    // stored there, and what was acked before the restart kept its seq.
    const seqs = [...outcomes.values()].map((o) => o.seq!).sort((a, b) => a - b);
    if (process.env["DEBUG_FAULT"]) process.stderr.write(`${JSON.stringify([...outcomes.values()].sort((a, b) => a.seq! - b.seq!))}\n`);
    assert.deepEqual(seqs, Array.from({ length: outcomes.size }, (_, i) => i + 1));
    for (const [cid, seq] of ackedBeforeRestart) assert.equal(outcomes.get(cid)?.seq, seq, `${cid} kept its seq`);
    const bob = await node.connect("bob");
    const received = await bob.waitForMessages(outcomes.size, chat, 30_000);
    assert.deepEqual(received.map((m) => m.seq), seqs);
    for (const message of received) {
      const cid = String(message.body).replace(/^body /, "");
      assert.equal(outcomes.get(cid)?.seq, message.seq, `seq ${message.seq} holds ${cid}, as acked`);
    }
    await Promise.all([alice.close(), bob.close()]);
  });
});
