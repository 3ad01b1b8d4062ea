import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { finishVerification, startVerification } from "../../sdk/accounts.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { TestNode } from "../support/node.ts";
import { FakeSms, TWILIO_INVALID_NUMBER } from "./fake-sms.ts";
import { CapturedLog, freshPhone, post } from "./helpers.ts";

describe("sign-up through Twilio's Messages API", () => {
  let node: TestNode;
  const sms = new FakeSms();
  const PER_ADDRESS = 6;

  before(async () => {
    await sms.start();
    node = await TestNode.start({
      config: (c) => {
        c.signup.sender = "twilio";
        c.signup.twilio = { url: sms.url, accountSid: sms.accountSid, authToken: sms.authToken, from: sms.from, messagingServiceSid: "" };
        c.signup.requestsPerAddress = PER_ADDRESS;
      },
    });
  });

  after(async () => {
    await node.stop();
    await sms.stop();
  });

  it("posts the code form-encoded with Basic auth to the account's Messages.json, and the code signs in", async () => {
    const phone = freshPhone();
    await startVerification(node.httpUrl, phone);
    const text = await sms.next(phone);
    assert.deepEqual(sms.refusals, []);
    assert.equal(text.via, "twilio");
    assert.deepEqual(Object.keys(text.form ?? {}).sort(), ["Body", "From", "To"]);
    assert.equal(text.form?.From, sms.from);
    assert.equal(text.form?.To, phone);
    assert.match(text.text, /verification code is [0-9]{6}\b/);
    const session = await finishVerification(node.httpUrl, phone, text.code);
    assert.equal(session.new_user, true);
  });

  it("answers 400 invalid_phone when Twilio refuses the number", async () => {
    const answer = await post(node.httpUrl, "/v1/verify/start", { phone: TWILIO_INVALID_NUMBER });
    assert.deepEqual([answer.status, answer.body.error], [400, "invalid_phone"]);
  });

  // Last: it spends this address's budget.
  it("limits sign-up requests per source address: 429 with Retry-After, whatever the phone", async () => {
    const statuses: number[] = [];
    let limited;
    for (let i = 0; i <= PER_ADDRESS && !limited; i += 1) {
      const answer = await post(node.httpUrl, "/v1/verify/start", { phone: freshPhone() });
      if (answer.status === 429) limited = answer;
      else statuses.push(answer.status);
    }
    assert.ok(limited, `no 429 within ${PER_ADDRESS + 1} requests from one address`);
    assert.ok(statuses.every((status) => status === 202), `before the limit: ${statuses.join(",")}`);
    assert.equal(limited.body.error, "rate_limited");
    assert.ok(Number(limited.retryAfter) >= 1, `Retry-After ${limited.retryAfter}`);
  });
});

describe("the log SMS sender, and codes that expire", () => {
  let node: TestNode;
  const log = new CapturedLog("info");
  const TTL_MS = 1000;
  const clock = new ManualClock();

  before(async () => {
    node = await TestNode.start({
      config: (c) => {
        c.signup.sender = "log";
        c.signup.codeTtlMs = TTL_MS;
      },
      overrides: { logger: log.logger, clock },
    });
  });

  after(async () => {
    await node.stop();
  });

  it("writes the code to the log at warn level, and a code past its time is refused with 410", async () => {
    const phone = freshPhone();
    const started = await startVerification(node.httpUrl, phone);
    assert.equal(started.expires_in, 1);
    const line = await log.next((l) => l.to === phone && typeof l.code === "string");
    assert.equal(line.level, 40);
    const code = String(line.code);
    assert.match(code, /^[0-9]{6}$/);
    // Only the sender's deliberate line carries the code.
    assert.equal(log.containing(code).length, 1);
    // The code's lifetime is read on the node's clock: move it to the moment the code ends.
    clock.advance(TTL_MS);
    const answer = await post(node.httpUrl, "/v1/verify/finish", { phone, code });
    assert.deepEqual([answer.status, answer.body.error], [410, "code_expired"]);
  });
});
