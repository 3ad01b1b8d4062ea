import type { Revocation, RevocationStore } from "../revocations.ts";
import type { RedisConnection } from "./connection.ts";
import type { RedisKeys } from "./keys.ts";

// KEYS[1] revocations (hash: "user" or "user\ndevice" -> ms), KEYS[2] version counter.
// ARGV: field, at. Keeps the later time, and always bumps the version so pollers reload.
const REVOKE = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]))
if current == nil or current < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return redis.call('INCR', KEYS[2])
`;

/** Ids never hold a newline, so it separates user and device in a hash field. */
const SEPARATOR = "\n";

/**
 * A cluster's revocations: one hash and a version counter, never expiring (a token without
 * `exp` stays revoked). Every node polls the counter and reloads the hash when it moved.
 * Redis must persist them (AOF or RDB): a Redis that loses its data forgets revocations.
 */
export class RedisRevocationStore implements RevocationStore {
  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: RedisKeys,
    private readonly onClose: () => Promise<void> = async () => {},
  ) {}

  async revoke(user: string, device: string | undefined, at: number): Promise<void> {
    const field = device === undefined ? user : `${user}${SEPARATOR}${device}`;
    await this.redis.run("revoke", (client) =>
      client.eval(REVOKE, 2, this.keys.revocations(), this.keys.revocationsVersion(), field, String(at)),
    );
  }

  async all(): Promise<Revocation[]> {
    const hash = await this.redis.run("revocations", (client) => client.hgetall(this.keys.revocations()));
    return Object.entries(hash).map(([field, at]) => {
      const [user, device] = field.split(SEPARATOR) as [string, string | undefined];
      return device === undefined ? { user, at: Number(at) } : { user, device, at: Number(at) };
    });
  }

  async version(): Promise<number> {
    return Number((await this.redis.run("revocationsVersion", (client) => client.get(this.keys.revocationsVersion()))) ?? 0);
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
