import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CLOSE_CODES } from "../../sdk/frames.ts";
import { actionForClose, backoffDelay, tokenExpiry } from "../../sdk/reconnect.ts";
import { signToken } from "../../src/auth/tokens.ts";
import { TEST_SECRET } from "../support/node.ts";

describe("what the SDK does after a close", () => {
  it("follows docs/protocol.md's table of close codes", () => {
    const expected: Record<number, string> = {
      [CLOSE_CODES.going_away]: "reconnect",
      [CLOSE_CODES.unsupported_data]: "stop",
      [CLOSE_CODES.too_large]: "stop",
      [CLOSE_CODES.unauthorized]: "renew_token",
      [CLOSE_CODES.hello_timeout]: "reconnect",
      [CLOSE_CODES.replaced]: "stop",
      [CLOSE_CODES.slow_consumer]: "reconnect",
      [CLOSE_CODES.too_many_devices]: "stop",
      1006: "reconnect",
      1011: "reconnect",
    };
    for (const [code, action] of Object.entries(expected)) assert.equal(actionForClose(Number(code)), action, `close ${code}`);
    // Every code the server uses is decided above, none left to the default by accident.
    for (const code of Object.values(CLOSE_CODES)) assert.ok(code in expected, `close ${code} has a decided action`);
  });

  it("backs off exponentially up to the cap, with full jitter and never zero", () => {
    const options = { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2 };
    assert.equal(backoffDelay(0, options, 0.999999), 99);
    assert.equal(backoffDelay(3, options, 0.5), 400);
    assert.equal(backoffDelay(30, options, 0.999999), 4_999);
    assert.equal(backoffDelay(1000, options, 0.5), 2_500, "no overflow after many attempts");
    assert.equal(backoffDelay(5, options, 0), 25, "a quarter of the initial delay at least");
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, options)));
    assert.ok(spread.size > 10, "jittered");
  });

  it("reads a JWT's expiry in ms, and none from what is not a JWT", async () => {
    const before = Date.now();
    const expiry = tokenExpiry(await signToken(TEST_SECRET, { user: "u" }, 60));
    assert.ok(expiry !== undefined && expiry >= Math.floor(before / 1000) * 1000 + 60_000 && expiry <= Date.now() + 60_000);
    assert.equal(tokenExpiry("opaque-token"), undefined);
    assert.equal(tokenExpiry("a.!!!.c"), undefined);
  });
});
