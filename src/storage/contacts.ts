/**
 * A user's contact list and block list, kept server-side because privacy settings and
 * blocking are enforced here: `contacts` audiences ask "is the watcher in the owner's
 * contacts?", and a direct chat asks "did one member block the other?".
 *
 * Both are the same shape, a bounded set of user ids per owner, so one interface serves
 * both (`Stores.contacts`, `Stores.blocks`). Each owner's set is written only by the owner's
 * UserActor (one writer per key, so the size bound needs no transaction); it is read
 * wherever an action is decided (the presence hub, a chat's ConversationActor).
 */
export interface UserSetStore {
  /**
   * Adds `users` to the owner's set unless it would then hold more than `max`, in which case
   * nothing is added. Resolves with whether they were added and the set's size after.
   */
  add(owner: string, users: readonly string[], max: number): Promise<{ added: boolean; size: number }>;
  /** Removes `users` (absent ones are ignored); resolves with the set's size after. */
  remove(owner: string, users: readonly string[]): Promise<number>;
  /** The owner's set, sorted. */
  list(owner: string): Promise<string[]>;
  has(owner: string, user: string): Promise<boolean>;
  /** Those of `owners` whose set holds `user` (whose contact `user` is; who blocked `user`). */
  holders(owners: readonly string[], user: string): Promise<Set<string>>;
}

export type ContactStore = UserSetStore;
export type BlockStore = UserSetStore;
