import type { ConnectionRef } from "../seams.ts";
import type { CallIncomingOfferFrame, CallJoinedFrame, CallLeftFrame, CallRequestFrame } from "../protocol/frames.ts";

/** One device taking part in a call: its user, device id and live connection. */
export interface Party {
  user: string;
  device: string;
  conn: ConnectionRef;
}

export interface RungDevice {
  device: string;
  conn: ConnectionRef;
}

// ---- to a CallActor ----------------------------------------------------------

/** `call.offer` without `call`: a new call; the gateway made its id. */
export interface CallStart {
  type: "start";
  caller: Party;
  r: number;
  to?: string;
  group?: string;
  video: boolean;
  /** Absent for a group call (each joiner offers to every participant). */
  sdp?: string;
}

/** Any other `call.*` frame of a device, for the call it names. */
export interface CallSignal {
  type: "signal";
  from: Party;
  frame: Exclude<CallRequestFrame, { t: "call.turn" }>;
}

/** A callee's UserActor rang these devices (none: nobody is connected; the offer is held). */
export interface CallRung {
  type: "rung";
  user: string;
  devices: RungDevice[];
  /** True for the first answer to a ring; later ones are devices that connected meanwhile. */
  first: boolean;
}

/** The callee's UserActor refused to ring: in another call, or the caller is blocked. */
export interface CallBusy {
  type: "busy";
  user: string;
}

/** A participating device's connection closed. */
export interface CallDisconnected {
  type: "disconnected";
  conn: ConnectionRef;
}

/** Sent by the actor to itself when the ring timeout passes. */
export interface CallRingTimeout {
  type: "timeout";
}

export type CallMessage = CallStart | CallSignal | CallRung | CallBusy | CallDisconnected | CallRingTimeout;

// ---- to a UserActor ----------------------------------------------------------

/**
 * Ring every device of the user with `offer`; with none connected, hold it until `expiresAt`
 * for a device that connects, and say so (the CallActor sends the push).
 */
export interface CallRing {
  type: "call.ring";
  call: string;
  caller: string;
  offer: CallIncomingOfferFrame;
  expiresAt: number;
}

/** The user joined `call` (started it, or answered on one device): other calls find them busy. */
export interface CallJoinedNotice {
  type: "call.joined";
  call: string;
}

/** `call` is over (or no longer rings this user): stop holding its offer, the user is free. */
export interface CallOverNotice {
  type: "call.over";
  call: string;
}

/** A group call's join / leave event for every live device of a group member. */
export interface CallEventNotice {
  type: "call.event";
  frame: CallJoinedFrame | CallLeftFrame;
}

export type UserCallMessage = CallRing | CallJoinedNotice | CallOverNotice | CallEventNotice;
