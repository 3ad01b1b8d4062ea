import type { CallRequestFrame } from "../../protocol/frames.ts";
import type { ClientConnection } from "../connection.ts";
import type { SessionContext, SomeFrameHandlers } from "../session-context.ts";

/** The call service answers (and fails) on its own, through the call's actor. */
function call(session: SessionContext, connection: ClientConnection, frame: CallRequestFrame): void {
  const calls = session.deps.calls;
  if (!calls) session.reject(connection, "unavailable", "this node has no call service", "r" in frame ? frame.r : undefined);
  else calls.handle(connection.ref, connection.user, connection.device, frame);
}

/** Call signalling; a node without the call service answers `unavailable`. */
export const CALL_HANDLERS = {
  "call.offer": call,
  "call.answer": call,
  "call.ice": call,
  "call.ringing": call,
  "call.reject": call,
  "call.end": call,
  "call.join": call,
  "call.turn": call,
} satisfies SomeFrameHandlers;
