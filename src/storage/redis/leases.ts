import type { WriterLease, WriterLeases } from "../types.ts";
import type { RedisConnection } from "./connection.ts";
import type { RedisKeys } from "./keys.ts";

/**
 * Per-chat writer leases on Redis: a hash with the holder and its fencing token, expiring
 * unless renewed. Each operation is one Lua script, so check-and-set is atomic. A new holder's
 * token is larger than every earlier holder's (see scripts.ts), which is what lets a store
 * refuse a write from a node that lost its lease while paused. Unreachable Redis rejects with
 * StorageUnavailableError: whoever asks decides whether to stop writing or carry on alone.
 */
export class RedisWriterLeases implements WriterLeases {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
  ) {}

  async acquire(chat: string, node: string, ttlMs: number): Promise<WriterLease | undefined> {
    const reply = await this.redis.run("acquireLease", (client) =>
      client.routerAcquireLease(this.keys.lease(chat), this.keys.fence(chat), node, ttlMs),
    );
    if (reply[0] !== 1) return undefined;
    const token = Number(reply[1]);
    if (!Number.isSafeInteger(token)) throw new Error(`redis lease for ${chat} has a malformed token ${String(reply[1])}`);
    return { chat, node, token };
  }

  async renew(lease: WriterLease, ttlMs: number): Promise<boolean> {
    const renewed = await this.redis.run("renewLease", (client) =>
      client.routerRenewLease(this.keys.lease(lease.chat), lease.node, String(lease.token), ttlMs),
    );
    return renewed === 1;
  }

  async release(lease: WriterLease): Promise<void> {
    await this.redis.run("releaseLease", (client) =>
      client.routerReleaseLease(this.keys.lease(lease.chat), lease.node, String(lease.token)),
    );
  }
}
