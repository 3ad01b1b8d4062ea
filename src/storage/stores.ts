/**
 * The storage seams, gathered: what a message backend provides. Each store's interface lives in
 * its own file beside this one, shaped around the chat domain, not around a database: the
 * embedded LMDB store and the ScyllaDB/Redis stores implement the same contracts
 * (test/storage/contract.ts).
 *
 * Concurrency contract: every key has one writer at a time. A chat's messages and member
 * watermarks are written only by that chat's ConversationActor; a user's device cursors only
 * by that user's UserActor. So implementations may apply "advance to max" without compare-and-set.
 */
import type { AccountStore } from "./accounts.ts";
import type { CursorStore } from "./cursors.ts";
import type { GroupStore } from "./groups.ts";
import type { KeyStore } from "./keys.ts";
import type { MessageStore } from "./messages.ts";
import type { PresenceStore } from "./presence.ts";
import type { GroupInviteStore, PrivacyStore } from "./privacy.ts";
import type { ProfileStore } from "./profiles.ts";
import type { PushRegistrationStore } from "./push.ts";
import type { ReceiptStore } from "./receipts.ts";
import type { StatusStore } from "./status.ts";
import type { BlockStore, ContactStore } from "./contacts.ts";

export interface Stores {
  readonly backend: string;
  readonly messages: MessageStore;
  readonly cursors: CursorStore;
  readonly receipts: ReceiptStore;
  readonly groups: GroupStore;
  readonly presence: PresenceStore;
  /** Privacy settings (src/storage/privacy.ts), and the group invitations they produce. */
  readonly privacy: PrivacyStore;
  readonly invites: GroupInviteStore;
  /** Status updates (src/storage/status.ts). */
  readonly status: StatusStore;
  /** Each user's contact list and block list (src/storage/contacts.ts). */
  readonly contacts: ContactStore;
  readonly blocks: BlockStore;
  /** Absent on backends without a prekey service yet: `keys.*` requests are answered `unavailable`. */
  readonly keys?: KeyStore;
  /** Absent on backends without push storage yet: push is then off (`push.*` answered `unavailable`). */
  readonly push?: PushRegistrationStore;
  /** Absent on backends without profile storage: `profile.*` are answered `unavailable`. */
  readonly profiles?: ProfileStore;
  /** Absent on backends without account storage: sign-up and refresh are off (their routes answer 404). */
  readonly accounts?: AccountStore;
  close(): Promise<void>;
}
