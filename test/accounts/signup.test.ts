import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { verifyToken } from "../../src/auth/tokens.ts";
import { AccountError, finishVerification, refreshSession, startVerification, type Session } from "../../sdk/accounts.ts";
import { RequestError, RouterClient } from "../../sdk/client.ts";
import { eventually } from "../support/flood.ts";
import { TestNode } from "../support/node.ts";
import { FakeSms } from "./fake-sms.ts";
import { CapturedLog, freshPhone, post } from "./helpers.ts";

describe("sign-up by phone number (webhook SMS sender)", () => {
  let node: TestNode;
  const sms = new FakeSms();
  const log = new CapturedLog("info");
  const clients: RouterClient[] = [];
  /** Every code and token handed out, to check that none reached the log. */
  const secrets: string[] = [];

  before(async () => {
    await sms.start();
    node = await TestNode.start({
      config: (c) => {
        c.signup.sender = "webhook";
        c.signup.webhook = { url: sms.webhookUrl, secret: sms.webhookSecret };
      },
      overrides: { logger: log.logger },
    });
  });

  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node.stop();
    await sms.stop();
    // No code or token ever reached the log (the webhook sender logs none).
    for (const secret of secrets) assert.deepEqual(log.containing(secret), [], "a code or token was logged");
    assert.ok(log.containing("verification code sent").length > 0, "the log was captured");
  });

  /** `typed`: the number as the user typed it; `phone` is its E.164 form. */
  async function codeFor(phone: string, typed = phone): Promise<string> {
    const before = sms.received.length;
    await startVerification(node.httpUrl, typed);
    const { code } = await sms.next(phone, before);
    secrets.push(code);
    return code;
  }

  async function signUp(phone: string, device?: string, typed = phone): Promise<Session> {
    const session = await finishVerification(node.httpUrl, typed, await codeFor(phone, typed), device);
    secrets.push(session.token, session.refresh);
    return session;
  }

  async function connect(token: string): Promise<RouterClient> {
    const client = await RouterClient.connect({ url: node.url, token, requestTimeoutMs: node.config.limits.requestTimeoutMs + 10_000 });
    clients.push(client);
    return client;
  }

  it("signs up end to end: code by signed webhook, hello with the token, refresh rotates, a reused refresh revokes the device", async () => {
    const phone = freshPhone();
    const session = await signUp(phone, "phone-1");
    assert.equal(session.device, "phone-1");
    assert.equal(session.new_user, true);
    assert.match(session.user, /^u[0-9a-f]{24}$/);
    assert.ok(!session.user.includes(phone.slice(1)), "the user id is not the phone number");
    assert.equal(session.expires_in, 24 * 3600);
    const claims = await verifyToken(node.config.secret, session.token);
    assert.deepEqual({ user: claims.user, device: claims.device }, { user: session.user, device: "phone-1" });
    assert.equal(claims.expiresAt! - Math.floor(claims.issuedAt / 1000) * 1000, 24 * 3600 * 1000);

    const first = await connect(session.token);
    assert.equal(first.welcome?.user, session.user);
    assert.equal(first.welcome?.device, "phone-1");

    const rotated = await refreshSession(node.httpUrl, session.refresh);
    secrets.push(rotated.token, rotated.refresh);
    assert.equal(rotated.user, session.user);
    assert.equal(rotated.device, "phone-1");
    assert.notEqual(rotated.refresh, session.refresh);
    const second = await connect(rotated.token);
    assert.equal(second.welcome?.user, session.user);

    // The first refresh token again: a copy exists somewhere. The family dies and the device's
    // sockets on this node are closed with 4001.
    const reused = await post(node.httpUrl, "/v1/token/refresh", { refresh: session.refresh });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error, "refresh_reused");
    assert.equal((await second.waitForClose()).code, 4001);
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    assert.ok(
      metrics.split("\n").some((line) => line.startsWith("router_account_requests_total{") && line.includes('error="refresh_reused"')),
      "the reuse is counted in /metrics",
    );
    // The access tokens already handed out are revoked too, on every node (within the
    // revocation poll): the thief's copy cannot say hello any more.
    await eventually(async () => {
      const refused = await RouterClient.connect({ url: node.url, token: rotated.token }).then(
        async (client) => (await client.close(), false),
        (error: unknown) => error instanceof RequestError && error.code === "unauthorized",
      );
      assert.ok(refused, "a token issued before the reuse is refused at hello");
    });
    // Neither the thief's copy nor the victim's current token refreshes any more.
    const current = await post(node.httpUrl, "/v1/token/refresh", { refresh: rotated.refresh });
    assert.equal(current.status, 401);
    assert.equal(current.body.error, "refresh_revoked");
    // Signing in again with a code starts a new family for the device.
    const again = await signUp(phone, "phone-1");
    assert.equal(again.user, session.user);
    assert.equal(again.new_user, false);
    const renewed = await refreshSession(node.httpUrl, again.refresh);
    secrets.push(renewed.token, renewed.refresh);
    assert.equal(renewed.user, session.user);
  });

  it("gives a phone the same user id every time; each device has its own refresh family", async () => {
    const phone = freshPhone();
    const a = await signUp(phone);
    const b = await signUp(phone, undefined, phone.replace(/^\+/, "00").replace(/(\d{4})/, "$1 "));
    assert.equal(a.user, b.user);
    assert.deepEqual([a.new_user, b.new_user], [true, false]);
    assert.notEqual(a.device, b.device, "a device id is made for a client that sends none");
    // Using b's refresh twice revokes b only.
    const next = await refreshSession(node.httpUrl, b.refresh);
    secrets.push(next.token, next.refresh);
    await assert.rejects(refreshSession(node.httpUrl, b.refresh), (error: AccountError) => error.code === "refresh_reused");
    const stillFine = await refreshSession(node.httpUrl, a.refresh);
    secrets.push(stillFine.token, stillFine.refresh);
    assert.equal(stillFine.device, a.device);
  });

  it("normalises what the user typed to E.164, and refuses what is not a phone number with 400", async () => {
    const typed = "+1 (415) 555-01.23";
    const before = sms.received.length;
    assert.equal((await post(node.httpUrl, "/v1/verify/start", { phone: typed })).status, 202);
    assert.equal((await sms.next("+14155550123", before)).to, "+14155550123");
    for (const phone of ["4155550123", "+0123456789", "+1234", "+1234567890123456", "+44 20 abc", 4155550123, null, "x".repeat(5000)]) {
      const answer = await post(node.httpUrl, "/v1/verify/start", { phone });
      assert.equal(answer.status, phone === "x".repeat(5000) ? 413 : 400, `for ${String(phone).slice(0, 20)}`);
      assert.equal(answer.body.error, phone === "x".repeat(5000) ? "too_large" : "invalid_phone");
    }
    const missing = await post(node.httpUrl, "/v1/verify/finish", { code: "123456" });
    assert.deepEqual([missing.status, missing.body.error], [400, "invalid_phone"]);
  });

  it("answers bad requests with JSON errors: not JSON, wrong content type, bad code, device or refresh", async () => {
    const phone = freshPhone();
    const cases: Array<[string, unknown, string, number, string]> = [
      ["/v1/verify/start", "{not json", "application/json", 400, "bad_request"],
      ["/v1/verify/start", { phone }, "text/plain", 415, "unsupported_media_type"],
      ["/v1/verify/finish", { phone, code: "12345" }, "application/json", 400, "invalid_code"],
      ["/v1/verify/finish", { phone, code: 123456 }, "application/json", 400, "invalid_code"],
      ["/v1/verify/finish", { phone, code: "123456", device: "no spaces" }, "application/json", 400, "invalid_device"],
      ["/v1/verify/finish", { phone, code: "123456" }, "application/json", 401, "no_code"],
      ["/v1/token/refresh", { refresh: "nope" }, "application/json", 400, "invalid_refresh"],
      ["/v1/token/refresh", { refresh: `${"0".repeat(32)}.${"A".repeat(43)}` }, "application/json", 401, "bad_refresh"],
    ];
    for (const [path, body, contentType, status, error] of cases) {
      const answer = await post(node.httpUrl, path, body, contentType);
      assert.equal(answer.status, status, `${path} ${JSON.stringify(body)}`);
      assert.equal(answer.contentType, "application/json");
      assert.equal(answer.body.error, error);
      assert.equal(typeof answer.body.message, "string");
    }
    assert.deepEqual(sms.sentTo(phone), [], "nothing was sent for refused requests");
  });

  it("allows 5 tries per code: wrong codes count down, then the code is dead (429) even for the right code", async () => {
    const phone = freshPhone();
    const code = await codeFor(phone);
    const wrong = code === "000000" ? "111111" : "000000";
    for (let left = 4; left >= 0; left -= 1) {
      const answer = await post(node.httpUrl, "/v1/verify/finish", { phone, code: wrong });
      assert.deepEqual([answer.status, answer.body.error, answer.body.tries_left], [401, "bad_code", left]);
    }
    const dead = await post(node.httpUrl, "/v1/verify/finish", { phone, code });
    assert.equal(dead.status, 429);
    assert.equal(dead.body.error, "too_many_tries");
    assert.ok(Number(dead.retryAfter) >= 1 && Number(dead.retryAfter) <= 600, `Retry-After ${dead.retryAfter}`);
    // A new code starts over.
    const session = await signUp(phone);
    assert.equal(session.new_user, true);
  });

  it("signs in once per code, however many finish at once", async () => {
    const phone = freshPhone();
    const code = await codeFor(phone);
    const answers = await Promise.all([1, 2, 3].map(() => post(node.httpUrl, "/v1/verify/finish", { phone, code })));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 401, 401]);
    for (const answer of answers) if (answer.status === 200) secrets.push(String(answer.body.token), String(answer.body.refresh));
  });

  it("sends at most 3 codes per phone per window: the 4th start is 429 with Retry-After", async () => {
    const phone = freshPhone();
    for (let i = 0; i < 3; i += 1) assert.equal((await post(node.httpUrl, "/v1/verify/start", { phone })).status, 202);
    const limited = await post(node.httpUrl, "/v1/verify/start", { phone });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error, "rate_limited");
    assert.ok(Number(limited.retryAfter) >= 1 && Number(limited.retryAfter) <= 600, `Retry-After ${limited.retryAfter}`);
    await sms.next(phone);
    assert.equal(sms.sentTo(phone).length, 3);
    // Another phone from the same address is not held back by this one's limit.
    assert.equal((await post(node.httpUrl, "/v1/verify/start", { phone: freshPhone() })).status, 202);
  });
});
