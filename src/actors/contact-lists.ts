import { directChatId } from "../protocol/frames.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { Stores } from "../storage/stores.ts";
import type { Logger } from "../util/logger.ts";
import { replyError, type ContactsRequest, type ConversationMessage } from "./messages.ts";
import type { ClientLink } from "../seams.ts";

export interface ContactListLimits {
  maxContacts: number;
  maxBlocks: number;
}

export interface ContactListDeps {
  stores: Pick<Stores, "contacts" | "blocks">;
  link: ClientLink;
  conversations: { tellIfActive(chat: string, message: ConversationMessage): boolean };
  limits: ContactListLimits;
  log: Logger;
}

/** What of a user's lists their actor keeps in its state. */
export interface ContactListState {
  /** Whom the user blocked, once read (the actor is the only writer). */
  blocks: Set<string> | undefined;
}

/** The user's block list, read once per actor life and kept current by the writes below. */
export async function blocksOf(deps: ContactListDeps, state: ContactListState, user: string): Promise<Set<string>> {
  state.blocks ??= new Set(await deps.stores.blocks.list(user));
  return state.blocks;
}

/**
 * contacts.add / remove / list and block / unblock / blocks for the user's actor, which is
 * the only writer of both lists. Resolves true when either list changed (presence watchers'
 * relations to the user may then have changed).
 */
export async function handleContactsRequest(deps: ContactListDeps, state: ContactListState, user: string, message: ContactsRequest): Promise<boolean> {
  const { request, replyTo } = message;
  const { link, stores, limits } = deps;
  try {
    switch (request.t) {
      case "contacts.list": {
        const users = await stores.contacts.list(user);
        link.send(replyTo.conn, { t: "contacts", r: replyTo.r, count: users.length, users });
        return false;
      }
      case "blocks": {
        const users = [...(await blocksOf(deps, state, user))].sort();
        link.send(replyTo.conn, { t: "blocks", r: replyTo.r, count: users.length, users });
        return false;
      }
      case "contacts.add": {
        const users = request.users.filter((other) => other !== user);
        const { added, size } = await stores.contacts.add(user, users, limits.maxContacts);
        if (!added) {
          replyError(link, replyTo, "limit_exceeded", `a contact list holds at most ${limits.maxContacts} users; it holds ${size}`);
          return false;
        }
        link.send(replyTo.conn, { t: "contacts", r: replyTo.r, count: size });
        return true;
      }
      case "contacts.remove": {
        const count = await stores.contacts.remove(user, request.users);
        link.send(replyTo.conn, { t: "contacts", r: replyTo.r, count });
        return true;
      }
      case "block":
      case "unblock": {
        const other = request.user;
        if (other === user) {
          replyError(link, replyTo, "invalid_field", "a user cannot block themselves");
          return false;
        }
        const blocks = await blocksOf(deps, state, user);
        const on = request.t === "block";
        if (on && !blocks.has(other)) {
          const { added, size } = await stores.blocks.add(user, [other], limits.maxBlocks);
          if (!added) {
            replyError(link, replyTo, "limit_exceeded", `a block list holds at most ${limits.maxBlocks} users; it holds ${size}`);
            return false;
          }
          blocks.add(other);
        } else if (!on && blocks.has(other)) {
          await stores.blocks.remove(user, [other]);
          blocks.delete(other);
        } else {
          link.send(replyTo.conn, { t: "blocks", r: replyTo.r, count: blocks.size });
          return false;
        }
        // Stored before the chat hears of it: a chat actor that starts meanwhile reads the
        // store, one already running gets this notice (wherever the ring placed it). The chat's
        // side answers, once the block holds there (BlockNotice).
        deps.conversations.tellIfActive(directChatId(user, other), { type: "block", by: user, user: other, on, replyTo, count: blocks.size });
        return true;
      }
    }
  } catch (error) {
    // Not a crash: restarting the actor would close every device of the user for one list.
    const unavailable = error instanceof StorageUnavailableError;
    deps.log[unavailable ? "warn" : "error"]({ err: error, user, request: request.t }, "contact list request failed");
    // A failed block write may have landed: the cached list is read again next time.
    state.blocks = undefined;
    replyError(link, replyTo, unavailable ? "unavailable" : "internal", `${request.t} failed; retry`);
    return false;
  }
}
