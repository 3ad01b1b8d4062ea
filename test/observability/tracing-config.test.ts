import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configFromEnvironment, defaultConfig, validateConfig } from "../../src/config.ts";
import { tracesUrl } from "../../src/observability/tracing.ts";

describe("tracing settings", () => {
  it("is off by default and on with ROUTER_OTEL_ENDPOINT", () => {
    assert.equal(defaultConfig().tracing.otelEndpoint, "");
    const config = configFromEnvironment({ ROUTER_OTEL_ENDPOINT: "http://collector:4318" });
    assert.equal(config.tracing.otelEndpoint, "http://collector:4318");
    validateConfig(config);
  });

  it("refuses an endpoint that is not an http(s) URL, naming the variable", () => {
    const config = configFromEnvironment({ ROUTER_OTEL_ENDPOINT: "collector:4318" });
    assert.throws(() => validateConfig(config), /ROUTER_OTEL_ENDPOINT must be an http\(s\) URL/);
  });

  it("sends to the collector's traces path, given its base URL or the full one", () => {
    assert.equal(tracesUrl("http://collector:4318"), "http://collector:4318/v1/traces");
    assert.equal(tracesUrl("http://collector:4318/"), "http://collector:4318/v1/traces");
    assert.equal(tracesUrl("https://otel.example/v1/traces"), "https://otel.example/v1/traces");
  });
});
