import assert from "node:assert/strict";
import { describe, it } from "node:test";
import pino from "pino";
import { Shutdown } from "../../src/node/shutdown.ts";

/** A logger whose lines the test reads back. */
function recordingLog() {
  const lines: Array<{ msg: string; step?: string; ms?: number }> = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe("shutdown steps", () => {
  it("run newest first, once, each logged with its duration, past a step that fails", async () => {
    const { log, lines } = recordingLog();
    const shutdown = new Shutdown(log);
    const ran: string[] = [];
    shutdown.add({ name: "release lock", run: () => void ran.push("lock") });
    shutdown.add({
      name: "close stores",
      run: () => {
        ran.push("stores");
        throw new Error("disk gone");
      },
    });
    shutdown.add({ name: "stop listening", run: async () => void ran.push("listen") });
    await Promise.all([shutdown.run("stop"), shutdown.run("stop"), shutdown.finished]);
    assert.deepEqual(ran, ["listen", "stores", "lock"]);
    assert.deepEqual(
      lines.filter((line) => line.step).map((line) => [line.step, line.msg, typeof line.ms]),
      [
        ["stop listening", "shutdown step done", "number"],
        ["close stores", "shutdown step failed", "number"],
        ["release lock", "shutdown step done", "number"],
      ],
    );
    assert.equal(lines.at(-1)?.msg, "node stopped");
  });

  it("moves on from a step past its deadline", async () => {
    const { log, lines } = recordingLog();
    const shutdown = new Shutdown(log);
    let released = false;
    shutdown.add({ name: "release lock", run: () => void (released = true) });
    shutdown.add({ name: "let actors finish", deadlineMs: 50, run: () => new Promise(() => {}) });
    await shutdown.run("failed start");
    assert.equal(released, true);
    assert.ok(lines.some((line) => line.step === "let actors finish" && line.msg === "shutdown step overran its deadline"));
    assert.ok(!lines.some((line) => line.msg === "node stopped"), "a failed start is not a stop");
  });
});
