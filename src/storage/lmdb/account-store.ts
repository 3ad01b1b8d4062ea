import type { Database, RootDatabase } from "lmdb";
import type { AccountStore, CodeAttempt, PendingCode, RefreshIssue, RefreshRotation } from "../accounts.ts";
import { StorageUnavailableError } from "../errors.ts";

interface FamilyValue {
  user: string;
  device: string;
  current: string;
  expiresAt: number;
  revoked: boolean;
}

/**
 * Accounts in the node's LMDB environment. Every read-modify-write is one write transaction:
 * LMDB serialises them, so "first sign-up creates the user id", "count one try" and "use a
 * refresh token once" are atomic without further locking.
 */
export class LmdbAccountStore implements AccountStore {
  private readonly phones: Database<{ user: string; createdAt: number }, string>;
  private readonly userPhones: Database<string, string>;
  private readonly codes: Database<PendingCode, string>;
  private readonly families: Database<FamilyValue, string>;
  private readonly deviceFamilies: Database<string, [string, string]>;

  constructor(private readonly root: RootDatabase) {
    this.phones = root.openDB({ name: "account-phones" });
    this.userPhones = root.openDB({ name: "account-user-phones" });
    this.codes = root.openDB({ name: "account-codes" });
    this.families = root.openDB({ name: "account-refresh-families" });
    this.deviceFamilies = root.openDB({ name: "account-device-families" });
  }

  private async transaction<T>(operation: string, action: () => T): Promise<T> {
    try {
      return await this.root.transaction(action);
    } catch (error) {
      throw new StorageUnavailableError(`lmdb ${operation} failed`, { cause: error });
    }
  }

  userForPhone(phone: string, candidate: string, now: number): Promise<{ user: string; created: boolean }> {
    return this.transaction("accounts.userForPhone", () => {
      const existing = this.phones.get(phone);
      if (existing) return { user: existing.user, created: false };
      this.phones.put(phone, { user: candidate, createdAt: now });
      this.userPhones.put(candidate, phone);
      return { user: candidate, created: true };
    });
  }

  async findUser(phone: string): Promise<string | undefined> {
    return this.phones.get(phone)?.user;
  }

  async phoneOf(user: string): Promise<string | undefined> {
    return this.userPhones.get(user);
  }

  async putCode(phone: string, code: Omit<PendingCode, "attempts">): Promise<void> {
    await this.transaction("accounts.putCode", () => this.codes.put(phone, { ...code, attempts: 0 }));
  }

  attemptCode(phone: string, maxAttempts: number, now: number): Promise<CodeAttempt> {
    return this.transaction("accounts.attemptCode", (): CodeAttempt => {
      const code = this.codes.get(phone);
      if (!code) return { kind: "none" };
      // Kept (one per phone at most) until a new code replaces it, as CQL keeps it until its TTL.
      if (code.expiresAt <= now) return { kind: "expired" };
      if (code.attempts >= maxAttempts) return { kind: "exhausted", code };
      const counted = { ...code, attempts: code.attempts + 1 };
      this.codes.put(phone, counted);
      return { kind: "counted", code: counted };
    });
  }

  redeemCode(phone: string, id: string): Promise<boolean> {
    return this.transaction("accounts.redeemCode", () => {
      if (this.codes.get(phone)?.id !== id) return false;
      this.codes.remove(phone);
      return true;
    });
  }

  async issueRefresh(issue: RefreshIssue): Promise<void> {
    await this.transaction("accounts.issueRefresh", () => {
      const previous = this.deviceFamilies.get([issue.user, issue.device]);
      if (previous !== undefined) this.families.remove(previous);
      this.families.put(issue.family, { user: issue.user, device: issue.device, current: issue.hash, expiresAt: issue.expiresAt, revoked: false });
      this.deviceFamilies.put([issue.user, issue.device], issue.family);
    });
  }

  rotateRefresh(family: string, oldHash: string, newHash: string, newExpiresAt: number, now: number): Promise<RefreshRotation> {
    return this.transaction("accounts.rotateRefresh", (): RefreshRotation => {
      const value = this.families.get(family);
      if (!value) return { kind: "unknown" };
      if (value.revoked) return { kind: "revoked" };
      if (value.expiresAt <= now) return { kind: "expired" };
      if (value.current !== oldHash) {
        this.families.put(family, { ...value, revoked: true });
        return { kind: "reused", user: value.user, device: value.device };
      }
      this.families.put(family, { ...value, current: newHash, expiresAt: newExpiresAt });
      return { kind: "rotated", user: value.user, device: value.device };
    });
  }

  async forgetUser(user: string): Promise<void> {
    await this.transaction("accounts.forgetUser", () => {
      const phone = this.userPhones.get(user);
      if (phone !== undefined && this.phones.get(phone)?.user === user) void this.phones.remove(phone);
      void this.userPhones.remove(user);
      for (const { value: family } of this.deviceFamilies.getRange({ start: [user, ""], end: [user, "\uffff"] })) {
        const value = this.families.get(family);
        if (value) void this.families.put(family, { ...value, revoked: true });
      }
    });
  }

  async revokeDevice(user: string, device: string): Promise<void> {
    await this.transaction("accounts.revokeDevice", () => {
      const family = this.deviceFamilies.get([user, device]);
      const value = family === undefined ? undefined : this.families.get(family);
      if (family !== undefined && value) this.families.put(family, { ...value, revoked: true });
    });
  }
}
