import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "nats";
import { clusterStatus, type NodeStatus } from "../../src/cluster/admin.ts";
import { startNatsServer, type NatsServer } from "../../test/support/nats.ts";
import { freePort } from "../../test/support/ports.ts";
import { sleep } from "./clock.ts";
import type { CqlBackend } from "./cql-backend.ts";
import { readCpuMs, readIo, readMemory } from "./proc.ts";
import { RouterProcess, type RouterProcessOptions } from "./router-process.ts";
import { pidListeningWith, type SystemUnderTest } from "./systems.ts";

export interface ClusterNodeProcess {
  id: string;
  router: RouterProcess;
}

/**
 * Where the nodes keep messages: each its own LMDB (`--unsafe-local-store-cluster`:
 * development only, see the flag's help), or one shared CQL + Redis backend, as production.
 */
export type ClusterStorage = { kind: "lmdb" } | { kind: "cql"; backend: CqlBackend; keyspace: string };

/**
 * Router nodes joined over their own nats-server (`router node start --nats URL
 * --cluster-prefix P --node-id ID`) with one shared secret, each with its own data directory,
 * on `storage`, measured as one system: CPU, RSS and disk writes are the nodes', the NATS
 * server's and (on CQL) those of the Cassandra and Redis the bench started, together, since
 * the cluster's messages pay for all of them.
 */
export interface ClusterSystem extends SystemUnderTest {
  nodes: ClusterNodeProcess[];
  storage: ClusterStorage["kind"];
  /** The CQL keyspace the nodes share, on CQL. */
  keyspace?: string;
  nats: NatsServer;
  prefix: string;
  /** Messages the NATS server has received from its clients so far (its /varz `in_msgs`). */
  natsInMessages(): Promise<number>;
  /** CPU ms so far of each part (every node, NATS, and the CQL backend's servers the bench started), for where the time went. */
  cpuByPart(): Record<string, number>;
  /** Every node's answer to `<prefix>.admin.status` (`router cluster status`). */
  status(): Promise<NodeStatus[]>;
}

async function natsVarz(monitorPort: number): Promise<{ in_msgs: number; out_msgs: number }> {
  return (await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as { in_msgs: number; out_msgs: number };
}

/** `router node start` flags and environment putting a node of the cluster `prefix` on `storage`. */
function storageOptions(storage: ClusterStorage, prefix: string): Pick<RouterProcessOptions, "routerFlags" | "env"> {
  if (storage.kind === "lmdb") {
    // Each node on its own LMDB prices the NATS hop without a CQL cluster to run; the flag
    // that allows it loses messages when a chat's owner changes (none does here).
    return { routerFlags: ["--unsafe-local-store-cluster"], env: {} };
  }
  const { backend, keyspace } = storage;
  return {
    routerFlags: ["--scylla", backend.scylla, "--redis", backend.redis, "--keyspace", keyspace, "--local-dc", backend.localDc],
    // Its own Redis keys per system: a run does not see the last one's presence.
    env: { ROUTER_REDIS_PREFIX: `${prefix}:` },
  };
}

/** Starts NATS and `nodeIds.length` nodes, and resolves once every node's ring holds all of them. */
// long: one start-up sequence whose every step must be undone by the same stopAll on failure
export async function startClusterSystem(
  nodeIds: readonly string[],
  options: RouterProcessOptions = {},
  name = "cluster",
  storage: ClusterStorage = { kind: "lmdb" },
): Promise<ClusterSystem> {
  const monitorPort = await freePort();
  const nats = await startNatsServer({ extraArgs: ["-m", String(monitorPort)] });
  const natsPid = pidListeningWith("nats-server", nats.port);
  const prefix = `bench${randomBytes(4).toString("hex")}`;
  const secret = randomBytes(24).toString("hex");
  const nodes: ClusterNodeProcess[] = [];
  let admin: NatsConnection | undefined;
  const stopAll = async (): Promise<void> => {
    await admin?.close().catch(() => {});
    await Promise.all(nodes.map(async ({ router }) => {
      await router.stop();
      router.removeData();
    }));
    await nats.stop();
  };
  const onStorage = storageOptions(storage, prefix);
  try {
    for (const id of nodeIds) {
      const router = await RouterProcess.start({
        ...options,
        secret,
        env: { ...options.env, ...onStorage.env },
        routerFlags: [...(options.routerFlags ?? []), "--nats", nats.url, "--cluster-prefix", prefix, "--node-id", id, ...(onStorage.routerFlags ?? [])],
      });
      nodes.push({ id, router });
    }
    admin = await connect({ servers: nats.url, name: "bench" });
    const connection = admin;
    const status = (): Promise<NodeStatus[]> => clusterStatus(connection, prefix, 1000);
    const wanted = [...nodeIds].sort().join(",");
    const deadline = Date.now() + 30_000;
    for (;;) {
      const statuses = await status();
      if (statuses.length === nodeIds.length && statuses.every((s) => [...s.members].sort().join(",") === wanted)) break;
      if (Date.now() > deadline) throw new Error(`the nodes did not agree on the ring [${wanted}] within 30 s: ${JSON.stringify(statuses.map((s) => ({ node: s.node, members: s.members })))}`);
      await sleep(250);
    }
    const cpuOf = (pid: number | undefined): number => (pid ? readCpuMs(pid) : 0);
    const backend = storage.kind === "cql" ? storage.backend : undefined;
    return {
      name,
      nodes,
      storage: storage.kind,
      keyspace: storage.kind === "cql" ? storage.keyspace : undefined,
      nats,
      prefix,
      // Direct ramps only, so the lean client, as the single-node direct scenario uses.
      target: { kind: "router", url: nodes[0]!.router.url, secret, lean: true },
      cpuMs: () => nodes.reduce((sum, node) => sum + node.router.cpuMs(), 0) + cpuOf(natsPid) + (backend?.cpuMs() ?? 0),
      rssKb: () => nodes.reduce((sum, node) => sum + node.router.memory().rssKb, 0) + (natsPid ? readMemory(natsPid).rssKb : 0) + (backend?.rssKb() ?? 0),
      diskWriteBytes: () => nodes.reduce((sum, node) => sum + readIo(node.router.pid).writeBytes, 0) + (natsPid ? readIo(natsPid).writeBytes : 0) + (backend?.diskWriteBytes() ?? 0),
      cpuByPart: () => ({
        ...Object.fromEntries(nodes.map((node) => [node.id, node.router.cpuMs()])),
        nats: cpuOf(natsPid),
        ...(backend ? { "cql + redis": backend.cpuMs() } : {}),
      }),
      natsInMessages: async () => (await natsVarz(monitorPort)).in_msgs,
      status,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
