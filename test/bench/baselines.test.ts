import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { RouterClient } from "../../sdk/client.ts";
import { signToken } from "../../src/auth/tokens.ts";
import type { ReceiptFrame, SentFrame } from "../../src/protocol/frames.ts";
import { ejabberdInstalled } from "../../bench/baselines/ejabberd/ejabberd-process.ts";
import { ScriptProcess } from "../../bench/baselines/script-process.ts";
import { silentProgress } from "../../bench/lib/progress.ts";
import { startEjabberdSystem } from "../../bench/lib/systems.ts";
import { runDirectRamp } from "../../bench/scenarios/direct-ramp.ts";

// The bench's baselines must answer as the bench assumes before any of their numbers mean
// anything. Behaviour only: speed is the bench's business, not a test's.

const CEILING = join(import.meta.dirname, "../../bench/baselines/ceiling/server.ts");

async function ceilingOn(dataDir: string, secret: string): Promise<ScriptProcess> {
  return ScriptProcess.start(CEILING, ["0", secret, dataDir]);
}

async function client(server: ScriptProcess, secret: string, user: string): Promise<RouterClient> {
  return RouterClient.connect({ url: `ws://127.0.0.1:${server.port}/ws`, token: await signToken(secret, { user }, 3600) });
}

describe("the ceiling prototype", () => {
  it("stores a message durably, delivers it, turns the ack into a receipt, and keeps seq and idempotency across a restart", async () => {
    const secret = randomBytes(16).toString("hex");
    const dataDir = mkdtempSync(join(tmpdir(), "ceiling-test-"));
    let server = await ceilingOn(dataDir, secret);
    try {
      const alice = await client(server, secret, "alice");
      const bob = await client(server, secret, "bob");
      const receipt = alice.waitFor((frame): frame is ReceiptFrame => frame.t === "receipt" && frame.user === "bob");
      const sent = (await alice.request({ t: "send", cid: "c1", to: "bob", body: Buffer.from("hi") })) as SentFrame;
      assert.equal(sent.t, "sent");
      assert.equal(sent.chat, "d:alice:bob");
      assert.equal(sent.seq, 1);
      const [delivered] = await bob.waitForMessages(1);
      assert.equal(delivered!.from, "alice");
      assert.equal(delivered!.seq, 1);
      assert.deepEqual(Buffer.from(delivered!.body as Uint8Array), Buffer.from("hi"));
      assert.equal((await receipt).delivered, 1, "bob's ack reached alice as a delivered receipt");
      await Promise.all([alice.close(), bob.close()]);

      await server.stop();
      server = await ceilingOn(dataDir, secret);
      const again = await client(server, secret, "alice");
      const retried = (await again.request({ t: "send", cid: "c1", to: "bob", body: Buffer.from("hi") })) as SentFrame;
      assert.equal(retried.seq, 1, "a retried cid answers with the stored seq, not a new message");
      const next = (await again.request({ t: "send", cid: "c2", to: "bob", body: Buffer.from("again") })) as SentFrame;
      assert.equal(next.seq, 2, "seq continues from the store after a restart");
      await again.close();
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("refuses a hello with a token signed by another secret", async () => {
    const secret = randomBytes(16).toString("hex");
    const dataDir = mkdtempSync(join(tmpdir(), "ceiling-test-"));
    const server = await ceilingOn(dataDir, secret);
    try {
      await assert.rejects(client(server, "not-the-secret", "mallory"), /unauthorized/);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("the ejabberd baseline", () => {
  // `npm test` does not install ejabberd; the bench's own script (bench/baselines/ejabberd/install.sh) does.
  const skip = !ejabberdInstalled()
    ? "ejabberd is not installed (npm run bench -- direct installs it with bench/baselines/ejabberd/install.sh)"
    : process.getuid?.() !== 0
      ? "starting ejabberd as its own user needs root"
      : false;

  it("logs XMPP clients in with stream management and round-trips their messages, each acked", { skip }, async () => {
    const system = await startEjabberdSystem();
    try {
      const ramp = await runDirectRamp(
        system,
        { pairs: 2, processes: 1, rates: [10], stepSeconds: 1, drainMs: 20_000, bodyBytes: 64, p99LimitMs: 60_000, halfRateCheck: false, warmupSeconds: 0 },
        silentProgress,
      );
      assert.equal(ramp.clients, 4);
      const step = ramp.steps[0]!;
      assert.ok(step.sent >= 10, `sent ${step.sent}`);
      assert.equal(step.delivered, step.sent, "every message arrived");
      assert.equal(step.duplicates, 0);
      assert.equal(step.outOfOrder, 0);
      assert.equal(step.ack.count, step.sent, "the server acked every message (XEP-0198)");
      assert.ok(step.serverCpuMsPer1000 >= 0 && step.serverRssKb > 10_000, "ejabberd's VM was measured");
    } finally {
      await system.stop();
    }
  });
});
