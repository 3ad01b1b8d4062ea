/**
 * One load-generator process: holds its share of the simulated devices (each process stays
 * under the per-process open-file limit and uses its own 127.0.0.x source address, so the
 * kernel has a fresh range of ephemeral ports for each) and runs the parent's commands.
 */
import { LeanRelayClient } from "./clients/lean-relay-client.ts";
import { LeanRouterClient } from "./clients/lean-router-client.ts";
import { BenchRouterClient } from "./clients/router-client.ts";
import { NatsLoadClient } from "./clients/nats-client.ts";
import { RelayClient } from "./clients/relay-client.ts";
import type { LoadClient } from "./clients/types.ts";
import { XmppLoadClient } from "./clients/xmpp-client.ts";
import type { ClientSpec, Command, Counters, GroupCreateResult, OpenResult, Reply, Request, Target } from "./protocol.ts";
import { EventHub } from "./recorder.ts";
import { reconnectAll, sendToRecipients } from "./storm.ts";
import { runDirect, runGroupStep, runHot } from "./traffic.ts";

const localAddress = process.env.BENCH_LOCAL_ADDRESS ?? "127.0.0.1";
const hub = new EventHub();
const clients = new Map<string, LoadClient>();
let target: Target | undefined;
let dropped: ClientSpec[] = [];

function connectOne(spec: ClientSpec): Promise<LoadClient> {
  if (!target) throw new Error("no target: open first");
  switch (target.kind) {
    case "router": {
      const options = { url: spec.url ?? target.url, secret: target.secret ?? "", localAddress, events: hub, acks: target.acks };
      return target.lean ? LeanRouterClient.connect(spec, options) : BenchRouterClient.connect(spec, options);
    }
    case "relay":
      return target.lean ? LeanRelayClient.connect(spec, target.url, localAddress, hub) : RelayClient.connect(spec, target.url, localAddress, hub);
    case "nats":
      return NatsLoadClient.connect(spec, target.url, hub);
    case "xmpp": {
      const { hostname, port } = new URL(target.url);
      return XmppLoadClient.connect(spec, { host: hostname, port: Number(port), domain: "localhost" }, localAddress, hub);
    }
  }
}

async function open(specs: ClientSpec[], concurrency: number): Promise<OpenResult> {
  let next = 0;
  let opened = 0;
  let failed = 0;
  let firstError: string | undefined;
  const lane = async (): Promise<void> => {
    while (next < specs.length) {
      const spec = specs[next++]!;
      try {
        clients.set(spec.user, await connectOne(spec));
        opened += 1;
      } catch (error) {
        failed += 1;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  return { opened, failed, firstError };
}

async function createGroups(groups: Array<{ creator: string; name: string; members: string[] }>): Promise<GroupCreateResult> {
  const chats: string[] = [];
  for (const group of groups) {
    const creator = clients.get(group.creator) as BenchRouterClient | undefined;
    if (!creator) throw new Error(`creator ${group.creator} is not connected here`);
    const answer = (await creator.request({ t: "group.create", name: group.name, members: group.members })) as unknown as Record<string, unknown>;
    if (answer.t === "err") {
      if (answer.code === "unknown_type" || answer.code === "invalid_field") return { chats, unsupported: `${String(answer.code)}: ${String(answer.msg)}` };
      throw new Error(`group.create refused: ${String(answer.code)} ${String(answer.msg)}`);
    }
    if (typeof answer.chat !== "string") throw new Error(`group.create answered without a chat: ${JSON.stringify(answer)}`);
    chats.push(answer.chat);
  }
  return { chats };
}

async function handle(command: Command): Promise<unknown> {
  switch (command.type) {
    case "open":
      target = command.target;
      return open(command.clients, command.concurrency);
    case "direct":
      return runDirect(hub, [...clients.values()], { ...command, acks: target?.kind === "router" || target?.kind === "xmpp" });
    case "hot":
      return runHot(hub, [...clients.values()], command);
    case "drop": {
      dropped = [...clients.values()].map((client) => client.spec);
      for (const client of clients.values()) client.terminate();
      clients.clear();
      return dropped.length;
    }
    case "send-to":
      return sendToRecipients(hub, [...clients.values()], command);
    case "reconnect": {
      const { result, clients: back } = await reconnectAll(hub, dropped, connectOne, command);
      for (const client of back) clients.set(client.spec.user, client);
      return result;
    }
    case "group-create":
      return createGroups(command.groups);
    case "group-step":
      return runGroupStep(hub, clients, command);
    case "counters":
      return { pings: hub.pings, closes: hub.closes, open: clients.size } satisfies Counters;
    case "close":
      await Promise.all([...clients.values()].map((client) => client.close().catch(() => {})));
      clients.clear();
      setImmediate(() => process.exit(0));
      return null;
  }
}

process.on("message", (request: Request) => {
  handle(request).then(
    (result) => process.send!({ id: request.id, ok: true, result } satisfies Reply),
    (error: unknown) => process.send!({ id: request.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies Reply),
  );
});
// The parent going away (Ctrl-C, a crash) must not leave thousands of sockets open.
process.on("disconnect", () => process.exit(0));
