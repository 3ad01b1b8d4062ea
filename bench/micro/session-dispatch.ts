/**
 * The inbound hot path alone, without sockets or actors: how long validating a `send` or an
 * `ack` takes, and validating plus dispatching it through SessionProtocol to an actor (a
 * no-op tell here). A before/after check for changes to validate.ts and the session's dispatch;
 * not a test, and no target: numbers on a shared 2-core machine only compare runs made
 * side by side.
 *
 *   node --import tsx bench/micro/session-dispatch.ts [FRAMES=1000000] [ROUNDS=5]
 *
 * Prints one JSON line: per frame type, CPU ns per frame for `validateFrame`, for validate +
 * dispatch, and for the whole of `onBytes` (decode too), each the best of ROUNDS rounds (the
 * least disturbed by other processes).
 */
import { decodeValue, encodeValue } from "../../src/protocol/codec.ts";
import { validateFrame } from "../../src/protocol/validate.ts";
import { SessionProtocol, type SessionDeps } from "../../src/transport/session-protocol.ts";
import type { ClientConnection } from "../../src/transport/connection.ts";
import { createLogger } from "../../src/util/logger.ts";

const frames = Number(process.argv[2] ?? 1_000_000);
const rounds = Number(process.argv[3] ?? 5);

/**
 * A `send` and an `ack` (the two most frequent frames) as a client's bytes, and as msgpackr
 * decodes them: decoded strings are not the interned constants a literal would hold, so `t`
 * is looked up as it is in production.
 */
const FRAMES = {
  send: { t: "send", r: 7, cid: "c-0001", to: "bob", body: new Uint8Array(64) },
  ack: { t: "ack", chat: "d:alice:bob", seq: 42 },
};

let told = 0;
const deps = {
  secret: "bench",
  registry: {},
  users: { tell: () => void told++ },
  conversations: { tell: () => void told++, tellIfActive: () => false },
  presence: { watch: async () => undefined },
  log: createLogger("silent", "bench"),
  events: { frameIn: () => undefined, rejected: () => undefined },
} as unknown as SessionDeps;

// Only what the session reads of a ready connection; awaitAnswer is a no-op (no request timeout).
const connection = {
  phase: "ready",
  user: "alice",
  device: "phone",
  open: true,
  ref: { node: "n1", id: 1 },
  earlyFrames: [],
  takeFrame: () => true,
  awaitAnswer: () => undefined,
  send: () => undefined,
  close: () => undefined,
} as unknown as ClientConnection;

const session = new SessionProtocol(deps);
// onValue is the step after decoding: validate, then dispatch.
const onValue = (session as unknown as { onValue(c: ClientConnection, v: unknown): void }).onValue.bind(session);

/** CPU time (user and system), not wall time: on a shared machine, time spent descheduled is not ours. */
function nsPerFrame(run: () => void): number {
  const before = process.cpuUsage();
  for (let i = 0; i < frames; i++) run();
  const used = process.cpuUsage(before);
  return ((used.user + used.system) * 1000) / frames;
}

const results: Record<string, { validateNs: number; validateAndDispatchNs: number; decodeValidateAndDispatchNs: number }> = {};
for (const [name, frame] of Object.entries(FRAMES)) {
  const bytes = encodeValue(frame);
  const value = decodeValue(bytes);
  const best = { validateNs: Infinity, validateAndDispatchNs: Infinity, decodeValidateAndDispatchNs: Infinity };
  for (let round = 0; round < rounds; round++) {
    best.validateNs = Math.min(best.validateNs, nsPerFrame(() => void validateFrame(value)));
    best.validateAndDispatchNs = Math.min(best.validateAndDispatchNs, nsPerFrame(() => onValue(connection, value)));
    best.decodeValidateAndDispatchNs = Math.min(best.decodeValidateAndDispatchNs, nsPerFrame(() => session.onBytes(connection, bytes)));
  }
  results[name] = { validateNs: Math.round(best.validateNs), validateAndDispatchNs: Math.round(best.validateAndDispatchNs), decodeValidateAndDispatchNs: Math.round(best.decodeValidateAndDispatchNs) };
}
const expected = 2 * frames * rounds * Object.keys(FRAMES).length;
if (told !== expected) throw new Error(`dispatched ${told} of ${expected} frames`);
console.log(JSON.stringify({ frames, rounds, ...results }));
