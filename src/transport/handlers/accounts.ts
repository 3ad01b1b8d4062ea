import { BadCursorError } from "../../accounts/chat-list.ts";
import { CLOSE_CODES, type AccountDeleteFrame, type ChatsRequestFrame, type PrivacyRequestFrame, type ProfileRequestFrame } from "../../protocol/frames.ts";
import type { PrivacySettings } from "../../storage/privacy.ts";
import type { ClientConnection } from "../connection.ts";
import type { SessionContext, SomeFrameHandlers } from "../session-context.ts";

/** The user's actor owns their settings: it saves them and tells presence. */
function privacy(session: SessionContext, connection: ClientConnection, frame: PrivacyRequestFrame): void {
  const changes: Partial<PrivacySettings> = {};
  if (frame.t === "privacy.set") {
    if (frame.last_seen) changes.lastSeen = frame.last_seen;
    if (frame.online) changes.online = frame.online;
    if (frame.groups) changes.groups = frame.groups;
    if (frame.profile) changes.profile = frame.profile;
  }
  session.deps.users.tell(connection.user, { type: "privacy", changes, replyTo: { conn: connection.ref, r: frame.r } });
}

function profile(session: SessionContext, connection: ClientConnection, frame: ProfileRequestFrame): void {
  const profiles = session.deps.profiles;
  if (!profiles) {
    session.reject(connection, "unavailable", "this node keeps no profiles", frame.r);
    return;
  }
  session.answer(connection, frame, profiles.handle(connection.user, frame), true);
}

function deleteAccount(session: SessionContext, connection: ClientConnection, frame: AccountDeleteFrame): void {
  const deletion = session.deps.deletion;
  if (!deletion) {
    session.reject(connection, "unavailable", "this node cannot delete accounts", frame.r);
    return;
  }
  const user = connection.user;
  deletion.removeData(user).then(
    async () => {
      connection.send({ t: "account.deleted", r: frame.r });
      try {
        await deletion.tombstone(user);
      } catch (error) {
        // Rare (retried already): the data is gone, but tokens of the id stay good until they expire.
        session.deps.log.error({ err: error, user }, "account tombstone write failed");
      }
      // Every node closes the user's sockets once it polls the tombstone; this node's at once.
      for (const own of session.deps.registry.ofUser(user)) own.close(CLOSE_CODES.unauthorized, "account deleted");
    },
    // Each step is idempotent: a retry finishes what this one left.
    (error: unknown) => session.failed(connection, frame, error, true),
  );
}

/** Always the connection's own user: no field names another. */
function chats(session: SessionContext, connection: ClientConnection, frame: ChatsRequestFrame): void {
  const list = session.deps.chats;
  if (!list) {
    session.reject(connection, "unavailable", "this node has no chat list", frame.r);
    return;
  }
  list.list(connection.user, frame.r, frame.after, frame.limit).then(
    (answer) => connection.send(answer),
    (error: unknown) => {
      if (error instanceof BadCursorError) session.reject(connection, "invalid_field", error.message, frame.r);
      else session.failed(connection, frame, error, true);
    },
  );
}

/** What a user keeps about themselves: privacy settings, profile, chat list, the account itself. */
export const ACCOUNT_HANDLERS = {
  "privacy.set": privacy,
  "privacy.get": privacy,
  "profile.set": profile,
  "profile.get": profile,
  "account.delete": deleteAccount,
  chats,
} satisfies SomeFrameHandlers;
