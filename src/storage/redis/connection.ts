import { Redis } from "ioredis";
import type { Logger } from "../../util/logger.ts";
import { StorageUnavailableError } from "../errors.ts";
import { defineScripts } from "./scripts.ts";

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host[:port][/db]` or `rediss://` for TLS. */
  url: string;
  logger: Logger;
  /** A command not answered within this fails (and marks Redis unreachable); default 1000 ms. */
  commandTimeoutMs?: number;
  /** Default 2000 ms. */
  connectTimeoutMs?: number;
  /** How often an idle connection is probed with PING, so a hung server is noticed; default 1000 ms. */
  probeIntervalMs?: number;
}

export type RedisHealth = { up: true } | { up: false; since: number; reason: string };

/** A Redis URL that cannot work, told at start rather than retried forever. */
export class RedisConfigError extends Error {
  override readonly name = "RedisConfigError";
}

const RECONNECT_MAX_MS = 2_000;

/**
 * The node's one Redis connection and what it knows about Redis being reachable.
 *
 * Redis holds nothing the message path needs, so nothing may wait on it: commands are never
 * queued while disconnected (they fail at once), a command that hangs fails after
 * commandTimeoutMs, and the client reconnects on its own for as long as the node runs. Each
 * change between reachable and unreachable is logged once, with the reason, and listeners of
 * onReachable() run when it comes back (to rewrite what Redis lost).
 */
export class RedisConnection {
  readonly client: Redis;
  private health: RedisHealth = { up: false, since: Date.now(), reason: "not connected yet" };
  private lastError = "";
  private readonly reachableListeners: Array<() => void> = [];
  private readonly probe: NodeJS.Timeout;
  private probing = false;
  private closed = false;
  /** Whether the current time unreachable was logged; starts false, as nothing was said yet. */
  private announcedDown = false;
  private readonly log: Logger;

  constructor(options: RedisConnectionOptions) {
    this.log = options.logger;
    const url = parseRedisUrl(options.url);
    this.client = new Redis(url.href, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      connectTimeout: options.connectTimeoutMs ?? 2_000,
      retryStrategy: (attempt) => Math.min(100 * attempt, RECONNECT_MAX_MS),
      connectionName: "router",
    });
    defineScripts(this.client);
    this.client.on("ready", () => this.markUp());
    this.client.on("error", (error: Error) => {
      this.lastError = error.message;
    });
    this.client.on("close", () => this.markDown(this.lastError || "connection closed"));
    // A server that stops answering without closing the socket (paused, swapping, partitioned)
    // is only noticed by a command timing out: probe an otherwise idle connection.
    this.probe = setInterval(() => void this.runProbe(), options.probeIntervalMs ?? 1_000);
    this.probe.unref();
  }

  /** Connects once; an unreachable Redis leaves the node degraded (it keeps trying), not stopped. */
  async start(): Promise<void> {
    try {
      await this.client.connect();
    } catch (error) {
      this.markDown(error instanceof Error ? error.message : String(error));
    }
  }

  get up(): boolean {
    return this.health.up;
  }

  status(): RedisHealth {
    return this.health;
  }

  /** Runs after every return from unreachable to reachable. */
  onReachable(listener: () => void): void {
    this.reachableListeners.push(listener);
  }

  /**
   * Runs one round trip (a command, a pipeline or a transaction). Failures that say Redis is
   * unreachable mark it so and reject with StorageUnavailableError; a reply error (a bug or a
   * wrong key type) rejects unchanged and says nothing about reachability.
   */
  async run<T>(operation: string, call: (client: Redis) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageUnavailableError(`redis ${operation}: connection closed`);
    if (!this.health.up && this.client.status !== "ready") {
      throw new StorageUnavailableError(`redis ${operation}: unreachable (${this.health.reason})`);
    }
    try {
      const result = await call(this.client);
      this.markUp();
      return result;
    } catch (error) {
      if (isReplyError(error)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      this.markDown(reason);
      throw new StorageUnavailableError(`redis ${operation} failed: ${reason}`, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.probe);
    this.client.disconnect();
  }

  private async runProbe(): Promise<void> {
    if (this.probing || this.closed || this.client.status !== "ready") return;
    this.probing = true;
    try {
      await this.run("ping", (client) => client.ping());
    } catch {
      // run() recorded it.
    } finally {
      this.probing = false;
    }
  }

  private markUp(): void {
    if (this.health.up || this.closed) return;
    const wasDown = this.announcedDown;
    const downForMs = Date.now() - this.health.since;
    this.health = { up: true };
    this.announcedDown = false;
    if (wasDown) this.log.info({ downForMs }, "redis reachable again");
    else this.log.info("redis connected");
    for (const listener of this.reachableListeners) listener();
  }

  private markDown(reason: string): void {
    if (this.closed) return;
    if (this.health.up) this.health = { up: false, since: Date.now(), reason };
    else if (this.announcedDown) return; // the first reason of an outage, not each reconnect's
    else this.health = { up: false, since: this.health.since, reason };
    this.announcedDown = true;
    this.log.warn({ reason }, "redis unreachable: presence degraded, messaging unaffected");
  }
}

/** ioredis reply errors are answers from a reachable server. */
function isReplyError(error: unknown): boolean {
  return error instanceof Error && error.name === "ReplyError";
}

export function parseRedisUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new RedisConfigError(`redis URL ${JSON.stringify(raw)} is not a URL; expected redis://host:port`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new RedisConfigError(`redis URL ${JSON.stringify(raw)} must start with redis:// or rediss://`);
  }
  if (!url.hostname) throw new RedisConfigError(`redis URL ${JSON.stringify(raw)} names no host`);
  return url;
}
