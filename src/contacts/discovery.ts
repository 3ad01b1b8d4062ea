import type { AccountStore } from "../storage/accounts.ts";
import { normalisePhone } from "../accounts/phone.ts";
import type { ContactsSyncFrame, ServerFrame } from "../protocol/frames.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { RateLimits } from "../storage/rate-limits.ts";
import type { Logger } from "../util/logger.ts";

const DAY_MS = 24 * 3600_000;
/** Phone lookups in flight at once for one sync. */
const LOOKUP_CONCURRENCY = 32;

export interface DiscoveryDeps {
  /** Absent on a backend without account storage: sync is answered `unavailable`. */
  accounts?: Pick<AccountStore, "findUser">;
  /** The node's counters (Redis on a cluster), so a budget holds across nodes. */
  rateLimits: RateLimits;
  /** Phone numbers one user may look up per day (UTC day windows), across all their devices and every node. */
  dailyBudget: number;
  log: Logger;
}

/**
 * `contacts.sync`: which of an address book's numbers are users. Numbers travel as E.164,
 * not hashed: the space of phone numbers is about 10^10, so anyone holding a hash finds its
 * number in seconds, and the server learns the numbers either way. What protects the
 * directory is the budget: numbers looked up per user per day (counted by number, not by
 * request), at most 5,000 per request (src/protocol/validate-contacts.ts).
 */
export class ContactDiscovery {
  constructor(private readonly deps: DiscoveryDeps) {}

  async sync(user: string, frame: ContactsSyncFrame): Promise<ServerFrame> {
    const accounts = this.deps.accounts;
    if (!accounts) return { t: "err", r: frame.r, code: "unavailable", msg: "this node has no account storage" };
    // Each number as the client sent it, keyed by its normal form: "+44 20 ..." and
    // "0044 20..." are one lookup, and each answer names the form the client knows.
    const sent = new Map<string, string[]>();
    for (const phone of frame.phones) {
      const normal = normalisePhone(phone);
      if (normal === undefined) continue;
      const forms = sent.get(normal);
      if (forms) forms.push(phone);
      else sent.set(normal, [phone]);
    }
    const numbers = [...sent.keys()];
    const budget = this.deps.dailyBudget;
    let left = budget;
    if (numbers.length > 0) {
      let decision;
      try {
        decision = await this.deps.rateLimits.hit(`contacts.sync:${user}`, budget, DAY_MS, numbers.length);
      } catch (error) {
        // Fail closed: without the counter a scraper would have no budget at all.
        this.deps.log.warn({ err: error, user }, "contact lookup budget unavailable");
        return { t: "err", r: frame.r, code: "unavailable", msg: "contact discovery is unavailable; retry" };
      }
      if (!decision.allowed) {
        const hours = Math.ceil(decision.resetInMs / 3600_000);
        this.deps.log.info({ user, numbers: numbers.length }, "contact lookup budget exhausted");
        return { t: "err", r: frame.r, code: "quota_exceeded", msg: `at most ${budget} numbers may be looked up per day; the budget resets in ${hours} h` };
      }
      left = Math.max(0, budget - decision.count);
    }
    const users: Array<{ phone: string; user: string }> = [];
    for (let start = 0; start < numbers.length; start += LOOKUP_CONCURRENCY) {
      const slice = numbers.slice(start, start + LOOKUP_CONCURRENCY);
      let found: Array<string | undefined>;
      try {
        found = await Promise.all(slice.map((phone) => accounts.findUser(phone)));
      } catch (error) {
        if (!(error instanceof StorageUnavailableError)) throw error;
        this.deps.log.warn({ err: error, user }, "contact lookup failed");
        return { t: "err", r: frame.r, code: "unavailable", msg: "contact discovery is unavailable; retry" };
      }
      slice.forEach((normal, i) => {
        const id = found[i];
        if (id === undefined) return;
        for (const phone of sent.get(normal)!) users.push({ phone, user: id });
      });
    }
    return { t: "contacts.found", r: frame.r, users, left };
  }
}
