import type { StatusRequestFrame } from "../../protocol/frames.ts";
import type { ClientConnection } from "../connection.ts";
import type { SessionContext, SomeFrameHandlers } from "../session-context.ts";

/** The status service turns (and logs) its own failures into `err` frames; what it throws is a bug. */
function status(session: SessionContext, connection: ClientConnection, frame: StatusRequestFrame): void {
  const service = session.deps.status;
  if (!service) session.reject(connection, "unavailable", "this node has no status service", frame.r);
  else session.answer(connection, frame, service.handle(connection.user, frame));
}

/** Status updates; a node without the status service answers `unavailable`. */
export const STATUS_HANDLERS = {
  "status.post": status,
  "status.list": status,
  "status.view": status,
  "status.viewers": status,
  "status.delete": status,
} satisfies SomeFrameHandlers;
