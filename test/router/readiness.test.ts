import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eventually } from "../support/flood.ts";
import { TestNode } from "../support/node.ts";

async function probe(node: TestNode, path: "/healthz" | "/readyz"): Promise<{ code: number; body: { ready?: boolean; reasons?: string[]; status?: string } }> {
  const response = await fetch(`${node.httpUrl}${path}`);
  return { code: response.status, body: (await response.json()) as { ready?: boolean; reasons?: string[]; status?: string } };
}

describe("liveness and readiness", () => {
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  it("answers /healthz while serving and /readyz once the store has answered", async () => {
    const health = await probe(node, "/healthz");
    assert.equal(health.code, 200);
    assert.equal(health.body.status, "ok");
    const ready = await eventually(async () => {
      const answer = await probe(node, "/readyz");
      assert.equal(answer.code, 200, JSON.stringify(answer.body));
      return answer;
    });
    assert.deepEqual(ready.body, { ready: true, reasons: [] });
  });
});
