import type { SomeFrameHandlers } from "../session-context.ts";

/** Publishing a device's prekeys and fetching a user's; a node without the prekey service answers `unavailable`. */
export const KEYS_HANDLERS = {
  "keys.put": (session, connection, frame) => {
    const keys = session.deps.keys;
    if (!keys) session.reject(connection, "unavailable", "this node has no prekey service", frame.r);
    else session.answer(connection, frame, keys.put(connection.user, connection.device, frame));
  },
  "keys.get": (session, connection, frame) => {
    const keys = session.deps.keys;
    if (!keys) session.reject(connection, "unavailable", "this node has no prekey service", frame.r);
    else session.answer(connection, frame, keys.get(connection.user, frame));
  },
} satisfies SomeFrameHandlers;
