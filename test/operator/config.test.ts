import assert from "node:assert/strict";
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
