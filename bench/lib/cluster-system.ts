import { randomBytes } from "node:crypto";
import { connect, type NatsConnection } from "nats";
import { clusterStatus, type NodeStatus } from "../../src/cluster/admin.ts";
import { startNatsServer, type NatsServer } from "../../test/support/nats.ts";
import { freePort } from "../../test/support/ports.ts";
import { sleep } from "./clock.ts";
import { readCpuMs, readIo, readMemory } from "./proc.ts";
import { RouterProcess, type RouterProcessOptions } from "./router-process.ts";
import { pidListeningWith, type SystemUnderTest } from "./systems.ts";

export interface ClusterNodeProcess {
  id: string;
  router: RouterProcess;
}

/**
 * Router nodes joined over their own nats-server (`router node start --nats URL
 * --cluster-prefix P --node-id ID --unsafe-local-store-cluster`), each with its own data
 * directory (and LMDB: development only, see the flag's help) and one shared secret,
 * measured as one system: CPU, RSS and disk writes are the nodes' and the NATS server's
 * together, since the cluster's messages pay for all of them.
 */
export interface ClusterSystem extends SystemUnderTest {
  nodes: ClusterNodeProcess[];
  nats: NatsServer;
  prefix: string;
  /** Messages the NATS server has received from its clients so far (its /varz `in_msgs`). */
  natsInMessages(): Promise<number>;
  /** Every node's answer to `<prefix>.admin.status` (`router cluster status`). */
  status(): Promise<NodeStatus[]>;
}

async function natsVarz(monitorPort: number): Promise<{ in_msgs: number; out_msgs: number }> {
  return (await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json()) as { in_msgs: number; out_msgs: number };
}

/** Starts NATS and `nodeIds.length` nodes, and resolves once every node's ring holds all of them. */
export async function startClusterSystem(nodeIds: readonly string[], options: RouterProcessOptions = {}, name = "cluster"): Promise<ClusterSystem> {
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
  try {
    for (const id of nodeIds) {
      const router = await RouterProcess.start({
        ...options,
        secret,
        // Each node on its own LMDB prices the NATS hop without a CQL cluster to run; the
        // flag that allows it loses messages when a chat's owner changes (none does here).
        routerFlags: [...(options.routerFlags ?? []), "--nats", nats.url, "--cluster-prefix", prefix, "--node-id", id, "--unsafe-local-store-cluster"],
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
    return {
      name,
      nodes,
      nats,
      prefix,
      // Direct ramps only, so the lean client, as the single-node direct scenario uses.
      target: { kind: "router", url: nodes[0]!.router.url, secret, lean: true },
      cpuMs: () => nodes.reduce((sum, node) => sum + node.router.cpuMs(), 0) + cpuOf(natsPid),
      rssKb: () => nodes.reduce((sum, node) => sum + node.router.memory().rssKb, 0) + (natsPid ? readMemory(natsPid).rssKb : 0),
      diskWriteBytes: () => nodes.reduce((sum, node) => sum + readIo(node.router.pid).writeBytes, 0) + (natsPid ? readIo(natsPid).writeBytes : 0),
      natsInMessages: async () => (await natsVarz(monitorPort)).in_msgs,
      status,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
