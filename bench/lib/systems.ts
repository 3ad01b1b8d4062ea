import { readdirSync, readFileSync } from "node:fs";
import { startNatsServer } from "../../test/support/nats.ts";
import { join } from "node:path";
import { CeilingProcess } from "../baselines/ceiling/ceiling-process.ts";
import { EjabberdProcess } from "../baselines/ejabberd/ejabberd-process.ts";
import { ScriptProcess } from "../baselines/script-process.ts";
import type { Target } from "../load/protocol.ts";
import { readCpuMs, readIo, readMemory } from "./proc.ts";
import { RouterProcess, type RouterProcessOptions } from "./router-process.ts";

/** Whatever the load is pointed at: the router or a baseline, measured the same way. */
export interface SystemUnderTest {
  name: string;
  target: Target;
  cpuMs(): number;
  rssKb(): number;
  /** Bytes written to disk so far (durability's cost). */
  diskWriteBytes(): number;
  stop(): Promise<void>;
}

export interface RouterSystem extends SystemUnderTest {
  router: RouterProcess;
}

export async function startRouterSystem(options: RouterProcessOptions = {}, name = "router"): Promise<RouterSystem> {
  const router = await RouterProcess.start(options);
  return {
    name,
    router,
    target: { kind: "router", url: router.url, secret: router.secret },
    cpuMs: () => router.cpuMs(),
    rssKb: () => router.memory().rssKb,
    diskWriteBytes: () => readIo(router.pid).writeBytes,
    stop: async () => {
      await router.stop();
      router.removeData();
    },
  };
}

export async function startRelaySystem(): Promise<SystemUnderTest> {
  const relay = await ScriptProcess.start(join(import.meta.dirname, "../baselines/plain-relay.ts"));
  return {
    name: "plain relay (ws + JSON)",
    target: { kind: "relay", url: `ws://127.0.0.1:${relay.port}/` },
    cpuMs: () => relay.cpuMs(),
    rssKb: () => relay.rssKb(),
    diskWriteBytes: () => readIo(relay.pid).writeBytes,
    stop: () => relay.stop(),
  };
}

/** The minimal durable router (bench/baselines/ceiling/): the same protocol and durable work, no actors. */
export async function startCeilingSystem(nodeFlags: readonly string[] = []): Promise<SystemUnderTest & { pid: number }> {
  const ceiling = await CeilingProcess.start(nodeFlags);
  const { server } = ceiling;
  return {
    name: "ceiling prototype (uWS + msgpackr + LMDB)",
    pid: server.pid,
    target: { kind: "router", url: ceiling.url, secret: ceiling.secret },
    cpuMs: () => server.cpuMs(),
    rssKb: () => server.rssKb(),
    diskWriteBytes: () => readIo(server.pid).writeBytes,
    stop: () => ceiling.stop(),
  };
}

/**
 * The incumbent: ejabberd from Debian's package (installed by the bench when missing), its own
 * node on its own port, mnesia with the message archive on, driven over XMPP with stream
 * management. Its CPU and RSS are the Erlang VM's (beam.smp).
 */
export async function startEjabberdSystem(): Promise<SystemUnderTest> {
  const server = await EjabberdProcess.start();
  return {
    name: "ejabberd (mnesia + archive, stream acks)",
    target: { kind: "xmpp", url: server.url },
    cpuMs: () => server.cpuMs(),
    rssKb: () => server.rssKb(),
    diskWriteBytes: () => readIo(server.pid).writeBytes,
    stop: () => server.stop(),
  };
}

/** test/support/nats.ts starts the server; its pid is found by its port for CPU and RSS. */
export function pidListeningWith(binaryName: string, port: number): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args[0]?.endsWith(binaryName) && args.includes(String(port))) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

export async function startNatsSystem(): Promise<SystemUnderTest> {
  const server = await startNatsServer();
  const pid = pidListeningWith("nats-server", server.port);
  return {
    name: "NATS core pub/sub",
    target: { kind: "nats", url: server.url },
    cpuMs: () => (pid ? readCpuMs(pid) : 0),
    rssKb: () => (pid ? readMemory(pid).rssKb : 0),
    diskWriteBytes: () => (pid ? readIo(pid).writeBytes : 0),
    stop: () => server.stop(),
  };
}
