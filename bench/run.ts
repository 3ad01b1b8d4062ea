/**
 * npm run bench -- <scenario...|all|report> [flags]
 *
 *   connections  direct  hot-chat  reconnect  group  cluster
 *   all          every scenario, one after the other (about half an hour)
 *   report       only rewrite bench/results/REPORT.md from the JSON already there
 *
 *   --quick            smaller numbers and coarser rate steps: direct with every baseline in a few minutes
 *   --pairs N          direct, cluster: number of chatting pairs (default 1000)
 *   --step-seconds S   seconds per load step
 *   --rates R1,R2,...  direct, cluster: the offered rates to ramp through (messages per second)
 *   --no-baselines     direct: skip the baseline runs (ceiling prototype, plain relay, NATS, ejabberd)
 *   --no-ejabberd      direct: skip only ejabberd (its install script needs root and apt-get)
 *   --no-profile       direct: skip the CPU-profiled run
 *   --scylla HOSTS --redis URL   direct: also run against the CQL + Redis backend;
 *                      cluster: run the nodes on it (either one alone: the bench starts the other)
 *   --cql              cluster: run the nodes on a CQL + Redis backend the bench starts itself
 *                      (Cassandra and redis-server on free ports, stopped at the end)
 *   --out DIR          where JSON and REPORT.md go (default bench/results)
 */
import { parseArgs } from "node:util";
import { terminalProgress } from "./lib/progress.ts";
import { makeRecord, RESULTS_DIR, writeRecord } from "./lib/results.ts";
import { writeReport } from "./report/report.ts";
import { SCENARIOS, type CommonFlags } from "./scenarios/index.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    pairs: { type: "string" },
    "step-seconds": { type: "string" },
    rates: { type: "string" },
    "no-baselines": { type: "boolean", default: false },
    "no-ejabberd": { type: "boolean", default: false },
    "no-profile": { type: "boolean", default: false },
    scylla: { type: "string" },
    redis: { type: "string" },
    cql: { type: "boolean", default: false },
    out: { type: "string" },
    help: { type: "boolean", default: false },
  },
});

const usage = `usage: npm run bench -- <${SCENARIOS.map((s) => s.name).join("|")}|all|report> [--quick] [--pairs N] [--step-seconds S] [--rates R1,R2,...] [--no-baselines] [--no-ejabberd] [--no-profile] [--scylla HOSTS --redis URL] [--cql] [--out DIR]\n\n${SCENARIOS.map((s) => `  ${s.name.padEnd(12)} ${s.summary}`).join("\n")}\n`;

if (values.help || positionals.length === 0) {
  process.stdout.write(usage);
  process.exit(positionals.length === 0 && !values.help ? 2 : 0);
}

const names = positionals.includes("all") ? SCENARIOS.map((s) => s.name) : positionals.filter((name) => name !== "report");
const unknown = names.filter((name) => !SCENARIOS.some((s) => s.name === name));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario: ${unknown.join(", ")}\n\n${usage}`);
  process.exit(2);
}

const flags: CommonFlags = {
  quick: values.quick,
  pairs: values.pairs ? Number(values.pairs) : undefined,
  stepSeconds: values["step-seconds"] ? Number(values["step-seconds"]) : undefined,
  rates: values.rates ? values.rates.split(",").map(Number) : undefined,
  baselines: !values["no-baselines"],
  ejabberd: !values["no-ejabberd"],
  profile: !values["no-profile"],
  cqlFlags: [...(values.scylla ? ["--scylla", values.scylla] : []), ...(values.redis ? ["--redis", values.redis] : [])],
  cql: values.cql || values.scylla !== undefined || values.redis !== undefined,
  scylla: values.scylla,
  redis: values.redis,
};
const outDir = values.out ?? RESULTS_DIR;

let failures = 0;
for (const name of names) {
  const scenario = SCENARIOS.find((s) => s.name === name)!;
  const progress = terminalProgress(name);
  const options = scenario.options(flags);
  const startedAt = new Date();
  progress(`start: ${scenario.summary}`);
  try {
    const result = await scenario.run(options, progress);
    const path = writeRecord(outDir, makeRecord(name, startedAt, options, result));
    progress(`done in ${Math.round((Date.now() - startedAt.getTime()) / 1000)} s: ${path}`);
  } catch (error) {
    failures += 1;
    progress(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

const report = writeReport(outDir);
process.stderr.write(`report: ${report}\n`);
process.exit(failures > 0 ? 1 : 0);
