import { randomBytes } from "node:crypto";

// A call id names the node holding the call's state: `<20 random base-32 characters>@<node>`
// (CALL_ID_PATTERN, in src/protocol/validate-calls.ts with the frames that carry it).
// The ring picks that node when the call starts; the call then stays there until it ends, so
// a node joining the cluster never moves a live call (its state is in memory only), and a
// node leaving ends exactly the calls it held. The random part makes ids unguessable.

/** The random part of a new call's id; the ring places the call by it. */
export function randomCallPart(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let id = "";
  for (const byte of randomBytes(20)) id += alphabet[byte & 31];
  return id;
}

/** The ring key a call is placed by. */
export const callKey = (random: string) => `call:${random}`;

/** The node holding the call, from a well-formed id. */
export function callOwner(call: string): string {
  return call.slice(call.indexOf("@") + 1);
}
