import { parseArgs } from "node:util";
import pino from "pino";
import { clusterStatus, requestDrain, type NodeStatus } from "../cluster/admin.ts";
import { connectNats } from "../cluster/nats-connection.ts";
import { ownershipShares, Ring } from "../cluster/ring.ts";
import { chatKey, userKey } from "../cluster/routing.ts";
import { isGroupChat, directChatMembers } from "../protocol/frames.ts";
import { ConfigError } from "../config.ts";
import { renderTable } from "./table.ts";

/** Keys sampled to measure ownership shares: enough that a share is right to about 0.3%. */
const SHARE_SAMPLE = 100_000;

interface Connection {
  statuses: NodeStatus[];
  json: boolean;
}

function options(args: string[]) {
  return parseArgs({
    args,
    options: {
      nats: { type: "string", default: process.env.ROUTER_NATS ?? "nats://127.0.0.1:4222" },
      prefix: { type: "string", default: process.env.ROUTER_CLUSTER_PREFIX ?? "router" },
      json: { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
}

async function withNats<T>(nats: string, run: (connection: Awaited<ReturnType<typeof connectNats>>) => Promise<T>): Promise<T> {
  const connection = await connectNats({ servers: nats.split(","), name: "router-cli" }, pino({ level: "silent" }));
  try {
    return await run(connection);
  } finally {
    await connection.close();
  }
}

async function gather(args: string[]): Promise<Connection & { positionals: string[] }> {
  const { values, positionals } = options(args);
  const statuses = await withNats(values.nats!, (nats) => clusterStatus(nats, values.prefix!));
  if (statuses.length === 0) throw new ConfigError(`no router node answered on ${values.nats} (prefix ${values.prefix})`);
  return { statuses, json: values.json!, positionals };
}

function print(json: boolean, value: unknown, table: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : table());
}

export async function clusterStatusCommand(args: string[]): Promise<number> {
  const { statuses, json } = await gather(args);
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

export async function clusterRingCommand(args: string[]): Promise<number> {
  const { statuses, json } = await gather(args);
  const ring = Ring.of(statuses.map((s) => s.node));
  const keys = Array.from({ length: SHARE_SAMPLE }, (_, i) => (i % 2 ? userKey(`u${i}`) : chatKey(`g:sample${i}`)));
  const shares = [...ownershipShares(ring, keys)].map(([node, share]) => ({ node, share: share.share }));
  print(json, shares, () => renderTable(["node", "share"], shares.map((s) => [s.node, `${(s.share * 100).toFixed(1)}%`])));
  return 0;
}

export async function clusterWhereCommand(args: string[]): Promise<number> {
  const { statuses, json, positionals } = await gather(args);
  const target = positionals[0];
  if (!target) throw new ConfigError("usage: router cluster where <user|chat>");
  const isChat = isGroupChat(target) || directChatMembers(target) !== undefined;
  const key = isChat ? chatKey(target) : userKey(target);
  const owner = Ring.of(statuses.map((s) => s.node)).ownerOf(key);
  const address = statuses.find((s) => s.node === owner)?.address;
  print(json, { key, owner, address }, () => renderTable(["key", "node", "address"], [[key, owner, address ?? ""]]));
  return 0;
}

export async function nodeDrainCommand(args: string[]): Promise<number> {
  const { values, positionals } = options(args);
  const node = positionals[0];
  if (!node) throw new ConfigError("usage: router node drain <node-id>");
  await withNats(values.nats!, (nats) => requestDrain(nats, values.prefix!, node));
  print(values.json!, { node, draining: true }, () => `${node}: draining\n`);
  return 0;
}
