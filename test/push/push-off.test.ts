import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import pino from "pino";
import { defaultPushConfig } from "../../src/config/push.ts";
import type { ErrorFrame } from "../../src/protocol/frames.ts";
import { PushService } from "../../src/push/service.ts";
import { openLmdbStores } from "../../src/storage/lmdb/lmdb-stores.ts";
import { ManualClock } from "../../src/util/clock.ts";
import { tempDir } from "../support/node.ts";

// Its own file: it opens LMDB stores itself, which keeps a file out of the CQL pass
// (scripts/test.mjs), and push.test.ts must run there too.
describe("push on a node with no provider enabled", () => {
  it("tracks no message and takes no registration: nothing could ever be pushed", async () => {
    const dir = tempDir("router-push-off-");
    const stores = openLmdbStores({ path: join(dir, "lmdb") });
    try {
      const service = new PushService({ config: defaultPushConfig(), store: stores.push, cursors: stores.cursors, log: pino({ level: "silent" }), clock: new ManualClock() });
      assert.equal(service.scheduler, undefined);
      const answer = await service.handle("ann", "phone", { t: "push.register", r: 1, platform: "webhook", token: "t" });
      assert.deepEqual([answer.t, (answer as ErrorFrame).code], ["err", "invalid_field"]);
      assert.deepEqual(await stores.push!.registrations("ann"), []);
    } finally {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
