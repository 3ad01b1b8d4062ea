import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { directChatId } from "../../src/protocol/frames.ts";
import { RouterClient } from "../../sdk/client.ts";
import { compiledRouterArgs } from "../support/compiled-router.ts";
import { TEST_SECRET, tempDir, tokenFor } from "../support/node.ts";
import { freePort } from "../support/ports.ts";

const root = join(import.meta.dirname, "..", "..");

/**
 * `npm run build` makes a dist/ that runs on plain node, without tsx: built into a folder of
 * this test's own (inside the checkout, so node_modules resolve), then started as a node.
 */
describe("the compiled build", () => {
  const out = join(root, ".cache", `build-test-${process.pid}`);
  const dataDir = tempDir();

  before(() => {
    const build = spawnSync(process.execPath, ["scripts/build.mjs", "--out", out], { cwd: root, encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
  });
  after(() => {
    rmSync(out, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("holds the CQL migrations and source maps beside the code", () => {
    const built = readdirSync(join(out, "src", "storage", "cql", "migrations"));
    const sources = readdirSync(join(root, "src", "storage", "cql", "migrations"));
    assert.deepEqual(built.sort(), sources.sort());
    assert.ok(existsSync(join(out, "src", "node.js.map")));
  });

  it("holds the demo's page and the SDK's browser build", () => {
    assert.ok(existsSync(join(out, "src", "demo", "static", "index.html")));
    assert.ok(existsSync(join(out, "sdk", "dist", "index.js")));
  });

  it("runs a node on plain node that carries a message", async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [...compiledRouterArgs(out), ...["node", "start", "--port", String(port), "--data", dataDir, "--secret", TEST_SECRET, "--log-level", "info"]],
      // The demo on: its page and the SDK come from the build, with no sources to compile.
      { cwd: root, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ROUTER_DEMO: "1" } },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      let stderr = "";
      child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: child.stdout! }).on("line", (line) => {
          if (line.includes('"node listening"')) resolve();
        });
        void exited.then((code) => reject(new Error(`built node exited with ${code} before listening: ${stderr}`)));
      });
      for (const path of ["/demo", "/demo/app.js", "/demo/sdk/index.js", "/demo/vendor/msgpackr/index.js"]) {
        assert.equal((await fetch(`http://127.0.0.1:${port}${path}`)).status, 200, path);
      }
      const url = `ws://127.0.0.1:${port}/ws`;
      const alice = await RouterClient.connect({ url, token: await tokenFor("alice") });
      const bob = await RouterClient.connect({ url, token: await tokenFor("bob") });
      const sent = await alice.send("bob", "from the build");
      const [received] = await bob.waitForMessages(1, directChatId("alice", "bob"));
      assert.equal(received?.seq, sent.seq);
      assert.equal(received?.body, "from the build");
      await Promise.all([alice.close(), bob.close()]);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });
});
