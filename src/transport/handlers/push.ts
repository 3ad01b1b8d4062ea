import type { PushRequestFrame } from "../../protocol/frames.ts";
import type { ClientConnection } from "../connection.ts";
import type { SessionContext, SomeFrameHandlers } from "../session-context.ts";

function push(session: SessionContext, connection: ClientConnection, frame: PushRequestFrame): void {
  const service = session.deps.push;
  if (!service) session.reject(connection, "unavailable", "this node has no push service", frame.r);
  else session.answer(connection, frame, service.handle(connection.user, connection.device, frame));
}

/** Push registrations and preferences; a node without the push service answers `unavailable`. */
export const PUSH_HANDLERS = {
  "push.register": push,
  "push.unregister": push,
  "push.mute": push,
  "push.dnd": push,
} satisfies SomeFrameHandlers;
