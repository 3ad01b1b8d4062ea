import type { ClientLink, ConnectionRef } from "../actors/messages.ts";
import type { CallRequestFrame } from "../protocol/frames.ts";
import type { Logger } from "../util/logger.ts";
import { turnCredentials, type TurnSettings } from "./turn.ts";

export interface CallServiceDeps {
  link: ClientLink;
  /** Absent when no TURN secret is configured. */
  turn?: TurnSettings;
  log: Logger;
}

/**
 * The gateway side of calls, one per node: takes each validated `call.*` frame of a local
 * connection and answers it or hands it to the call's actor.
 */
export class CallService {
  constructor(private readonly deps: CallServiceDeps) {}

  handle(conn: ConnectionRef, user: string, _device: string, frame: CallRequestFrame): void {
    switch (frame.t) {
      case "call.turn":
        if (!this.deps.turn) {
          this.deps.link.send(conn, { t: "err", r: frame.r, code: "unavailable", msg: "this router has no TURN server configured" });
          return;
        }
        this.deps.link.send(conn, turnCredentials(this.deps.turn, user, frame.r));
        return;
      default:
        this.deps.link.send(conn, { t: "err", r: "r" in frame ? frame.r : undefined, code: "unavailable", msg: "calls are not available yet" });
    }
  }
}
