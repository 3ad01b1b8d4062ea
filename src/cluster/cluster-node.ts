import type { NatsConnection } from "nats";
import type { NodeConfig } from "../config.ts";
import type { Logger } from "../util/logger.ts";
import { serveAdmin } from "./admin.ts";
import { Membership, type NodeLoad } from "./membership.ts";
import { connectNats } from "./nats-connection.ts";
import { RemoteDispatch, type DispatchObserver } from "./remote-dispatch.ts";
import type { Ring } from "./ring.ts";
import { ClusterRouting, type LocalTargets } from "./routing.ts";
import { VERSION } from "../version.ts";

export interface ClusterNode {
  routing: ClusterRouting;
  dispatch: RemoteDispatch;
  owns(key: string): boolean;
  members(): readonly string[];
  /** Resolves once the ring holds exactly `count` members. */
  whenMembers(count: number): Promise<void>;
  /** Announces this node (its client address known once listening) and follows membership. */
  start(hooks: { address: string; readLoad: () => NodeLoad; onRingChange: (before: Ring, after: Ring) => void; onDrain: () => void;
    /** NATS came back after an outage: messages between nodes may have been lost meanwhile. */
    onLinkRestored: () => void }): Promise<void>;
  leave(): Promise<void>;
  close(): Promise<void>;
}

/**
 * This node's part in a cluster: its NATS connection, its membership heartbeats, the ring
 * built from the live members, and the routing of messages to whichever node owns them.
 */
export async function joinCluster(config: NodeConfig, local: LocalTargets, log: Logger, observe?: DispatchObserver): Promise<ClusterNode> {
  const nats: NatsConnection = await connectNats(
    { servers: config.cluster.nats.split(",").map((server) => server.trim()), name: config.nodeId },
    log.child({ component: "nats" }),
  );
  const prefix = config.cluster.subjectPrefix;
  const dispatch = new RemoteDispatch(nats, config.nodeId, prefix, log.child({ component: "dispatch" }), observe);
  const routing = new ClusterRouting(dispatch, local, log.child({ component: "routing" }));
  dispatch.start((envelope, from) => routing.receive(envelope, from));
  let membership: Membership | undefined;
  let stopAdmin: (() => void) | undefined;
  let waiters: Array<{ count: number; resolve: () => void }> = [];
  const settleWaiters = () => {
    const size = dispatch.members.length;
    for (const waiter of waiters.filter((w) => w.count === size)) waiter.resolve();
    waiters = waiters.filter((w) => w.count !== size);
  };

  return {
    routing,
    dispatch,
    owns: (key) => dispatch.ownerOf(key) === config.nodeId,
    members: () => dispatch.members,
    whenMembers: (count) =>
      dispatch.members.length === count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    async start({ address, readLoad, onRingChange, onDrain, onLinkRestored }) {
      const startedAt = Date.now();
      stopAdmin = serveAdmin(
        nats,
        prefix,
        config.nodeId,
        () => ({ node: config.nodeId, address, version: VERSION, startedAt, ...readLoad(), members: [...dispatch.members] }),
        onDrain,
        log.child({ component: "admin" }),
      );
      membership = new Membership(
        nats,
        {
          nodeId: config.nodeId,
          address,
          version: VERSION,
          subjectPrefix: `${prefix}.cluster`,
          heartbeatMs: config.cluster.heartbeatMs,
          missedBeats: config.cluster.missedBeats,
          readLoad,
        },
        log,
      );
      const current = membership;
      current.on((event) => {
        if (event.type === "connection" && event.status.type === "reconnected") onLinkRestored();
        if (event.type !== "join" && event.type !== "leave") return;
        const { before, after } = dispatch.setMembers(current.memberIds());
        if (before.sameMembersAs(after)) return;
        log.info({ members: after.members, event: event.type, node: event.node.nodeId }, "ring changed");
        onRingChange(before, after);
        settleWaiters();
      });
      await current.start();
    },
    async leave() {
      await membership?.leave();
    },
    async close() {
      stopAdmin?.();
      await dispatch.stop();
      await nats.drain().catch(() => undefined);
    },
  };
}
