import type { Party, RungDevice } from "../calls/messages.ts";
import type { Timer } from "../util/clock.ts";

/** What a call's record in its chat says, as JSON in the body of a `kind: "call"` message. */
export interface CallRecord {
  call: string;
  video: boolean;
  caller: string;
  /** `answered`, or why it never was: `missed`, `declined`, `busy`. */
  outcome: "answered" | "missed" | "declined" | "busy";
  /** When the call started (ms since the epoch). */
  started: number;
  /** From answer to end, in ms, when answered. */
  duration?: number;
  /** Group calls: who took part. */
  participants?: string[];
}

/** One call's state, in memory only: a call is as short-lived as its participants' attention. */
export class CallState {
  phase: "new" | "ringing" | "active" | "ended" = "new";
  chat = "";
  group: string | undefined;
  /** Group calls: who may join (the group's members when it started). */
  members: readonly string[] = [];
  video = false;
  caller: Party | undefined;
  startedAt = 0;
  answeredAt: number | undefined;
  /** The device each joined user takes part from, the caller first. */
  readonly participants = new Map<string, Party>();
  /** Everyone who took part at some point (for the record). */
  readonly everJoined = new Set<string>();
  /** Users rung and not yet joined, declined or timed out; with the devices ringing. */
  readonly ringing = new Map<string, RungDevice[]>();
  earlyCandidates: string[] = [];
  timer: Timer | undefined;
}
