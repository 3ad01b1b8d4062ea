import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, it } from "node:test";
import { validateSignupConfig } from "../../src/config/signup.ts";
import { normalisePhone } from "../../src/accounts/phone.ts";
import { ConfigError, configFromEnvironment, defaultConfig } from "../../src/config.ts";
import { startNode } from "../../src/node.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import { tempDir, TestNode } from "../support/node.ts";
import { post } from "./helpers.ts";

describe("sign-up settings", () => {
  it("leaves sign-up off by default and reads the SMS settings from the environment", () => {
    assert.equal(validateSignupConfig(defaultConfig().signup), undefined);
    const config = configFromEnvironment({
      ROUTER_SMS_SENDER: "twilio",
      ROUTER_SMS_TWILIO_URL: "http://127.0.0.1:9/",
      ROUTER_SMS_TWILIO_ACCOUNT_SID: "AC123",
      ROUTER_SMS_TWILIO_AUTH_TOKEN: "t",
      ROUTER_SMS_TWILIO_MESSAGING_SERVICE_SID: "MG1",
      ROUTER_SIGNUP_CODE_TTL_MS: "2000",
      ROUTER_REFRESH_TOKEN_TTL_SECONDS: "3600",
    });
    assert.equal(validateSignupConfig(config.signup), "twilio");
    assert.equal(config.signup.codeTtlMs, 2000);
    assert.equal(config.signup.refreshTokenTtlSeconds, 3600);
  });

  it("refuses an unknown sender and a sender without what it needs, before the node starts", async () => {
    const refused = [
      { sender: "carrier-pigeon" },
      { sender: "webhook" },
      { sender: "webhook", webhook: { url: "ftp://x", secret: "s" } },
      { sender: "twilio" },
      { sender: "twilio", twilio: { url: "https://api.twilio.com", accountSid: "AC1", authToken: "t", from: "", messagingServiceSid: "" } },
      { codeAttempts: 0 },
    ];
    for (const change of refused) {
      assert.throws(() => validateSignupConfig({ ...defaultConfig().signup, ...change }), ConfigError, JSON.stringify(change));
    }
    const config = defaultConfig();
    config.signup.sender = "carrier-pigeon";
    await assert.rejects(startNode(config), ConfigError);
  });
});

describe("sign-up without an SMS sender", () => {
  // Backend-independent: this file runs on LMDB only (scripts/test.mjs skips it on the cql pass).
  it("answers the verify routes 404 signup_disabled", async () => {
    const dir = tempDir("router-signup-off-");
    const node = await TestNode.start({ overrides: { stores: openLmdbStores({ path: dir }) } });
    try {
      for (const path of ["/v1/verify/start", "/v1/verify/finish"]) {
        const answer = await post(node.httpUrl, path, { phone: "+14155550123", code: "123456" });
        assert.deepEqual([answer.status, answer.body.error], [404, "signup_disabled"], path);
      }
      // Refresh tokens already out keep working when the sender is switched off; this one is unknown.
      const refresh = await post(node.httpUrl, "/v1/token/refresh", { refresh: `${"0".repeat(32)}.${"A".repeat(43)}` });
      assert.deepEqual([refresh.status, refresh.body.error], [401, "bad_refresh"]);
    } finally {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("phone numbers", () => {
  it("normalises to E.164 and refuses the rest", () => {
    assert.equal(normalisePhone("+1 (415) 555-0123"), "+14155550123");
    assert.equal(normalisePhone("0044 20 7946 0958"), "+442079460958");
    assert.equal(normalisePhone("+49.30.1234567"), "+49301234567");
    for (const input of ["4155550123", "+0441234567", "+123456", "+1234567890123456", "+1 415 CALL NOW", "", undefined, 14155550123, "+" + "1".repeat(40)]) {
      assert.equal(normalisePhone(input), undefined, String(input));
    }
  });
});
