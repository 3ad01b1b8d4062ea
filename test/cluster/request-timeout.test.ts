import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Ring } from "../../src/cluster/ring.ts";
import { chatKey, userKey } from "../../src/cluster/routing.ts";
import { directChatId } from "../../src/protocol/frames.ts";
import { RequestError } from "../../sdk/client.ts";
import { ClusterBackend } from "../support/cluster.ts";
import type { NodeProcess } from "../support/node.ts";

const REQUEST_TIMEOUT_MS = 1500;

/**
 * Two node processes; one freezes (SIGSTOP) while holding a chat's actor. Until the others
 * notice (three missed beats, 3 s), requests for that chat go to it and are never answered:
 * the node the client reached answers `timeout` at its deadline instead of leaving it waiting.
 */
describe("a request whose actor's node froze", () => {
  let backend: ClusterBackend;
  const nodes: NodeProcess[] = [];

  before(async () => {
    backend = await ClusterBackend.start(`rt${process.pid}`);
    for (let i = 0; i < 2; i += 1) {
      nodes.push(await backend.startProcess(`frozen-${i}`, `127.0.0.${i + 2}`, { ROUTER_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) }));
    }
  });
  after(async () => {
    for (const node of nodes) {
      node.child.kill("SIGCONT");
      await node.kill("SIGKILL");
    }
    await backend.stop();
  });

  it("is answered timeout at the deadline, and the connection goes on", async () => {
    const ring = Ring.of(["frozen-0", "frozen-1"]);
    const user = Array.from({ length: 200 }, (_, i) => `asker${i}`).find(
      (u) => ring.ownerOf(userKey(u)) === "frozen-0" && ring.ownerOf(chatKey(directChatId(u, "silent"))) === "frozen-1",
    )!;
    await backend.waitForRing(["frozen-0", "frozen-1"]);
    const asker = await nodes[0]!.connect(user);
    // A request for the other node's chat is answered while that node runs.
    const history = { t: "history", chat: directChatId(user, "silent") };
    assert.equal((await asker.request(history)).t, "history");

    nodes[1]!.child.kill("SIGSTOP");
    const startedAt = Date.now();
    const refused = await asker.request(history).then(
      () => assert.fail("answered by a frozen node"),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof RequestError, String(refused));
    assert.equal(refused.code, "timeout");
    assert.ok(Date.now() - startedAt >= REQUEST_TIMEOUT_MS - 100, "not before the deadline");
    assert.equal((await asker.request({ t: "ping" })).t, "pong");
    await asker.close();
  });
});
