import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ConnectionLog } from "../../src/transport/connection-log.ts";
import { RouterClient } from "../../sdk/client.ts";
import { captureLogs, type CapturedLogs } from "../support/backend.ts";
import { TestNode, tokenFor } from "../support/node.ts";

describe("the connection log", () => {
  let logs: CapturedLogs;
  let node: TestNode;
  before(async () => {
    logs = captureLogs("info");
    node = await TestNode.start({ overrides: { logger: logs.logger } });
  });
  after(async () => {
    await node.stop();
  });

  it("follows a connection by its id: opened, hello with user and device, closed with code and duration; never the token", async () => {
    const token = await tokenFor("log-lena", "tablet", node.config.secret);
    const client = await RouterClient.connect({ url: node.url, token, device: "tablet" });
    const hello = await logs.waitFor((line) => line.msg === "connection hello" && line["user"] === "log-lena");
    assert.equal(hello["device"], "tablet");
    const conn = hello["conn"];
    assert.equal(typeof conn, "number");
    const opened = await logs.waitFor((line) => line.msg === "connection opened" && line["conn"] === conn);
    assert.match(String(opened["address"]), /127\.0\.0\.1|::1/);
    await client.close();
    const closed = await logs.waitFor((line) => line.msg === "connection closed" && line["conn"] === conn);
    assert.equal(closed["user"], "log-lena");
    assert.equal(closed["device"], "tablet");
    assert.equal(closed["code"], 1000);
    assert.ok(typeof closed["durationMs"] === "number" && closed["durationMs"] >= 0);
    for (const line of logs.lines) assert.ok(!JSON.stringify(line).includes(token), `the token is never logged: ${line.msg}`);
  });

  it("is rate-limited: beyond its budget lines are counted, and the count is logged when lines flow again", () => {
    const captured = captureLogs("info");
    let now = 0;
    const realNow = performance.now;
    // The budget refills on performance.now(); moved by hand so the test is exact.
    performance.now = () => now;
    try {
      const log = new ConnectionLog(captured.logger, 1, 2);
      for (let i = 0; i < 5; i += 1) log.opened(i, "127.0.0.1");
      now += 1000;
      log.opened(5, "127.0.0.1");
    } finally {
      performance.now = realNow;
    }
    assert.deepEqual(
      captured.lines.map((line) => [line.msg, line["conn"] ?? line["suppressed"]]),
      [["connection opened", 0], ["connection opened", 1], ["connection log lines suppressed", 3], ["connection opened", 5]],
    );
  });
});
