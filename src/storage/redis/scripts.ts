import type { Redis, Result } from "ioredis";

/**
 * The Lua scripts, one per operation that must read and write atomically. Registered with
 * ioredis' defineCommand, which sends EVALSHA and falls back to EVAL when a restarted server
 * has forgotten the script, in pipelines too. Keys are hash-tagged by their callers so a
 * script's keys share a slot should Redis ever be clustered.
 */

// KEYS[1] last-seen key. ARGV: ts (ms), ttl (ms). Keeps the larger value: a replay after an
// outage or a late write never moves last seen back.
const MAX_SET = `
local current = tonumber(redis.call('GET', KEYS[1]))
local ts = tonumber(ARGV[1])
if current == nil or current < ts then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0
`;

// KEYS[1] key. ARGV[1] expected value. Deletes only a value that is still ours.
const DELETE_IF = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

// KEYS[1] lease (hash: node, token), KEYS[2] the chat's last fencing token (never expires).
// ARGV: node, ttl (ms). Returns {1, token} when `node` holds the lease now, {0, holder, pttl}
// when another node does. A new holder's token is max(last + 1, server time in µs): it grows
// with every holder, and still does after Redis lost its data (a restart without persistence
// or a failover to a lagging replica), since server time has moved on.
const ACQUIRE_LEASE = `
local holder = redis.call('HMGET', KEYS[1], 'node', 'token')
if holder[1] == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, holder[2]}
end
if holder[1] then
  return {0, holder[1], redis.call('PTTL', KEYS[1])}
end
local now = redis.call('TIME')
local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
local last = tonumber(redis.call('GET', KEYS[2])) or 0
local token = string.format('%.0f', math.max(last + 1, micros))
redis.call('SET', KEYS[2], token)
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, token}
`;

// KEYS[1] lease. ARGV: node, token, ttl (ms). 1 if still held with that token and renewed.
const RENEW_LEASE = `
local holder = redis.call('HMGET', KEYS[1], 'node', 'token')
if holder[1] == ARGV[1] and holder[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

// KEYS[1] lease. ARGV: node, token. Deletes only the lease given.
const RELEASE_LEASE = `
local holder = redis.call('HMGET', KEYS[1], 'node', 'token')
if holder[1] == ARGV[1] and holder[2] == ARGV[2] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

declare module "ioredis" {
  interface RedisCommander<Context> {
    routerMaxSet(key: string, ts: number, ttlMs: number): Result<number, Context>;
    routerDeleteIf(key: string, expected: string): Result<number, Context>;
    routerAcquireLease(lease: string, fence: string, node: string, ttlMs: number): Result<Array<string | number>, Context>;
    routerRenewLease(lease: string, node: string, token: string, ttlMs: number): Result<number, Context>;
    routerReleaseLease(lease: string, node: string, token: string): Result<number, Context>;
  }
}

export function defineScripts(client: Redis): void {
  client.defineCommand("routerMaxSet", { numberOfKeys: 1, lua: MAX_SET });
  client.defineCommand("routerDeleteIf", { numberOfKeys: 1, lua: DELETE_IF });
  client.defineCommand("routerAcquireLease", { numberOfKeys: 2, lua: ACQUIRE_LEASE });
  client.defineCommand("routerRenewLease", { numberOfKeys: 1, lua: RENEW_LEASE });
  client.defineCommand("routerReleaseLease", { numberOfKeys: 1, lua: RELEASE_LEASE });
}
