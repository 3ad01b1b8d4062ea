/**
 * `account.delete`: what goes, in an order that a retry can repeat (every step is idempotent).
 *
 * 1. The phone mapping (its next sign-up makes a new user id) and refresh families; prekeys;
 *    push registrations; the profile; the user's contact and block lists.
 * 2. Each group is left through its ConversationActor as a normal `group.leave`, so the
 *    remaining members see the system message of leaving, in the group's one order.
 * 3. The tombstone: a revocation of every token of the user, issued at any time (`at` =
 *    FOREVER), in the revocation store every node polls. So every node closes the user's
 *    sockets with 4001 within a poll, and `hello` (and media HTTP, and anything else checking
 *    revocations) refuses any token of the user id from then on, also one minted later with
 *    `router token`. Cost: each node holds one entry per deleted user in memory.
 *
 * Messages already stored stay where they are: the recipients keep what was delivered.
 */
import type { ConversationMessage } from "../actors/messages.ts";
import type { ReplyTo, Tell } from "../seams.ts";
import { DELETED_FOREVER, type Revocation, type RevocationStore } from "../storage/revocations.ts";
import type { Stores } from "../storage/stores.ts";
import type { Logger } from "../util/logger.ts";

/** A revocation time after every token's issue time: the user id is void for good. */
const TOMBSTONE_ATTEMPTS = 5;

export interface AccountDeletionDeps {
  nodeId: string;
  stores: Pick<Stores, "accounts" | "keys" | "push" | "profiles" | "groups" | "contacts" | "blocks">;
  revocations: Pick<RevocationStore, "revoke">;
  /** This node's copy of the revocations (src/auth/revocations.ts). */
  local?: { noteLocal(revocation: Revocation): void };
  conversations: Tell<ConversationMessage>;
  log: Logger;
}

export class AccountDeletion {
  constructor(private readonly deps: AccountDeletionDeps) {}

  /**
   * Steps 1 and 2: everything but the tombstone. The caller answers the client after this and
   * before `tombstone`: once the tombstone is written, any node's revocation poll may close the
   * asking connection before an answer written after it could be sent.
   */
  async removeData(user: string): Promise<void> {
    const { stores } = this.deps;
    await stores.accounts?.forgetUser(user);
    await stores.keys?.deleteUser(user);
    if (stores.push) for (const { device } of await stores.push.registrations(user)) await stores.push.unregister(user, device);
    await stores.profiles?.deleteProfile(user);
    // The user's own contact and block lists. Written here, not by the user's actor (their
    // one writer), because the account is going: a contacts.add racing the deletion may leave
    // an entry under a dead id, which nothing reads. Entries of the id in others' lists stay
    // (there is no reverse index); a dead id matches no live user, since ids are never reused.
    for (const set of [stores.contacts, stores.blocks]) {
      const users = await set.list(user);
      if (users.length > 0) await set.remove(user, users);
    }
    const groups = await stores.groups.groupsOf(user);
    for (const chat of groups) {
      // Nobody waits for these answers: the devices are about to close.
      this.deps.conversations.tell(chat, { type: "group", user, command: { t: "group.leave", r: 0, chat }, replyTo: this.nowhere() });
    }
    this.deps.log.info({ user, groups: groups.length }, "account data deleted");
  }

  /** Step 3: the user id is void on every node (in force on this one at once). */
  async tombstone(user: string): Promise<void> {
    let attempt = 0;
    for (;;) {
      try {
        await this.deps.revocations.revoke(user, undefined, DELETED_FOREVER);
        break;
      } catch (error) {
        // The client was told its account is gone: try hard before giving up.
        attempt += 1;
        if (attempt >= TOMBSTONE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
    this.deps.local?.noteLocal({ user, at: DELETED_FOREVER });
    this.deps.log.info({ user }, "account tombstoned");
  }

  /** A reply address no connection has (ids start at 1): the registry drops what goes there. */
  private nowhere(): ReplyTo {
    return { conn: { node: this.deps.nodeId, id: 0 }, r: 0 };
  }
}
