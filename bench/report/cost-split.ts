import type { ProfiledRun } from "../scenarios/profile-run.ts";

/**
 * The main thread's self time per message, by kind of work, so a router profile and a
 * ceiling profile at the same rate can be read side by side: what both pay (socket writes,
 * LMDB, MessagePack) is the design's own cost; the rest of the router's is ours.
 */
export const COST_KINDS = [
  "socket writes (connection flush, uWS)",
  "LMDB writes and reads (lmdb, ordered-binary)",
  "MessagePack (msgpackr, codec)",
  "garbage collection",
  "actors: nact dispatch",
  "actors: the router's handlers (src/actors, push, observability)",
  "transport and protocol (session, validation, registry)",
  "storage glue (src/storage: committer, coalescing)",
  "native, no JS frame (uWS receive, syscalls)",
  "event loop and other",
] as const;

export type CostKind = (typeof COST_KINDS)[number];

function kindOf(area: string): CostKind {
  if (area === "src/transport/connection.ts" || area === "ceiling/outbox.ts") return "socket writes (connection flush, uWS)";
  if (area === "lmdb" || area === "ordered-binary") return "LMDB writes and reads (lmdb, ordered-binary)";
  if (area === "msgpackr" || area === "src/protocol/codec.ts") return "MessagePack (msgpackr, codec)";
  if (area === "GC") return "garbage collection";
  if (area === "nact" || area === "denque") return "actors: nact dispatch";
  if (/^src\/(actors|push|observability|calls)\//.test(area) || area === "prom-client" || area.startsWith("ceiling/ceiling-router") || area.startsWith("ceiling/chats")) {
    return "actors: the router's handlers (src/actors, push, observability)";
  }
  if (/^src\/(transport|protocol|auth)\//.test(area) || area.startsWith("ceiling/server")) return "transport and protocol (session, validation, registry)";
  if (area.startsWith("src/storage/") || area.startsWith("ceiling/store") || area.startsWith("ceiling/turn")) return "storage glue (src/storage: committer, coalescing)";
  if (area.startsWith("native")) return "native, no JS frame (uWS receive, syscalls)";
  return "event loop and other";
}

/** Microseconds of main-thread self time per delivered message, by kind. */
export function costPerMessage(run: ProfiledRun): Map<CostKind, number> {
  const messages = Math.max(1, run.step.deliveredPerSec * run.seconds);
  const split = new Map<CostKind, number>(COST_KINDS.map((kind) => [kind, 0]));
  for (const area of run.profile.areas) {
    const kind = kindOf(area.area);
    split.set(kind, split.get(kind)! + (area.selfMs * 1000) / messages);
  }
  return split;
}
