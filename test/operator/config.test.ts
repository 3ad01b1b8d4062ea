import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, configFromEnvironment, defaultConfig, validateConfig } from "../../src/config.ts";

describe("config: what a cluster and a secret need", () => {
  it("refuses a cluster on each node's own LMDB, saying to give --scylla and --redis", () => {
    const config = defaultConfig();
    config.cluster.nats = "nats://127.0.0.1:4222";
    assert.throws(() => validateConfig(config), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /--scylla/);
      assert.match(error.message, /--redis/);
      return true;
    });
  });

  it("accepts a cluster on the shared store, and one on LMDB only when explicitly unsafe", () => {
    const shared = defaultConfig();
    shared.cluster.nats = "nats://127.0.0.1:4222";
    shared.storage.scylla = "127.0.0.1:9042";
    shared.storage.redis = "redis://127.0.0.1:6379";
    validateConfig(shared);

    const unsafe = configFromEnvironment({ ROUTER_NATS: "nats://127.0.0.1:4222", ROUTER_UNSAFE_LOCAL_STORE_CLUSTER: "true" });
    assert.equal(unsafe.cluster.unsafeLocalStore, true);
    validateConfig(unsafe);
  });

  it("takes the secret from a file, and not from both a file and a value", () => {
    const config = configFromEnvironment({ ROUTER_SECRET_FILE: "relative/secret" });
    assert.match(config.secretFile, /^\/.*relative\/secret$/);
    validateConfig(config);
    config.secret = "inline";
    assert.throws(() => validateConfig(config), /--secret or --secret-file, not both/);
  });
});

describe("config: settings from files (ROUTER_X_FILE)", () => {
  it("reads a setting's value from the file its _FILE variable names, without the final newline", () => {
    const dir = mkdtempSync(join(tmpdir(), "router-config-"));
    try {
      writeFileSync(join(dir, "s3-secret"), "s3cr3t\n");
      writeFileSync(join(dir, "port"), "7171");
      const config = configFromEnvironment({
        ROUTER_MEDIA_S3_SECRET_ACCESS_KEY_FILE: join(dir, "s3-secret"),
        ROUTER_PORT_FILE: join(dir, "port"),
      });
      assert.equal(config.media.s3.secretAccessKey, "s3cr3t");
      assert.equal(config.port, 7171);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a variable given both ways, and a file it cannot read, naming the variable", () => {
    assert.throws(
      () => configFromEnvironment({ ROUTER_REDIS: "redis://a:6379", ROUTER_REDIS_FILE: "/nonexistent" }),
      (error: unknown) => error instanceof ConfigError && /ROUTER_REDIS or ROUTER_REDIS_FILE/.test(error.message),
    );
    assert.throws(
      () => configFromEnvironment({ ROUTER_REDIS_FILE: "/nonexistent/redis-url" }),
      (error: unknown) => error instanceof ConfigError && /ROUTER_REDIS_FILE=\/nonexistent\/redis-url cannot be read: ENOENT/.test(error.message),
    );
  });
});

describe("config: status updates", () => {
  it("reads the status settings from the environment and refuses a lifetime under a second", () => {
    const config = configFromEnvironment({ ROUTER_STATUS_TTL_MS: "5000", ROUTER_STATUS_POSTS_PER_DAY: "3", ROUTER_STATUS_MAX_ACTIVE: "2", ROUTER_STATUS_SWEEP_INTERVAL_MS: "250" });
    assert.deepEqual(config.status, { ttlMs: 5000, postsPerDay: 3, maxActive: 2, sweepIntervalMs: 250 });
    validateConfig(config);
    assert.throws(() => validateConfig(configFromEnvironment({ ROUTER_STATUS_TTL_MS: "500" })), /status.ttlMs/);
    assert.throws(() => validateConfig(configFromEnvironment({ ROUTER_STATUS_MAX_ACTIVE: "0" })), /status.maxActive/);
  });
});
