import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DB_FLAGS, NODE_FLAGS } from "../../src/cli/main.ts";
import { ENVIRONMENT_TABLE } from "../../src/config.ts";
import { startNatsServer, type NatsServer } from "../support/nats.ts";
import { tempDir } from "../support/node.ts";
import { freePort } from "../support/ports.ts";
import { assertOneLine, few, inProcess, router } from "./run.ts";

const COMMANDS: Record<string, string[]> = {
  "node start": [...Object.keys(NODE_FLAGS), "config", "unsafe-local-store-cluster", "check"],
  "node drain": ["nats", "prefix", "config"],
  "db migrate": [...Object.keys(DB_FLAGS), "config"],
  token: ["user", "device", "ttl", "secret", "secret-file", "data", "config"],
  "token revoke": ["user", "device", "data", "redis", "config"],
  "cluster status": ["nats", "prefix", "json", "config"],
  "cluster ring": ["nats", "prefix", "json", "config"],
  "cluster where": ["nats", "prefix", "json", "config"],
};

describe("router: version, help and usage errors", () => {
  it("--version and version print the package's version on one line", async () => {
    const { version } = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    for (const args of [["--version"], ["version"]]) {
      const run = await router(args);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, `router ${version} (Node.js ${process.version})\n`);
    }
  });

  it("router help lists every command; help <command>, <command> --help and -h print its flags with their variables", async () => {
    const overview = await router(["help"]);
    assert.equal(overview.code, 0);
    for (const command of Object.keys(COMMANDS)) assert.match(overview.stdout, new RegExp(`^  router ${command} `, "m"));
    const spawned = await router(["token", "revoke", "--help"]);
    assert.equal(spawned.code, 0, spawned.stderr);
    assert.match(spawned.stdout, /^Usage: router token revoke /);

    for (const [command, flags] of Object.entries(COMMANDS)) {
      const words = command.split(" ");
      const help = await inProcess(["help", ...words]);
      const dashed = await inProcess([...words, "--help"]);
      assert.equal(help.code, 0, `router help ${command}: ${help.stderr}`);
      assert.equal(dashed.code, 0, `router ${command} --help: ${dashed.stderr}`);
      assert.equal(dashed.stdout, help.stdout, `router ${command} --help and router help ${command} differ`);
      assert.match(help.stdout, new RegExp(`^Usage: router ${command} `));
      for (const flag of flags) assert.match(help.stdout, new RegExp(`^  --${flag}\\b`, "m"), `${command}: --${flag} missing from its help`);
      assert.equal(dashed.stderr, "");
    }
    const config = await inProcess(["help", "config"]);
    assert.equal(config.code, 0);
    for (const [variable, key] of Object.entries(ENVIRONMENT_TABLE)) {
      assert.match(config.stdout, new RegExp(`^${variable}\\s+${key.replaceAll(".", "\\.")}$`, "m"), `${variable} missing from router help config`);
    }
    const short = await inProcess(["node", "start", "-h", "--port", "1"]);
    assert.equal(short.code, 0);
    assert.match(short.stdout, /--port P .*\[ROUTER_PORT\]/);
    assert.match(short.stdout, /--secret-file PATH .*\[ROUTER_SECRET_FILE\]/);
  });

  it("an unknown flag, a missing value or an unknown command is one line and exit 2", async () => {
    for (const command of Object.keys(COMMANDS)) {
      const run = await inProcess([...command.split(" "), "--bogus", "x"]);
      assert.equal(run.code, 2, `${command}: ${run.stderr}`);
      assertOneLine(run, new RegExp(`^router: unknown flag --bogus for ${command} \\(see router help ${command}\\)$`));
    }
    const cases: Array<[string[], RegExp]> = [
      [["node", "start", "--port"], /^router: --port for node start needs a value: --port P \(see router help node start\)$/],
      [["node", "start", "--port", "--host", "x"], /needs a value/],
      [["node", "start", "--check=yes"], /^router: --check for node start takes no value/],
      [["node", "start", "-x"], /^router: unknown flag -x for node start/],
      [["node", "start", "extra"], /^router: unexpected argument extra for node start/],
      [["node", "start", "--port", "1", "--port", "2"], /^router: --port given twice for node start$/],
      [["node", "start", "--port", "http"], /^router: port must be a non-negative number/],
      [["frobnicate"], /^router: unknown command frobnicate \(see router help\)$/],
      [["cluster"], /^router: cluster needs a subcommand: status, ring, where \(see router help cluster\)$/],
      [["help", "frobnicate"], /^router: no help on frobnicate/],
    ];
    for (const [args, pattern] of cases) {
      const run = await inProcess(args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assertOneLine(run, pattern);
    }
    // As processes: exit code 2, and nothing of Node's own on stderr.
    const spawned = await few(
      [
        ["db", "migrate", "--bogus"],
        ["cluster", "status", "--nats"],
        ["frobnicate"],
      ],
      (args) => router(args),
    );
    for (const run of spawned) {
      assert.equal(run.code, 2, run.stderr);
      assertOneLine(run, /^router: (unknown flag --bogus for db migrate|--nats for cluster status needs a value|unknown command frobnicate)/);
    }
  });
});

describe("router node start: a data directory it cannot write", () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("a regular file in the path (ENOTDIR): one line, exit 1", async () => {
    const dir = tempDir();
    dirs.push(dir);
    writeFileSync(join(dir, "file"), "");
    const data = join(dir, "file", "data");
    const run = await router(["node", "start", "--data", data, "--port", String(await freePort())]);
    assert.equal(run.code, 1, run.stderr);
    assertOneLine(run, new RegExp(`^router: data directory ${data} is not writable: ENOTDIR$`));
  });

  it("a directory the user may not write (EACCES): one line, exit 1", async (t) => {
    // Permission bits do not stop root: as root the node runs as nobody (65534) under a
    // directory root owns; as anyone else, under a directory of its own made read-only.
    const root = process.getuid?.() === 0;
    // The probe runs the router itself: a checkout under a directory only root may enter (a
    // fresh clone in `mktemp -d`) can be read relative to the working directory, but not by
    // the absolute path node resolves its entry point to.
    if (root && spawnSync(process.execPath, ["bin/router.mjs", "--version"], { uid: 65534, gid: 65534 }).status !== 0) {
      t.skip("running as root, and user nobody cannot read this checkout to run the router as someone else");
      return;
    }
    const dir = tempDir();
    dirs.push(dir);
    chmodSync(dir, root ? 0o755 : 0o500);
    const data = join(dir, "data");
    const run = await router(["node", "start", "--data", data, "--port", String(await freePort())], root ? { uid: 65534 } : {});
    assert.equal(run.code, 1, run.stderr);
    assertOneLine(run, new RegExp(`^router: data directory ${data} is not writable: EACCES$`));
  });
});

describe("router cluster commands without a cluster", () => {
  let nats: NatsServer;
  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    await nats.stop();
  });

  it("a NATS where no router node answers, or none at all: one line, exit 1", async () => {
    const prefix = `nobody${process.pid}`;
    const runs = await few(
      [
        ["cluster", "status"],
        ["cluster", "ring"],
        ["cluster", "where", "alice"],
      ],
      (args) => router([...args, "--nats", nats.url, "--prefix", prefix]),
    );
    for (const run of runs) {
      assert.equal(run.code, 1, run.stderr);
      assertOneLine(run, new RegExp(`^router: no router node answered on ${prefix}\\.admin at ${nats.url}$`));
    }
    // The prefix from the environment, as nodes take it.
    const fromEnvironment = await router(["cluster", "status", "--nats", nats.url], { env: { ROUTER_CLUSTER_PREFIX: prefix } });
    assertOneLine(fromEnvironment, new RegExp(`on ${prefix}\\.admin`));

    const unreachable = `nats://127.0.0.1:${await freePort()}`;
    const down = await router(["cluster", "status", "--nats", unreachable]);
    assert.equal(down.code, 1, down.stderr);
    assertOneLine(down, new RegExp(`^router: cannot connect to NATS at ${unreachable}`));
  });
});
