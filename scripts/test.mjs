#!/usr/bin/env node
// `npm test`: type-check, then every test file under test/ with node's own runner, then the
// behaviour suites (test/router/, test/push/, test/media/, test/accounts/) a second time on the cluster backend
// (CQL + Redis).
// Shared, slow-to-start servers (Cassandra) are started here once per run and handed to
// the test files through the environment; so is the cluster pass's Redis, which its nodes
// share under their own key prefixes. Other tests start their own Redis and NATS.
//
//   node scripts/test.mjs                       every test file, then the behaviour suites on cql
//   node scripts/test.mjs test/storage/x.test.ts  just these (and, if a behaviour suite's, on cql too)
//   ROUTER_TEST_BACKEND=cql node scripts/test.mjs test/router/x.test.ts  only on that backend
//   ROUTER_TEST_CQL=host:port node scripts/test.mjs  use that Cassandra instead of starting one
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { tsImport } from "tsx/esm/api";
import { behaviourSuites, lmdbBound } from "./test-passes.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
// A test file that mentions these gets a Cassandra; runs without one skip its start-up cost.
const USES_CASSANDRA = /ROUTER_TEST_CQL|testCqlContactPoint|support\/cassandra|support\/cluster\.ts/;
const BACKENDS = ["lmdb", "cql"];

function testFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

function say(line) {
  process.stderr.write(`test: ${line}\n`);
}

function ensureServices() {
  const result = spawnSync("bash", [join(root, "scripts", "ensure-services.sh")], { stdio: "inherit" });
  if (result.status !== 0) throw new Error("scripts/ensure-services.sh failed: the test servers' binaries are missing");
}

async function startCassandra() {
  const { startCassandra: start } = await tsImport("../test/support/cassandra.ts", import.meta.url);
  const startedAt = performance.now();
  const node = await start({ log: say });
  say(`cassandra ready at ${node.contactPoint} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
  return node;
}

function runTests(files, env) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=300000", ...files],
    { cwd: root, stdio: "inherit", env },
  );
  return {
    child,
    done: new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)))),
  };
}

async function startRedis() {
  const { startRedisServer } = await tsImport("../test/support/redis.ts", import.meta.url);
  return startRedisServer();
}

let cassandra;
let redis;
let tests;
let interrupted = false;

async function stopCassandra() {
  const node = cassandra;
  cassandra = undefined;
  if (!node) return;
  const stoppingAt = performance.now();
  await node.stop();
  say(`cassandra stopped in ${((performance.now() - stoppingAt) / 1000).toFixed(1)} s`);
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: stop waiting for anything
    interrupted = true;
    say(`${signal}: stopping`);
    if (tests) {
      // main() stops Cassandra once the test process is gone.
      tests.child.kill(signal);
    } else {
      // Cassandra may still be starting: exiting runs test/support/cassandra.ts's exit hook,
      // which kills its JVM.
      void stopCassandra().finally(() => process.exit(130));
    }
  });
}

/** The passes to run: every file on LMDB, then the behaviour tests again on CQL + Redis. */
function plan(files, explicit) {
  const forced = process.env.ROUTER_TEST_BACKEND;
  if (forced && !BACKENDS.includes(forced)) throw new Error(`ROUTER_TEST_BACKEND=${forced}: expected ${BACKENDS.join(" or ")}`);
  const passes = [];
  if (!forced || forced === "lmdb") passes.push({ backend: "lmdb", files });
  if (!forced || forced === "cql") {
    // Files named on the command line with the backend forced run as named.
    const candidates = forced && explicit ? files : behaviourSuites(root, files);
    const bound = lmdbBound(candidates);
    if (bound.length > 0) say(`cql pass skips (they build LMDB stores themselves): ${bound.map((file) => relative(root, file)).join(", ")}`);
    const clusterFiles = candidates.filter((file) => !bound.includes(file));
    if (clusterFiles.length > 0) passes.push({ backend: "cql", files: clusterFiles });
  }
  return passes;
}

async function main() {
  const only = process.argv.slice(2);
  const files = only.length > 0 ? only.map((file) => resolve(file)) : testFiles(join(root, "test")).sort();
  ensureServices();
  const passes = plan(files, only.length > 0);
  const env = { ...process.env };
  const needsCassandra = passes.some(
    (pass) => pass.backend === "cql" || pass.files.some((file) => USES_CASSANDRA.test(readFileSync(file, "utf8"))),
  );
  if (needsCassandra && !env.ROUTER_TEST_CQL) {
    cassandra = await startCassandra();
    env.ROUTER_TEST_CQL = cassandra.contactPoint;
  }
  let worst = 0;
  for (const pass of passes) {
    if (interrupted) return 130;
    const passEnv = { ...env, ROUTER_TEST_BACKEND: pass.backend };
    if (pass.backend === "cql" && !env.ROUTER_TEST_REDIS) {
      redis = await startRedis();
      passEnv.ROUTER_TEST_REDIS = redis.url;
    }
    say(`${pass.backend} pass: ${pass.files.length} files`);
    const startedAt = performance.now();
    tests = runTests(pass.files, passEnv);
    const status = await tests.done;
    tests = undefined;
    say(`${pass.backend} pass: ${status === 0 ? "passed" : "FAILED"} in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
    await stopRedis();
    worst = Math.max(worst, status);
  }
  return interrupted ? 130 : worst;
}

async function stopRedis() {
  const server = redis;
  redis = undefined;
  await server?.stop();
}

let status = 1;
try {
  status = await main();
} catch (error) {
  say(error instanceof Error ? (error.stack ?? error.message) : String(error));
  status = 1;
} finally {
  await stopRedis().catch(() => undefined);
  await stopCassandra().catch((error) => {
    say(`cassandra did not stop cleanly: ${error instanceof Error ? error.message : String(error)}`);
    status = 1;
  });
}
process.exit(status);
