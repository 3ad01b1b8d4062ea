import { DELETED_FOREVER, type Revocation, type RevocationStore } from "../storage/revocations.ts";
import type { Logger } from "../util/logger.ts";

const POLL_MS = 1000;

function keyOf(user: string, device?: string): string {
  return device === undefined ? user : `${user}\n${device}`;
}

/**
 * A node's copy of every token revocation, checked at `hello` and `refresh` without a round
 * trip, and kept current by polling the store's version every second.
 *
 * Why polling the store, on a node alone and in a cluster alike: `router token revoke` only
 * writes the store, so it needs no running node to reach and no NATS, and a node that was
 * down, restarting or cut off from NATS when the command ran still learns of it (a NATS
 * broadcast is at most once and would be lost then). The cost is one cheap read per node per
 * second (an LMDB read, a Redis GET) and up to a second before live connections close; a
 * token accepted in that second is closed with the rest. While the store is unreachable the
 * last copy keeps being used (a revocation cannot be written then either).
 */
export class Revocations {
  private byKey = new Map<string, number>();
  private version: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private failing = false;

  constructor(
    private readonly store: RevocationStore,
    private readonly log: Logger,
    /** Called for each revocation that is new or moved later since the last poll. */
    private readonly onRevoked: (revocation: Revocation) => void,
  ) {}

  /** Loads the revocations (a failure is logged; the node starts and keeps polling), then polls. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Whether a token of `user` on `device` (undefined: no device known), issued at `issuedAt` (ms), has been revoked. */
  isRevoked(user: string, device: string | undefined, issuedAt: number): boolean {
    const deviceAt = device === undefined ? -Infinity : (this.byKey.get(keyOf(user, device)) ?? -Infinity);
    const at = Math.max(this.byKey.get(keyOf(user)) ?? -Infinity, deviceAt);
    return issuedAt <= at;
  }

  /**
   * A revocation this node has just written (account deletion): in force here at once rather
   * than after the next poll reads it back. The poll then finds it already known.
   */
  noteLocal(revocation: Revocation): void {
    const key = keyOf(revocation.user, revocation.device);
    if ((this.byKey.get(key) ?? -Infinity) < revocation.at) this.byKey.set(key, revocation.at);
  }

  /** Whether `user`'s account was deleted (its tombstone): the id takes nothing any more. */
  isDeleted(user: string): boolean {
    return (this.byKey.get(keyOf(user)) ?? -Infinity) >= DELETED_FOREVER;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const version = await this.store.version();
      if (version === this.version) return;
      const all = await this.store.all();
      const next = new Map(all.map((revocation) => [keyOf(revocation.user, revocation.device), revocation.at]));
      const previous = this.byKey;
      this.byKey = next;
      this.version = version;
      for (const revocation of all) {
        if ((previous.get(keyOf(revocation.user, revocation.device)) ?? -Infinity) < revocation.at) this.onRevoked(revocation);
      }
      if (this.failing) this.log.info("revocations readable again");
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.log.warn({ err: error }, "revocations unreadable; using the last copy");
      this.failing = true;
    } finally {
      this.polling = false;
    }
  }
}
