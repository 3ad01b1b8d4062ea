import pino from "pino";
import { clusterStatus, NoRouterNodeError, requestDrain, type NodeStatus } from "../cluster/admin.ts";
import { connectNats } from "../cluster/nats-connection.ts";
import { ownershipShares, Ring } from "../cluster/ring.ts";
import { chatKey, userKey } from "../cluster/routing.ts";
import { isGroupChat, directChatMembers } from "../protocol/frames.ts";
import { ConfigError } from "../config.ts";
import { renderTable } from "./table.ts";

/** Keys sampled to measure ownership shares: enough that a share is right to about 0.3%. */
const SHARE_SAMPLE = 100_000;

/** Where a cluster command goes, and what it was asked (settings resolved by main.ts). */
export interface ClusterTarget {
  nats: string;
  prefix: string;
  json: boolean;
  positionals: string[];
}

async function withNats<T>(nats: string, run: (connection: Awaited<ReturnType<typeof connectNats>>) => Promise<T>): Promise<T> {
  const connection = await connectNats({ servers: nats.split(","), name: "router-cli" }, pino({ level: "silent" }));
  try {
    return await run(connection);
  } finally {
    await connection.close();
  }
}

async function gather(target: ClusterTarget): Promise<NodeStatus[]> {
  const statuses = await withNats(target.nats, (nats) => clusterStatus(nats, target.prefix));
  if (statuses.length === 0) throw new NoRouterNodeError(`no router node answered on ${target.prefix}.admin at ${target.nats}`);
  return statuses;
}

function print(json: boolean, value: unknown, table: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : table());
}

export async function clusterStatusCommand(target: ClusterTarget): Promise<number> {
  const statuses = await gather(target);
  const json = target.json;
  print(json, statuses, () =>
    renderTable(
      ["node", "address", "version", "up since", "connections", "actors", "ring size"],
      statuses.map((s) => [s.node, s.address, s.version, new Date(s.startedAt).toISOString(), s.connections, s.actors, s.members.length]),
    ),
  );
  const sizes = new Set(statuses.map((s) => s.members.join(",")));
  if (sizes.size > 1 && !json) process.stdout.write("warning: nodes disagree on the ring (membership is settling)\n");
  return 0;
}

export async function clusterRingCommand(target: ClusterTarget): Promise<number> {
  const statuses = await gather(target);
  const json = target.json;
  const ring = Ring.of(statuses.map((s) => s.node));
  const keys = Array.from({ length: SHARE_SAMPLE }, (_, i) => (i % 2 ? userKey(`u${i}`) : chatKey(`g:sample${i}`)));
  const shares = [...ownershipShares(ring, keys)].map(([node, share]) => ({ node, share: share.share }));
  print(json, shares, () => renderTable(["node", "share"], shares.map((s) => [s.node, `${(s.share * 100).toFixed(1)}%`])));
  return 0;
}

export async function clusterWhereCommand(cluster: ClusterTarget): Promise<number> {
  const target = cluster.positionals[0];
  if (!target) throw new ConfigError("usage: router cluster where <user|chat>");
  const statuses = await gather(cluster);
  const json = cluster.json;
  const isChat = isGroupChat(target) || directChatMembers(target) !== undefined;
  const key = isChat ? chatKey(target) : userKey(target);
  const owner = Ring.of(statuses.map((s) => s.node)).ownerOf(key);
  const address = statuses.find((s) => s.node === owner)?.address;
  print(json, { key, owner, address }, () => renderTable(["key", "node", "address"], [[key, owner, address ?? ""]]));
  return 0;
}

export async function nodeDrainCommand(target: ClusterTarget): Promise<number> {
  const node = target.positionals[0];
  if (!node) throw new ConfigError("usage: router node drain <node-id>");
  await withNats(target.nats, (nats) => requestDrain(nats, target.prefix, node));
  print(target.json, { node, draining: true }, () => `${node}: draining\n`);
  return 0;
}
