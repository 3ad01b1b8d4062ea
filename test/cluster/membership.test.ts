import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import type { NatsConnection } from "nats";
import { pino } from "pino";
import { Membership, MembershipConfigError, type MembershipEvent, type NodeLoad } from "../../src/cluster/membership.ts";
import { connectNats, NatsConnectError } from "../../src/cluster/nats-connection.ts";
import { startNatsServer, type NatsServer } from "../support/nats.ts";
import { freePort } from "../support/ports.ts";

const logger = pino({ level: process.env["LOG_LEVEL"] ?? "silent" });
const HEARTBEAT_MS = 100;
const MISSED_BEATS = 3;
const DEADLINE_MS = 5_000;

/** Records one membership's events and lets a test wait, with a deadline, for a condition. */
class EventLog {
  readonly events: MembershipEvent[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(membership: Membership) {
    membership.on((event) => {
      this.events.push(event);
      for (const check of this.waiters) check();
    });
  }

  /** Resolves once `condition` holds, checked now and after every event. */
  until(condition: () => boolean, what: string, timeoutMs = DEADLINE_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!condition()) return;
        this.waiters.delete(check);
        clearTimeout(deadline);
        resolve();
      };
      const deadline = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves with the first event at or after `since` that matches. */
  async next<T extends MembershipEvent>(match: (event: MembershipEvent) => event is T, what: string, since = 0): Promise<T> {
    let found: T | undefined;
    await this.until(() => {
      found = this.events.slice(since).find(match);
      return found !== undefined;
    }, what);
    return found as T;
  }
}

interface TestNode {
  readonly id: string;
  readonly membership: Membership;
  readonly connection: NatsConnection;
  readonly log: EventLog;
  setLoad(load: NodeLoad): void;
}

function isLeave(nodeId: string, reason: "left" | "timeout") {
  return (event: MembershipEvent): event is Extract<MembershipEvent, { type: "leave" }> =>
    event.type === "leave" && event.node.nodeId === nodeId && event.reason === reason;
}

function isConnection(type: "disconnected" | "reconnecting" | "reconnected") {
  return (event: MembershipEvent): event is Extract<MembershipEvent, { type: "connection" }> =>
    event.type === "connection" && event.status.type === type;
}

function isUpdate(nodeId: string, connections: number) {
  return (event: MembershipEvent): event is Extract<MembershipEvent, { type: "update" }> =>
    event.type === "update" && event.node.nodeId === nodeId && event.node.load.connections === connections;
}

/** Starts nodes on one server under a prefix of their own, and cleans them up after each test. */
class Cluster {
  private readonly nodes: TestNode[] = [];
  readonly prefix = `test.membership.${randomUUID().slice(0, 8)}`;

  constructor(private readonly server: NatsServer) {}

  async startNode(id: string, connection?: NatsConnection): Promise<TestNode> {
    const ownConnection =
      connection ?? (await connectNats({ servers: this.server.url, name: id, reconnectWaitMs: 50 }, logger));
    let load: NodeLoad = { connections: 0, actors: 0 };
    const membership = new Membership(
      ownConnection,
      {
        nodeId: id,
        address: `127.0.0.1:${9000 + this.nodes.length}`,
        version: "0.1.0-test",
        subjectPrefix: this.prefix,
        heartbeatMs: HEARTBEAT_MS,
        missedBeats: MISSED_BEATS,
        readLoad: () => load,
      },
      logger,
    );
    const node: TestNode = {
      id,
      connection: ownConnection,
      membership,
      log: new EventLog(membership),
      setLoad: (next) => {
        load = next;
      },
    };
    this.nodes.push(node);
    await membership.start();
    return node;
  }

  async seeEachOther(nodes: readonly TestNode[]): Promise<void> {
    const ids = nodes.map((node) => node.id).sort();
    await Promise.all(
      nodes.map((node) =>
        node.log.until(
          () => sameIds(node.membership.memberIds(), ids),
          `${node.id} to see ${ids.join(",")} (sees ${node.membership.memberIds().join(",")})`,
        ),
      ),
    );
  }

  async stopAll(): Promise<void> {
    for (const node of this.nodes.splice(0)) {
      await node.membership.leave();
      if (!node.connection.isClosed()) await node.connection.close();
    }
  }
}

function sameIds(actual: readonly string[], expected: readonly string[]): boolean {
  return actual.length === expected.length && actual.every((id, index) => id === expected[index]);
}

describe("membership", () => {
  let server: NatsServer;
  let cluster: Cluster;

  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await cluster?.stopAll();
  });

  it("three nodes see each other join, with their address, version and load", async () => {
    cluster = new Cluster(server);
    const a = await cluster.startNode("node-a");
    const b = await cluster.startNode("node-b");
    const c = await cluster.startNode("node-c");
    await cluster.seeEachOther([a, b, c]);

    const joinedAtA = a.log.events.flatMap((event) => (event.type === "join" ? [event.node.nodeId] : []));
    assert.deepEqual(joinedAtA.sort(), ["node-b", "node-c"]);
    const cAsSeenByA = a.membership.members().find((member) => member.nodeId === "node-c");
    assert.equal(cAsSeenByA?.address, "127.0.0.1:9002");
    assert.equal(cAsSeenByA?.version, "0.1.0-test");

    c.setLoad({ connections: 42, actors: 7 });
    const update = await a.log.next(isUpdate("node-c", 42), "node-a to see node-c's new load");
    assert.deepEqual(update.node.load, { connections: 42, actors: 7 });
  });

  it("a node that leaves gracefully is removed at once with reason left", async () => {
    cluster = new Cluster(server);
    const a = await cluster.startNode("node-a");
    const b = await cluster.startNode("node-b");
    const c = await cluster.startNode("node-c");
    await cluster.seeEachOther([a, b, c]);

    await c.membership.leave();
    await Promise.all([a, b].map((node) => node.log.next(isLeave("node-c", "left"), `${node.id} to see node-c leave`)));
    assert.ok(!a.log.events.some(isLeave("node-c", "timeout")));
    assert.deepEqual(a.membership.memberIds(), ["node-a", "node-b"]);
    assert.deepEqual(b.membership.memberIds(), ["node-a", "node-b"]);
    assert.deepEqual(c.membership.members(), []);
  });

  it("a node that stops beating is declared down after the missed-beat window", async () => {
    cluster = new Cluster(server);
    const a = await cluster.startNode("node-a");
    const b = await cluster.startNode("node-b");
    const c = await cluster.startNode("node-c");
    await cluster.seeEachOther([a, b, c]);

    // A crash: the connection goes away without a leave message.
    const crashedAt = performance.now();
    await b.connection.close();
    await Promise.all(
      [a, c].map((node) => node.log.next(isLeave("node-b", "timeout"), `${node.id} to time node-b out`)),
    );
    // Its last beat was at most one interval before the crash, so the window is at least this.
    const silentFor = performance.now() - crashedAt;
    assert.ok(silentFor >= HEARTBEAT_MS * (MISSED_BEATS - 1), `declared down after only ${silentFor} ms`);
    assert.deepEqual(a.membership.memberIds(), ["node-a", "node-c"]);
    assert.deepEqual(c.membership.memberIds(), ["node-a", "node-c"]);
    assert.ok(!a.log.events.some(isLeave("node-b", "left")));
  });

  it("ignores malformed messages on its subjects", async () => {
    cluster = new Cluster(server);
    const a = await cluster.startNode("node-a");
    const raw = await connectNats({ servers: server.url, name: "garbage" }, logger);
    try {
      const encoder = new TextEncoder();
      for (const payload of ["not json", "{}", '{"v":1,"kind":"beat","nodeId":"x"}', "[1,2,3]", "null"]) {
        raw.publish(`${cluster.prefix}.heartbeat`, encoder.encode(payload));
      }
      raw.publish(`${cluster.prefix}.leave`, new Uint8Array([0xff, 0x00]));
      // A node speaking on the same connection afterwards: NATS delivers in order, so once
      // node-a has seen it join, it has also handled all the garbage.
      const probe = await cluster.startNode("node-probe", raw);
      await cluster.seeEachOther([a, probe]);
      assert.deepEqual(
        a.log.events.filter((event) => event.type === "join").map((event) => event.type === "join" && event.node.nodeId),
        ["node-probe"],
      );
    } finally {
      await cluster.stopAll();
      await raw.close();
    }
  });

  it("rejects a bad configuration up front", async () => {
    const connection = await connectNats({ servers: server.url, name: "config-check" }, logger);
    try {
      const base = { nodeId: "n", address: "127.0.0.1:1", version: "0" };
      assert.throws(() => new Membership(connection, { ...base, subjectPrefix: "a.*" }, logger), MembershipConfigError);
      assert.throws(() => new Membership(connection, { ...base, subjectPrefix: "a..b" }, logger), MembershipConfigError);
      assert.throws(() => new Membership(connection, { ...base, missedBeats: 0 }, logger), MembershipConfigError);
      assert.throws(() => new Membership(connection, { ...base, nodeId: "" }, logger), MembershipConfigError);
    } finally {
      await connection.close();
    }
  });
});

describe("membership on a closed connection", () => {
  it("refuses to start, with a clear error", async (t) => {
    const server = await startNatsServer();
    t.after(() => server.stop());
    const connection = await connectNats({ servers: server.url, name: "closed" }, logger);
    await connection.close();
    const membership = new Membership(connection, { nodeId: "n", address: "127.0.0.1:1", version: "0" }, logger);
    await assert.rejects(membership.start(), /nats connection is closed/);
    assert.deepEqual(membership.members(), []);
  });
});

describe("nats connection", () => {
  it("rejects when no server answers", async () => {
    const port = await freePort();
    await assert.rejects(
      connectNats({ servers: `nats://127.0.0.1:${port}`, name: "nobody-home", connectTimeoutMs: 2_000 }, logger),
      NatsConnectError,
    );
  });
});

describe("membership across a nats server restart", () => {
  let server: NatsServer;
  let cluster: Cluster;

  before(async () => {
    server = await startNatsServer();
  });
  after(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await cluster?.stopAll();
  });

  it("keeps its members and resumes beating once the server is back", async () => {
    cluster = new Cluster(server);
    const nodes = [await cluster.startNode("node-a"), await cluster.startNode("node-b"), await cluster.startNode("node-c")];
    await cluster.seeEachOther(nodes);
    const marks = nodes.map((node) => node.log.events.length);

    await server.restart();
    await Promise.all(
      nodes.map((node, i) => node.log.next(isConnection("reconnected"), `${node.id} to reconnect`, marks[i])),
    );
    for (const [i, node] of nodes.entries()) {
      assert.ok(node.log.events.slice(marks[i]).some(isConnection("disconnected")), `${node.id} saw the disconnect`);
      assert.deepEqual(node.membership.memberIds(), ["node-a", "node-b", "node-c"]);
    }

    // Heartbeats flow again: a load change on node-a reaches the others.
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    a.setLoad({ connections: 5, actors: 1 });
    await Promise.all([b, c].map((node) => node.log.next(isUpdate("node-a", 5), `${node.id} to hear node-a`)));
    // And a node that starts after the restart is seen by everyone.
    const d = await cluster.startNode("node-d");
    await cluster.seeEachOther([...nodes, d]);
    // Nobody was timed out over the outage.
    for (const node of nodes) assert.ok(!node.log.events.some((event) => event.type === "leave"), `${node.id} saw a leave`);
  });

  it("declares nobody down while the server is gone for longer than the missed-beat window", async () => {
    cluster = new Cluster(server);
    const nodes = [await cluster.startNode("node-a"), await cluster.startNode("node-b"), await cluster.startNode("node-c")];
    await cluster.seeEachOther(nodes);
    const marks = nodes.map((node) => node.log.events.length);

    await server.kill();
    // Each reconnect attempt waits at least reconnectWaitMs (50 ms), so this many failed
    // attempts prove the outage outlasted the window without sleeping for it.
    const attempts = Math.ceil((HEARTBEAT_MS * (MISSED_BEATS + 2)) / 50);
    await Promise.all(
      nodes.map((node, i) =>
        node.log.until(
          () => node.log.events.slice(marks[i]).filter(isConnection("reconnecting")).length >= attempts,
          `${node.id} to try reconnecting ${attempts} times`,
        ),
      ),
    );
    for (const node of nodes) assert.deepEqual(node.membership.memberIds(), ["node-a", "node-b", "node-c"]);

    await server.restart();
    await Promise.all(nodes.map((node, i) => node.log.next(isConnection("reconnected"), `${node.id} to reconnect`, marks[i])));
    const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
    b.setLoad({ connections: 9, actors: 0 });
    await Promise.all([a, c].map((node) => node.log.next(isUpdate("node-b", 9), `${node.id} to hear node-b`)));
    for (const node of nodes) {
      assert.ok(!node.log.events.some((event) => event.type === "leave"), `${node.id} saw a leave`);
      assert.deepEqual(node.membership.memberIds(), ["node-a", "node-b", "node-c"]);
    }
  });
});
