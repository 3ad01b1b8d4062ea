import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { verifyToken } from "../../src/auth/tokens.ts";
import { tempDir } from "../support/node.ts";
import { freePort } from "../support/ports.ts";
import { RouterRun } from "../operator/router-process.ts";
import { assertOneLine, few, router } from "./run.ts";

const FILE_SECRET = "secret-from-the-config-file-0123456789abcdef";

/** `--check`'s table as setting → [value, source]. */
function checked(stdout: string): Map<string, [string, string]> {
  const rows = new Map<string, [string, string]>();
  for (const line of stdout.split("\n").slice(3)) {
    const [setting, value, from] = line.split(/\s{2,}/);
    if (setting && value && from) rows.set(setting, [value, from]);
  }
  return rows;
}

describe("router --config: a settings file under the environment and the flags", () => {
  const dir = tempDir();
  const runs: RouterRun[] = [];
  after(async () => {
    for (const run of runs) await run.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("a started node: the file's port loses to ROUTER_PORT, the file's log level to --log-level", async () => {
    const [filePort, envPort] = [await freePort(), await freePort()];
    const data = join(dir, "node-data");
    const config = file(
      "node.yaml",
      `port: ${filePort}\nlogLevel: warn\ndataDir: ${data}\nsecret: ${FILE_SECRET}\nnodeId: from-the-file\n`,
    );
    const node = RouterRun.start(["node", "start", "--config", config, "--log-level", "info"], { ROUTER_PORT: String(envPort) });
    runs.push(node);
    // "node listening" is logged at info: it shows at all only because the flag beat the file's warn.
    assert.equal(await node.outcome, "listening", `stderr: ${node.stderr}\n${node.lines.join("\n")}`);
    const listening = JSON.parse(node.lines.find((line) => line.includes('"node listening"'))!) as Record<string, unknown>;
    assert.equal(listening.port, envPort);
    assert.equal(listening.dataDir, data);
    assert.equal(listening.node, "from-the-file");
    await node.kill("SIGTERM");
  });

  it("--check names where every setting came from, hides secrets, and starts nothing", async () => {
    const nodeIdFile = file("node-id", "node-from-a-file\n");
    const config = file(
      "check.yaml",
      [
        "port: 7101",
        "host: 0.0.0.0",
        "logLevel: warn",
        `secret: ${FILE_SECRET}`,
        `nodeIdFile: ${nodeIdFile}`,
        "storage:",
        "  keyspace: from_file",
        "calls:",
        "  turn:",
        "    urls: turn:turn.example:3478",
        "",
      ].join("\n"),
    );
    const secretFile = file("env-secret", `${FILE_SECRET}-env\n`);
    const run = await router(["node", "start", "--check", "--log-level", "debug", "--keyspace", "from_flag"], {
      // The environment gives the secret as a file: the file's `secret` no longer counts.
      env: { ROUTER_CONFIG: config, ROUTER_PORT: "7102", ROUTER_SECRET_FILE: secretFile },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^settings are valid\n/);
    const rows = checked(run.stdout);
    assert.deepEqual(rows.get("port"), ["7102", "ROUTER_PORT"]);
    assert.deepEqual(rows.get("host"), ["0.0.0.0", config]);
    assert.deepEqual(rows.get("logLevel"), ["debug", "--log-level"]);
    assert.deepEqual(rows.get("storage.keyspace"), ["from_flag", "--keyspace"]);
    assert.deepEqual(rows.get("nodeId"), ["node-from-a-file", config]);
    assert.deepEqual(rows.get("calls.turn.urls"), ["turn:turn.example:3478", config]);
    assert.deepEqual(rows.get("secretFile"), [secretFile, "ROUTER_SECRET_FILE"]);
    assert.equal(rows.has("secret"), false, run.stdout);
    assert.doesNotMatch(run.stdout, new RegExp(FILE_SECRET));

    // A value is the text written, never YAML's reading of it as a number.
    const numeric = await router(["node", "start", "--check", "--config", file("numeric.yaml", "nodeId: 0x1F\nport: 7070\n")]);
    assert.equal(numeric.code, 0, numeric.stderr);
    assert.equal(checked(numeric.stdout).get("nodeId")?.[0], "0x1F");

    const hidden = await router(["node", "start", "--check", "--config", config]);
    assert.equal(hidden.code, 0, hidden.stderr);
    assert.deepEqual(checked(hidden.stdout).get("secret"), ["(hidden)", config]);
    assert.doesNotMatch(hidden.stdout, new RegExp(FILE_SECRET));
  });

  it("a key the settings lack is refused, naming it; so is a value that is not one", async () => {
    const cases: Array<[string, RegExp]> = [
      ["prot: 7070\n", /unknown setting prot \(see router help config\)$/],
      ["storage:\n  scyla: db-1\n", /unknown setting storage\.scyla /],
      ["ROUTER_PORT: 7070\n", /unknown setting ROUTER_PORT /],
      ["port: [7070]\n", /port must be a single value/],
      ["storage: db-1\n", /storage holds settings/],
      ["- port\n", /must be a map of settings/],
      ["port: 7070\nport: 7071\n", /is not valid YAML \(line 2\): Map keys must be unique/],
      ["port: seventy\n", /port must be a non-negative number/],
      ["port:\n", /port has no value/],
    ];
    const runs = await few(cases.map(([text], i) => ({ text, i })), ({ text, i }) => router(["node", "start", "--check", "--config", file(`bad-${i}.yaml`, text)]));
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 2, `${cases[i]![0]}: ${run.stderr}`);
      assertOneLine(run, cases[i]![1]);
      assert.match(run.stderr, /^router: (config file .*bad-\d\.yaml|port must)/);
    }
    const missing = await router(["node", "start", "--config", join(dir, "absent.yaml")]);
    assert.equal(missing.code, 2);
    assertOneLine(missing, /^router: config file .*absent\.yaml cannot be read: ENOENT$/);
  });

  it("router token and the cluster commands read it too", async () => {
    const nats = `nats://127.0.0.1:${await freePort()}`;
    const config = file("tools.yaml", `secret: ${FILE_SECRET}\ncluster:\n  nats: ${nats}\n`);
    const [token, status] = await Promise.all([
      router(["token", "--user", "alice", "--config", config]),
      router(["cluster", "status", "--config", config]),
    ]);
    assert.equal(token.code, 0, token.stderr);
    assert.equal((await verifyToken(FILE_SECRET, token.stdout.trim())).user, "alice");
    assert.equal(status.code, 1);
    assertOneLine(status, new RegExp(`^router: cannot connect to NATS at ${nats}`));
  });
});
