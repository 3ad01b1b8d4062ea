import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { AccountStore } from "../../src/storage/accounts.ts";
import type { Stores } from "../../src/storage/stores.ts";

/** A phone number no other test of this run uses (stores may share one database). */
function freshPhone(): string {
  return `+1${randomBytes(5).readUIntBE(0, 5).toString().padStart(13, "0").slice(0, 13)}`;
}

function id(): string {
  return randomBytes(16).toString("hex");
}

const MINUTE = 60_000;

/** The behaviour every AccountStore owes src/accounts/service.ts, on every backend. */
export function accountStoreContract(name: string, open: () => Promise<Stores>): void {
  describe(`${name} store contract: accounts`, () => {
    let stores: Stores;
    let accounts: AccountStore;
    before(async () => {
      stores = await open();
      assert.ok(stores.accounts, `${name} has an account store`);
      accounts = stores.accounts;
    });
    after(async () => {
      await stores.close();
    });

    it("creates a phone's user id once: concurrent first sign-ups agree on one", async () => {
      const phone = freshPhone();
      assert.equal(await accounts.findUser(phone), undefined);
      const candidates = Array.from({ length: 6 }, () => `u${id()}`);
      const results = await Promise.all(candidates.map((candidate) => accounts.userForPhone(phone, candidate, Date.now())));
      const users = new Set(results.map((r) => r.user));
      assert.equal(users.size, 1);
      assert.equal(results.filter((r) => r.created).length, 1);
      const [user] = users;
      assert.ok(user && candidates.includes(user));
      assert.equal(await accounts.findUser(phone), user);
      assert.equal(await accounts.phoneOf(user), phone);
      const again = await accounts.userForPhone(phone, `u${id()}`, Date.now());
      assert.deepEqual(again, { user, created: false });
    });

    it("counts tries against a code atomically and stops at the limit", async () => {
      const phone = freshPhone();
      assert.deepEqual(await accounts.attemptCode(phone, 5, Date.now()), { kind: "none" });
      const code = { id: id(), hash: "h1", expiresAt: Date.now() + 10 * MINUTE };
      await accounts.putCode(phone, code);
      // Eight tries at once against a limit of five: exactly five are counted.
      const tries = await Promise.all(Array.from({ length: 8 }, () => accounts.attemptCode(phone, 5, Date.now())));
      const counted = tries.filter((t) => t.kind === "counted");
      assert.equal(counted.length, 5);
      assert.deepEqual(counted.map((t) => (t.kind === "counted" ? t.code.attempts : 0)).sort(), [1, 2, 3, 4, 5]);
      assert.ok(counted.every((t) => t.kind === "counted" && t.code.hash === "h1" && t.code.id === code.id));
      assert.equal(tries.filter((t) => t.kind === "exhausted").length, 3);
      // A new code starts its tries over.
      const next = { id: id(), hash: "h2", expiresAt: Date.now() + 10 * MINUTE };
      await accounts.putCode(phone, next);
      const fresh = await accounts.attemptCode(phone, 5, Date.now());
      assert.equal(fresh.kind, "counted");
      assert.equal(fresh.kind === "counted" && fresh.code.attempts, 1);
      assert.equal(fresh.kind === "counted" && fresh.code.hash, "h2");
    });

    it("reports an expired code without counting it", async () => {
      const phone = freshPhone();
      const now = Date.now();
      await accounts.putCode(phone, { id: id(), hash: "h", expiresAt: now + 5 * MINUTE });
      assert.deepEqual(await accounts.attemptCode(phone, 5, now + 6 * MINUTE), { kind: "expired" });
    });

    it("redeems a code once, and only the current one", async () => {
      const phone = freshPhone();
      const first = { id: id(), hash: "h", expiresAt: Date.now() + 10 * MINUTE };
      await accounts.putCode(phone, first);
      const second = { id: id(), hash: "h", expiresAt: Date.now() + 10 * MINUTE };
      await accounts.putCode(phone, second);
      assert.equal(await accounts.redeemCode(phone, first.id), false);
      const redeemed = await Promise.all([accounts.redeemCode(phone, second.id), accounts.redeemCode(phone, second.id)]);
      assert.deepEqual(redeemed.sort(), [false, true]);
      assert.deepEqual(await accounts.attemptCode(phone, 5, Date.now()), { kind: "none" });
    });

    it("rotates a refresh token once; a second use revokes the whole family", async () => {
      const user = `u${id()}`;
      const family = id();
      const expiresAt = Date.now() + 60 * MINUTE;
      await accounts.issueRefresh({ family, user, device: "phone", hash: "t1", expiresAt });
      assert.deepEqual(await accounts.rotateRefresh(family, "t1", "t2", expiresAt, Date.now()), { kind: "rotated", user, device: "phone" });
      assert.deepEqual(await accounts.rotateRefresh(family, "t2", "t3", expiresAt, Date.now()), { kind: "rotated", user, device: "phone" });
      // t1 again: someone kept a copy. Neither it nor the current token (t3) works any more.
      assert.deepEqual(await accounts.rotateRefresh(family, "t1", "x", expiresAt, Date.now()), { kind: "reused", user, device: "phone" });
      assert.deepEqual(await accounts.rotateRefresh(family, "t3", "t4", expiresAt, Date.now()), { kind: "revoked" });
      assert.deepEqual(await accounts.rotateRefresh(id(), "t1", "t2", expiresAt, Date.now()), { kind: "unknown" });
    });

    it("lets one of two concurrent uses of a token win and treats the other as reuse", async () => {
      const user = `u${id()}`;
      const family = id();
      const expiresAt = Date.now() + 60 * MINUTE;
      await accounts.issueRefresh({ family, user, device: "d", hash: "t1", expiresAt });
      const results = await Promise.all([
        accounts.rotateRefresh(family, "t1", "a", expiresAt, Date.now()),
        accounts.rotateRefresh(family, "t1", "b", expiresAt, Date.now()),
      ]);
      assert.deepEqual(results.map((r) => r.kind).sort(), ["reused", "rotated"]);
      const winner = results.find((r) => r.kind === "rotated") === results[0] ? "a" : "b";
      assert.deepEqual(await accounts.rotateRefresh(family, winner, "c", expiresAt, Date.now()), { kind: "revoked" });
    });

    it("expires a family, replaces it on a new sign-in of the device, and revokes a device", async () => {
      const user = `u${id()}`;
      const now = Date.now();
      const old = id();
      await accounts.issueRefresh({ family: old, user, device: "d", hash: "t1", expiresAt: now + MINUTE });
      assert.deepEqual(await accounts.rotateRefresh(old, "t1", "t2", now + 2 * MINUTE, now + 2 * MINUTE), { kind: "expired" });
      const replacement = id();
      await accounts.issueRefresh({ family: replacement, user, device: "d", hash: "n1", expiresAt: now + 60 * MINUTE });
      assert.deepEqual(await accounts.rotateRefresh(old, "t1", "t2", now + 60 * MINUTE, now), { kind: "unknown" });
      // Another device of the same user is a family of its own.
      const other = id();
      await accounts.issueRefresh({ family: other, user, device: "e", hash: "o1", expiresAt: now + 60 * MINUTE });
      await accounts.revokeDevice(user, "d");
      assert.deepEqual(await accounts.rotateRefresh(replacement, "n1", "n2", now + 60 * MINUTE, now), { kind: "revoked" });
      assert.deepEqual(await accounts.rotateRefresh(other, "o1", "o2", now + 60 * MINUTE, now), { kind: "rotated", user, device: "e" });
    });

    it("forgets a deleted user: the phone signs up anew, every refresh family is revoked, others untouched", async () => {
      const phone = freshPhone();
      const otherPhone = freshPhone();
      const { user } = await accounts.userForPhone(phone, `u${id()}`, Date.now());
      const { user: bystander } = await accounts.userForPhone(otherPhone, `u${id()}`, Date.now());
      const expiresAt = Date.now() + 60 * MINUTE;
      const [d, e, kept] = [id(), id(), id()];
      await accounts.issueRefresh({ family: d, user, device: "d", hash: "d1", expiresAt });
      await accounts.issueRefresh({ family: e, user, device: "e", hash: "e1", expiresAt });
      await accounts.issueRefresh({ family: kept, user: bystander, device: "d", hash: "k1", expiresAt });
      await accounts.forgetUser(user);
      await accounts.forgetUser(user);
      assert.equal(await accounts.findUser(phone), undefined);
      assert.equal(await accounts.phoneOf(user), undefined);
      assert.deepEqual(await accounts.rotateRefresh(d, "d1", "d2", expiresAt, Date.now()), { kind: "revoked" });
      assert.deepEqual(await accounts.rotateRefresh(e, "e1", "e2", expiresAt, Date.now()), { kind: "revoked" });
      assert.deepEqual(await accounts.rotateRefresh(kept, "k1", "k2", expiresAt, Date.now()), { kind: "rotated", user: bystander, device: "d" });
      assert.equal(await accounts.findUser(otherPhone), bystander);
      const fresh = `u${id()}`;
      assert.deepEqual(await accounts.userForPhone(phone, fresh, Date.now()), { user: fresh, created: true });
    });
  });
}
