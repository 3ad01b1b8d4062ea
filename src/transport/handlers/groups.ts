import { randomBytes } from "node:crypto";
import type { GroupRequestFrame } from "../../protocol/frames.ts";
import type { ClientConnection } from "../connection.ts";
import type { SessionContext, SomeFrameHandlers } from "../session-context.ts";

/** `g:` + 20 random base-32 characters: unguessable, so group ids need no reservation. */
function newGroupId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let id = "g:";
  for (const byte of randomBytes(20)) id += alphabet[byte & 31];
  return id;
}

/** The group's actor is the single writer of its membership: it checks who may do what. */
function tellGroup(session: SessionContext, connection: ClientConnection, chat: string, command: GroupRequestFrame): void {
  session.deps.conversations.tell(chat, { type: "group", user: connection.user, command, replyTo: { conn: connection.ref, r: command.r } });
}

function toGroup(session: SessionContext, connection: ClientConnection, frame: Exclude<GroupRequestFrame, { t: "group.create" }>): void {
  tellGroup(session, connection, frame.chat, frame);
}

/** Creating a group and changing its membership; users named must still exist. */
export const GROUP_HANDLERS = {
  "group.create": (session, connection, frame) => {
    if (session.mayName(connection, frame.members, frame.r)) tellGroup(session, connection, newGroupId(), frame);
  },
  "group.add": (session, connection, frame) => {
    if (session.mayName(connection, frame.users, frame.r)) toGroup(session, connection, frame);
  },
  "group.remove": toGroup,
  "group.leave": toGroup,
  "group.info": toGroup,
  "group.admin": toGroup,
  "group.join": toGroup,
} satisfies SomeFrameHandlers;
