import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse } from "yaml";
import { DB_FLAGS, NODE_FLAGS } from "../../src/cli/main.ts";
import { configFromEnvironment, ENVIRONMENT_TABLE, setConfigValue, storageBackend, validateConfig, type ConfigKey, type NodeConfig } from "../../src/config.ts";

const deployDir = join(import.meta.dirname, "..", "..", "deploy");

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, unknown> | string[];
  secrets?: string[];
}

interface ComposeFile {
  services: Record<string, Service>;
  secrets?: Record<string, { file: string }>;
}

function load(name: string): ComposeFile {
  // Compose's `<<: *anchor` is YAML's merge key.
  return parse(readFileSync(join(deployDir, name), "utf8"), { merge: true }) as ComposeFile;
}

const ROUTER_IMAGE = "router:local";
const COMMANDS: Record<string, Record<string, ConfigKey>> = { "node start": NODE_FLAGS, "db migrate": DB_FLAGS };

/**
 * A router service's settings as the node would see them: its environment (secret files
 * replaced by temporary ones, since Docker mounts them) and then its flags, checked against
 * the CLI's own flag tables and validated as `router node start` validates them.
 */
function configOf(name: string, service: Service, secretsDir: string): { command: string; config: NodeConfig } {
  const [verb, sub, ...args] = service.command ?? [];
  const command = `${verb} ${sub}`;
  const flags = COMMANDS[command];
  assert.ok(flags, `${name}: unknown router command ${JSON.stringify(service.command)}`);
  const env: Record<string, string> = {};
  for (const [variable, value] of Object.entries(service.environment ?? {})) {
    const known = variable in ENVIRONMENT_TABLE || (variable.endsWith("_FILE") && variable.slice(0, -"_FILE".length) in ENVIRONMENT_TABLE);
    assert.ok(known, `${name}: ${variable} is no setting the router reads`);
    const secret = /^\/run\/secrets\/(\w+)$/.exec(String(value));
    if (secret) {
      assert.ok(service.secrets?.includes(secret[1]!), `${name}: ${variable} reads secret ${secret[1]} the service is not given`);
      const path = join(secretsDir, secret[1]!);
      writeFileSync(path, "a-secret-from-a-file-0123456789abcdef\n");
      env[variable] = path;
    } else {
      env[variable] = String(value);
    }
  }
  const config = configFromEnvironment(env);
  for (let i = 0; i < args.length; i += 2) {
    const flag = args[i]!;
    assert.match(flag, /^--/, `${name}: expected a flag, got ${flag}`);
    const key = flags[flag.slice(2)];
    assert.ok(key, `${name}: \`router ${command}\` has no flag ${flag}`);
    assert.ok(args[i + 1] !== undefined, `${name}: ${flag} has no value`);
    setConfigValue(config, key, args[i + 1]!);
  }
  if (command === "node start") validateConfig(config);
  return { command, config };
}

describe("deploy/compose.yaml: the cluster recipe", () => {
  const secretsDir = mkdtempSync(join(tmpdir(), "router-compose-"));
  after(() => rmSync(secretsDir, { recursive: true, force: true }));
  const compose = load("compose.yaml");
  const routers = Object.entries(compose.services).filter(([, service]) => service.image === ROUTER_IMAGE);

  it("starts three nodes with stable ids on the shared store, a secret from a file and media in the bucket", () => {
    const nodes = routers.map(([name, service]) => ({ name, ...configOf(name, service, secretsDir) })).filter((n) => n.command === "node start");
    assert.equal(nodes.length, 3);
    assert.deepEqual(nodes.map((n) => n.config.nodeId).sort(), ["router-1", "router-2", "router-3"]);
    for (const { name, config } of nodes) {
      assert.equal(storageBackend(config.storage), "cql", `${name} runs on the shared store`);
      assert.ok(config.cluster.nats && config.storage.redis, `${name} joins the cluster with Redis`);
      assert.equal(config.cluster.unsafeLocalStore, false);
      assert.equal(config.secret, "", `${name} takes no secret from the environment`);
      assert.ok(config.secretFile, `${name} reads its secret from a file`);
      assert.equal(config.media.backend, "s3", `${name} keeps media where every node reads it`);
      assert.ok(config.media.s3.secretAccessKey, `${name} has the bucket's key (from a file)`);
    }
    const keyspaces = new Set(nodes.map((n) => `${n.config.storage.keyspace}@${n.config.storage.localDc}`));
    assert.equal(keyspaces.size, 1, "every node uses one keyspace in one data centre");
  });

  it("migrates the nodes' keyspace before any node starts", () => {
    const migrations = routers.filter(([, service]) => service.command?.slice(0, 2).join(" ") === "db migrate");
    assert.equal(migrations.length, 1);
    const [name, service] = migrations[0]!;
    const { config } = configOf(name, service, secretsDir);
    const node = routers.find(([, s]) => s.command?.[0] === "node")!;
    const nodeConfig = configOf(node[0], node[1], secretsDir).config;
    assert.equal(config.storage.keyspace, nodeConfig.storage.keyspace);
    assert.equal(config.storage.localDc, nodeConfig.storage.localDc);
    for (const [nodeName, nodeService] of routers.filter(([, s]) => s.command?.[0] === "node")) {
      const dependsOn = nodeService.depends_on as Record<string, { condition: string }>;
      assert.equal(dependsOn[name]?.condition, "service_completed_successfully", `${nodeName} waits for the migration`);
    }
  });

  it("refers only to services and secrets it declares", () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const dependsOn = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const other of dependsOn) assert.ok(compose.services[other], `${name} depends on undeclared ${other}`);
      for (const secret of service.secrets ?? []) assert.ok(compose.secrets?.[secret], `${name} uses undeclared secret ${secret}`);
    }
    for (const [secret, { file }] of Object.entries(compose.secrets ?? {})) {
      assert.match(file, /^\.\/secrets\//, `${secret} is read from deploy/secrets/ (ignored by git)`);
    }
  });

  it("balances every node, and only nodes, behind the load balancer, checked by /readyz", () => {
    const haproxy = readFileSync(join(deployDir, "haproxy.cfg"), "utf8");
    const servers = [...haproxy.matchAll(/^\s*server\s+(\S+)\s+(\S+):(\d+)/gm)].map((m) => ({ host: m[2]!, port: Number(m[3]) }));
    const nodes = routers.filter(([, s]) => s.command?.[0] === "node").map(([name, service]) => ({ name, port: configOf(name, service, secretsDir).config.port }));
    assert.deepEqual(servers.map((s) => s.host).sort(), nodes.map((n) => n.name).sort());
    for (const server of servers) assert.equal(server.port, 7070, "the image's port");
    assert.match(haproxy, /option httpchk GET \/readyz/);
  });
});

describe("deploy/compose.single.yaml: one node", () => {
  const secretsDir = mkdtempSync(join(tmpdir(), "router-compose-"));
  after(() => rmSync(secretsDir, { recursive: true, force: true }));

  it("runs one node on the embedded store with its secret from a file", () => {
    const compose = load("compose.single.yaml");
    const routers = Object.entries(compose.services).filter(([, service]) => service.image === ROUTER_IMAGE);
    assert.equal(routers.length, 1);
    const [name, service] = routers[0]!;
    const { command, config } = configOf(name, service, secretsDir);
    assert.equal(command, "node start");
    assert.equal(storageBackend(config.storage), "lmdb");
    assert.equal(config.cluster.nats, "");
    assert.ok(config.secretFile);
  });
});
