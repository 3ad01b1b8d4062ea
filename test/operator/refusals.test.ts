import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, describe, it } from "node:test";
import { verifyToken } from "../../src/auth/tokens.ts";
import { RouterClient } from "../../sdk/client.ts";
import { startNatsServer } from "../support/nats.ts";
import { NodeProcess, TEST_SECRET, tempDir } from "../support/node.ts";
import { freePort } from "../support/ports.ts";
import { RouterRun } from "./router-process.ts";

const run = promisify(execFile);

/** `router node start` on a free port (unless given) with `dataDir` and `args`. */
async function nodeStart(dataDir: string, args: string[] = [], port?: number, env: Record<string, string> = {}): Promise<RouterRun> {
  const listenPort = port ?? (await freePort());
  return RouterRun.start(["node", "start", "--port", String(listenPort), "--data", dataDir, "--log-level", "info", ...args], env);
}

describe("operator mistakes the node refuses", () => {
  const dirs: string[] = [];
  const runs: RouterRun[] = [];
  const nodes: NodeProcess[] = [];
  const dir = () => {
    const made = tempDir();
    dirs.push(made);
    return made;
  };
  after(async () => {
    for (const routerRun of runs) await routerRun.kill();
    for (const node of nodes) await node.kill();
    for (const made of dirs) rmSync(made, { recursive: true, force: true });
  });

  it("a second node on a port in use exits at once, saying so", async () => {
    const first = await NodeProcess.start(dir());
    nodes.push(first);
    const second = await nodeStart(dir(), ["--secret", TEST_SECRET], first.port);
    runs.push(second);
    // Before: SO_REUSEPORT let it listen too, and the kernel split connections between the two.
    assert.notEqual(await second.outcome, "listening", "the second node listened on a port in use");
    assert.notEqual(await second.exited, 0);
    assert.match(second.stderr, new RegExp(`port ${first.port} is in use`));
  });

  it("a second node on a data directory in use is refused with the pid; after SIGKILL the directory is free", async () => {
    const dataDir = dir();
    const first = await NodeProcess.start(dataDir);
    const second = await nodeStart(dataDir, ["--secret", TEST_SECRET]);
    runs.push(second);
    try {
      assert.notEqual(await second.outcome, "listening", "the second node opened a data directory in use");
      assert.notEqual(await second.exited, 0);
      assert.ok(
        second.stderr.includes(`data directory ${dataDir} is in use by pid ${first.child.pid}`),
        `stderr: ${second.stderr}`,
      );
    } finally {
      await first.kill("SIGKILL");
    }
    // The dead node's lock file is left behind; its pid is gone, so the next node takes it over.
    const third = await NodeProcess.start(dataDir);
    nodes.push(third);
    const client = await third.connect("after-kill");
    await client.close();
  });

  it("a cluster without the shared store is refused, naming --scylla and --redis", async () => {
    // Nothing listens on this NATS URL: the refusal comes before any connection is tried.
    const refused = await nodeStart(dir(), ["--secret", TEST_SECRET, "--nats", `nats://127.0.0.1:${await freePort()}`]);
    runs.push(refused);
    assert.equal(await refused.outcome, 2);
    assert.match(refused.stderr, /--scylla/);
    assert.match(refused.stderr, /--redis/);
    assert.equal(refused.stderr.trim().split("\n").length, 1, `one line: ${refused.stderr}`);
  });

  it("--unsafe-local-store-cluster runs a cluster on LMDB with a warning at every start", async () => {
    const nats = await startNatsServer();
    try {
      for (const how of ["flag", "environment"] as const) {
        const args = ["--secret", TEST_SECRET, "--nats", nats.url, "--cluster-prefix", `unsafe${process.pid}`];
        const node =
          how === "flag"
            ? await nodeStart(dir(), [...args, "--unsafe-local-store-cluster"])
            : await nodeStart(dir(), args, undefined, { ROUTER_UNSAFE_LOCAL_STORE_CLUSTER: "true" });
        runs.push(node);
        assert.equal(await node.outcome, "listening", `${how}: ${node.stderr}`);
        const warning = node.lines.find((line) => line.includes("unsafe local store cluster"));
        assert.ok(warning, `${how}: no warning in ${node.lines.join("\n")}`);
        assert.equal(JSON.parse(warning).level, 40);
        await node.kill("SIGTERM");
      }
    } finally {
      await nats.stop();
    }
    const { stdout } = await run(process.execPath, ["bin/router.mjs", "help"], { encoding: "utf8" });
    assert.match(stdout, /--unsafe-local-store-cluster[\s\S]*LOSES acknowledged messages/);
  });

  it("--secret-file gives the node its secret, and router token signs with the same file", async () => {
    const secretDir = dir();
    const secretFile = join(secretDir, "token-secret");
    const secret = "file-secret-0123456789abcdef0123456789abcdef";
    writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
    const dataDir = dir();
    const node = await nodeStart(dataDir, ["--secret-file", secretFile]);
    runs.push(node);
    assert.equal(await node.outcome, "listening", node.stderr);
    const port = Number(JSON.parse(node.lines.find((line) => line.includes('"node listening"'))!).port);

    const { stdout } = await run(process.execPath, ["bin/router.mjs", "token", "--user", "filed", "--secret-file", secretFile], { encoding: "utf8" });
    const token = stdout.trim();
    assert.equal((await verifyToken(secret, token)).user, "filed");
    const client = await RouterClient.connect({ url: `ws://127.0.0.1:${port}/ws`, token });
    await client.close();

    // ROUTER_SECRET_FILE does the same for `router token`.
    const fromEnv = await run(process.execPath, ["bin/router.mjs", "token", "--user", "filed"], {
      encoding: "utf8",
      env: { ...process.env, ROUTER_SECRET: "", ROUTER_SECRET_FILE: secretFile },
    });
    assert.equal((await verifyToken(secret, fromEnv.stdout.trim())).user, "filed");
  });

  it("router token on a data directory without a secret exits 2, saying where it looked", async () => {
    const empty = dir();
    const refused = await run(process.execPath, ["bin/router.mjs", "token", "--user", "nobody", "--data", empty], {
      encoding: "utf8",
      env: { ...process.env, ROUTER_SECRET: "", ROUTER_SECRET_FILE: "" },
    }).then(
      () => assert.fail("router token signed without a secret"),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`^router: no secret in ${empty}: `));
  });
});
