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

declare module "ioredis" {
  interface RedisCommander<Context> {
    routerMaxSet(key: string, ts: number, ttlMs: number): Result<number, Context>;
    routerDeleteIf(key: string, expected: string): Result<number, Context>;
  }
}

export function defineScripts(client: Redis): void {
  client.defineCommand("routerMaxSet", { numberOfKeys: 1, lua: MAX_SET });
  client.defineCommand("routerDeleteIf", { numberOfKeys: 1, lua: DELETE_IF });
}
