import type { ContactListRequestFrame } from "../../protocol/frames.ts";
import type { ClientConnection } from "../connection.ts";
import type { SessionContext, SomeFrameHandlers } from "../session-context.ts";

/** The user's actor owns both lists: it saves them and tells the chats and presence. */
function lists(session: SessionContext, connection: ClientConnection, frame: ContactListRequestFrame): void {
  session.deps.users.tell(connection.user, { type: "contacts", request: frame, replyTo: { conn: connection.ref, r: frame.r } });
}

/** Contact discovery (served here, by the gateway node), and the contact and block lists. */
export const CONTACTS_HANDLERS = {
  "contacts.sync": (session, connection, frame) => {
    const discovery = session.deps.discovery;
    if (!discovery) session.reject(connection, "unavailable", "this node has no contact discovery", frame.r);
    else session.answer(connection, frame, discovery.sync(connection.user, frame));
  },
  "contacts.add": lists,
  "contacts.remove": lists,
  "contacts.list": lists,
  block: lists,
  unblock: lists,
  blocks: lists,
} satisfies SomeFrameHandlers;
