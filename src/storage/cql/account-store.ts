import type { AccountStore, CodeAttempt, PendingCode, RefreshIssue, RefreshRotation } from "../accounts.ts";
import { StorageUnavailableError } from "../errors.ts";
import { booleanColumn, numberColumn, optionalTextColumn, textColumn } from "./columns.ts";
import type { CqlSession, Row } from "./session.ts";

const INSERT_PHONE = "INSERT INTO phone_users (phone, user_id, created_at) VALUES (?, ?, ?) IF NOT EXISTS";
const INSERT_USER_PHONE = "INSERT INTO user_phones (user_id, phone) VALUES (?, ?)";
const SELECT_PHONE = "SELECT user_id FROM phone_users WHERE phone = ?";
const SELECT_USER_PHONE = "SELECT phone FROM user_phones WHERE user_id = ?";

const UPDATE_CODE =
  "UPDATE verification_codes USING TTL ? SET code_id = ?, code_hash = ?, expires_at = ?, attempts = 0 WHERE phone = ? IF EXISTS";
const INSERT_CODE =
  "INSERT INTO verification_codes (phone, code_id, code_hash, expires_at, attempts) VALUES (?, ?, ?, ?, 0) IF NOT EXISTS USING TTL ?";
const SELECT_CODE = "SELECT code_id, code_hash, expires_at, attempts FROM verification_codes WHERE phone = ?";
const COUNT_ATTEMPT = "UPDATE verification_codes USING TTL ? SET attempts = ? WHERE phone = ? IF code_id = ? AND attempts = ?";
const DELETE_CODE = "DELETE FROM verification_codes WHERE phone = ? IF code_id = ?";

const DELETE_PHONE = "DELETE FROM phone_users WHERE phone = ? IF user_id = ?";
const DELETE_USER_PHONE = "DELETE FROM user_phones WHERE user_id = ?";
const SELECT_USER_FAMILIES = "SELECT family FROM refresh_devices WHERE user_id = ?";
const SELECT_DEVICE_FAMILY = "SELECT family FROM refresh_devices WHERE user_id = ? AND device = ?";
const INSERT_DEVICE_FAMILY = "INSERT INTO refresh_devices (user_id, device, family) VALUES (?, ?, ?) USING TTL ?";
const DELETE_FAMILY = "DELETE FROM refresh_families WHERE family = ? IF EXISTS";
const INSERT_FAMILY =
  "INSERT INTO refresh_families (family, user_id, device, current_hash, expires_at, revoked) VALUES (?, ?, ?, ?, ?, false) IF NOT EXISTS USING TTL ?";
const SELECT_FAMILY = "SELECT user_id, device, current_hash, expires_at, revoked FROM refresh_families WHERE family = ?";
const ROTATE_FAMILY =
  "UPDATE refresh_families USING TTL ? SET user_id = ?, device = ?, current_hash = ?, expires_at = ?, revoked = false WHERE family = ? IF current_hash = ? AND revoked = false";
const REVOKE_FAMILY = "UPDATE refresh_families SET revoked = true WHERE family = ? IF EXISTS";

/** Rows outlive their expiry by this long, so a node whose clock runs behind still sees them expired, not gone. */
const TTL_SLACK_SECONDS = 3600;
/** A write that keeps losing to concurrent ones of the same key: give up (the client retries). */
const MAX_CAS_ATTEMPTS = 8;

function ttlUntil(expiresAt: number, now = Date.now()): number {
  return Math.max(1, Math.ceil((expiresAt - now) / 1000)) + TTL_SLACK_SECONDS;
}

function applied(row: Row | undefined): boolean {
  return row?.get("[applied]") === true;
}

function pendingCode(row: Row): PendingCode | undefined {
  // A row whose cells expired one by one can read with nulls: it is gone.
  const id = optionalTextColumn(row, "code_id");
  const hash = optionalTextColumn(row, "code_hash");
  if (id === undefined || hash === undefined || row.get("expires_at") == null) return undefined;
  const attempts: unknown = row.get("attempts");
  return { id, hash, expiresAt: numberColumn(row, "expires_at"), attempts: typeof attempts === "number" ? attempts : 0 };
}

interface Family {
  user: string;
  device: string;
  current: string;
  expiresAt: number;
  revoked: boolean;
}

function family(row: Row | undefined): Family | undefined {
  if (!row) return undefined;
  const user = optionalTextColumn(row, "user_id");
  const device = optionalTextColumn(row, "device");
  const current = optionalTextColumn(row, "current_hash");
  if (user === undefined || device === undefined || current === undefined || row.get("expires_at") == null) return undefined;
  return { user, device, current, expiresAt: numberColumn(row, "expires_at"), revoked: row.get("revoked") == null ? false : booleanColumn(row, "revoked") };
}

/**
 * Accounts on Cassandra / ScyllaDB. The races that matter are settled by Paxos: the first
 * sign-up of a phone (INSERT IF NOT EXISTS), counting a try (IF attempts = n), redeeming a code
 * (DELETE IF code_id) and using a refresh token (IF current_hash = old). An LWT retried after a
 * timeout may find its own earlier write; each caller below reads that case as success or as
 * the same outcome a concurrent request would get.
 */
export class CqlAccountStore implements AccountStore {
  constructor(private readonly session: CqlSession) {}

  async userForPhone(phone: string, candidate: string, now: number): Promise<{ user: string; created: boolean }> {
    const [row] = await this.session.conditional("accounts.userForPhone", { query: INSERT_PHONE, params: [phone, candidate, now] });
    // Not applied: the row is the one already there (possibly our own, after a retried timeout).
    const user = applied(row) ? candidate : textColumn(row!, "user_id");
    await this.session.execute("accounts.userPhone", { query: INSERT_USER_PHONE, params: [user, phone] });
    return { user, created: applied(row) };
  }

  async findUser(phone: string): Promise<string | undefined> {
    const [row] = await this.session.rows("accounts.findUser", { query: SELECT_PHONE, params: [phone] });
    return row ? optionalTextColumn(row, "user_id") : undefined;
  }

  async phoneOf(user: string): Promise<string | undefined> {
    const [row] = await this.session.rows("accounts.phoneOf", { query: SELECT_USER_PHONE, params: [user] });
    return row ? optionalTextColumn(row, "phone") : undefined;
  }

  async putCode(phone: string, code: Omit<PendingCode, "attempts">): Promise<void> {
    const ttl = ttlUntil(code.expiresAt);
    // No LWT writes unconditionally: replace the code that is there, else create one.
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const [updated] = await this.session.conditional("accounts.putCode", {
        query: UPDATE_CODE,
        params: [ttl, code.id, code.hash, code.expiresAt, phone],
      });
      if (applied(updated)) return;
      const [inserted] = await this.session.conditional("accounts.putCode", {
        query: INSERT_CODE,
        params: [phone, code.id, code.hash, code.expiresAt, ttl],
      });
      if (applied(inserted)) return;
    }
    throw new StorageUnavailableError("cql accounts.putCode kept racing another write");
  }

  async attemptCode(phone: string, maxAttempts: number, now: number): Promise<CodeAttempt> {
    let [row] = await this.session.rows("accounts.attemptCode", { query: SELECT_CODE, params: [phone] });
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt += 1) {
      const code = row ? pendingCode(row) : undefined;
      if (!code) return { kind: "none" };
      if (code.expiresAt <= now) return { kind: "expired" };
      if (code.attempts >= maxAttempts) return { kind: "exhausted", code };
      const [result] = await this.session.conditional("accounts.attemptCode", {
        query: COUNT_ATTEMPT,
        params: [ttlUntil(code.expiresAt, now), code.attempts + 1, phone, code.id, code.attempts],
      });
      if (applied(result)) return { kind: "counted", code: { ...code, attempts: code.attempts + 1 } };
      // Another try (or a new code) got there first: read what is there now and go again.
      [row] = await this.session.rows("accounts.attemptCode", { query: SELECT_CODE, params: [phone] });
    }
    throw new StorageUnavailableError("cql accounts.attemptCode kept racing other tries");
  }

  async redeemCode(phone: string, id: string): Promise<boolean> {
    const [row] = await this.session.conditional("accounts.redeemCode", { query: DELETE_CODE, params: [phone, id] });
    return applied(row);
  }

  async issueRefresh(issue: RefreshIssue): Promise<void> {
    const ttl = ttlUntil(issue.expiresAt);
    const [previous] = await this.session.rows("accounts.issueRefresh", { query: SELECT_DEVICE_FAMILY, params: [issue.user, issue.device] });
    const previousFamily = previous ? optionalTextColumn(previous, "family") : undefined;
    if (previousFamily !== undefined && previousFamily !== issue.family) {
      await this.session.conditional("accounts.issueRefresh", { query: DELETE_FAMILY, params: [previousFamily] });
    }
    const [inserted] = await this.session.conditional("accounts.issueRefresh", {
      query: INSERT_FAMILY,
      params: [issue.family, issue.user, issue.device, issue.hash, issue.expiresAt, ttl],
    });
    // Family ids are 128 random bits: a row already there is this very write, retried.
    if (!applied(inserted) && optionalTextColumn(inserted!, "current_hash") !== issue.hash) {
      throw new Error(`refresh family ${issue.family} already exists`);
    }
    await this.session.execute("accounts.issueRefresh", { query: INSERT_DEVICE_FAMILY, params: [issue.user, issue.device, issue.family, ttl] });
  }

  async rotateRefresh(familyId: string, oldHash: string, newHash: string, newExpiresAt: number, now: number): Promise<RefreshRotation> {
    const [row] = await this.session.rows("accounts.rotateRefresh", { query: SELECT_FAMILY, params: [familyId] });
    const current = family(row);
    if (!current) return { kind: "unknown" };
    if (current.revoked) return { kind: "revoked" };
    if (current.expiresAt <= now) return { kind: "expired" };
    if (current.current === oldHash) {
      const [result] = await this.session.conditional("accounts.rotateRefresh", {
        query: ROTATE_FAMILY,
        params: [ttlUntil(newExpiresAt, now), current.user, current.device, newHash, newExpiresAt, familyId, oldHash],
      });
      if (applied(result)) return { kind: "rotated", user: current.user, device: current.device };
      // Not applied: the answer holds the condition's columns as they are now.
      const hashNow = result ? optionalTextColumn(result, "current_hash") : undefined;
      if (hashNow === undefined) return { kind: "unknown" };
      // Our own write, applied before a timeout made the driver retry it.
      if (hashNow === newHash) return { kind: "rotated", user: current.user, device: current.device };
      if (result?.get("revoked") === true) return { kind: "revoked" };
      // Otherwise another request used the same token first: this is its second use.
    }
    await this.session.conditional("accounts.rotateRefresh", { query: REVOKE_FAMILY, params: [familyId] });
    return { kind: "reused", user: current.user, device: current.device };
  }

  async forgetUser(user: string): Promise<void> {
    const phone = await this.phoneOf(user);
    // Conditional like every phone_users write; only while the phone is still this user's.
    if (phone !== undefined) await this.session.conditional("accounts.forgetUser", { query: DELETE_PHONE, params: [phone, user] });
    await this.session.execute("accounts.forgetUser", { query: DELETE_USER_PHONE, params: [user] });
    const devices = await this.session.rows("accounts.forgetUser", { query: SELECT_USER_FAMILIES, params: [user] });
    for (const row of devices) {
      const family = optionalTextColumn(row, "family");
      if (family !== undefined) await this.session.conditional("accounts.forgetUser", { query: REVOKE_FAMILY, params: [family] });
    }
  }

  async revokeDevice(user: string, device: string): Promise<void> {
    const [row] = await this.session.rows("accounts.revokeDevice", { query: SELECT_DEVICE_FAMILY, params: [user, device] });
    const familyId = row ? optionalTextColumn(row, "family") : undefined;
    if (familyId !== undefined) await this.session.conditional("accounts.revokeDevice", { query: REVOKE_FAMILY, params: [familyId] });
  }
}
