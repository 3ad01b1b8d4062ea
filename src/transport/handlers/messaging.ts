import { directChatId, directChatMembers, HISTORY_DEFAULT_LIMIT, isGroupChat, type MessageOperationFrame, type SendFrame } from "../../protocol/frames.ts";
import type { ClientConnection } from "../connection.ts";
import type { SessionContext, SomeFrameHandlers } from "../session-context.ts";

function send(session: SessionContext, connection: ClientConnection, frame: SendFrame): void {
  if (frame.to !== undefined && !session.mayName(connection, [frame.to], frame.r)) return;
  const chat = frame.group ?? directChatId(connection.user, frame.to!);
  session.deps.conversations.tell(chat, {
    type: "send",
    from: connection.user,
    device: connection.device,
    cid: frame.cid,
    body: frame.body,
    kind: frame.kind ?? "text",
    reply: frame.reply,
    media: frame.media,
    replyTo: { conn: connection.ref, r: frame.r },
  });
}

function operation(session: SessionContext, connection: ClientConnection, frame: MessageOperationFrame): void {
  if (!session.mayBeMember(connection, frame.chat, frame.r)) return;
  session.deps.conversations.tell(frame.chat, {
    type: "operation",
    user: connection.user,
    device: connection.device,
    operation: frame,
    replyTo: { conn: connection.ref, r: frame.r },
  });
}

/** A chat's messages and what is done with them; each goes to the chat's actor or the user's. */
export const MESSAGING_HANDLERS = {
  send,
  edit: operation,
  delete: operation,
  react: operation,
  history: (session, connection, frame) => {
    if (!session.mayBeMember(connection, frame.chat, frame.r)) return;
    session.deps.conversations.tell(frame.chat, {
      type: "history",
      user: connection.user,
      before: frame.before,
      limit: frame.limit ?? HISTORY_DEFAULT_LIMIT,
      replyTo: { conn: connection.ref, r: frame.r },
    });
  },
  receipts: (session, connection, frame) => {
    if (!session.mayBeMember(connection, frame.chat, frame.r)) return;
    session.deps.conversations.tell(frame.chat, { type: "receipts", user: connection.user, seq: frame.seq, replyTo: { conn: connection.ref, r: frame.r } });
  },
  ack: (session, connection, frame) => {
    if (!session.mayBeMember(connection, frame.chat)) return;
    session.deps.users.tell(connection.user, { type: "ack", device: connection.device, conn: connection.ref, chat: frame.chat, seq: frame.seq });
  },
  read: (session, connection, frame) => {
    if (!session.mayBeMember(connection, frame.chat)) return;
    // Straight to the chat: the user's actor has nothing to add to a read, and the chat's
    // actor refuses a mark from anyone not a member.
    session.deps.conversations.tell(frame.chat, { type: "mark", user: connection.user, read: frame.seq });
  },
  typing: (session, connection, frame) => {
    // Typing goes nowhere for a non-member, and is not worth an answer either way. It is
    // ephemeral, so it never wakes a chat's actor (a made-up chat would otherwise hold one
    // for the idle timeout): a live actor relays it; otherwise the chat's behaviour does
    // what it can without one (see `missed` in conversation-actor.ts).
    if (isGroupChat(frame.chat) || directChatMembers(frame.chat)?.includes(connection.user)) {
      session.deps.conversations.tellIfActive(frame.chat, { type: "typing", user: connection.user, on: frame.on });
    }
  },
} satisfies SomeFrameHandlers;
