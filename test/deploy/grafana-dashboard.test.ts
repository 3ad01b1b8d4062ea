import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { TestNode } from "../support/node.ts";
import { scrape, type Exposition } from "../support/scrape.ts";

const DASHBOARD = new URL("../../deploy/grafana/router-dashboard.json", import.meta.url);

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; refId: string }>;
}

/** Names PromQL reserves that are not followed by `(` where they appear. */
const KEYWORDS = new Set(["and", "or", "unless", "offset", "bool", "inf", "nan"]);

/**
 * The metric names a PromQL expression reads: what is left once strings, label matchers,
 * ranges, grouping lists and calls (a name followed by `(`) are taken out.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names: string[] = [];
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice(match.index + match[0].length).trimStart();
    if (rest.startsWith("(") || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

/** Every sample name the exposition can hold: its samples, and each family's (histograms' too). */
function exportedNames(exposition: Exposition): Set<string> {
  const names = new Set(exposition.samples.map((sample) => sample.name));
  for (const [family, type] of exposition.types) {
    names.add(family);
    if (type === "histogram") for (const suffix of ["_bucket", "_count", "_sum"]) names.add(family + suffix);
  }
  return names;
}

describe("the Grafana dashboard", () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[]; templating: { list: Array<{ definition?: string }> } };
  const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));
  let node: TestNode;
  before(async () => {
    node = await TestNode.start();
  });
  after(async () => {
    await node.stop();
  });

  it("reads the metric names out of PromQL", () => {
    assert.deepEqual(metricNames('histogram_quantile(0.99, sum by (le, instance) (rate(a_seconds_bucket{instance=~"$instance"}[$__rate_interval])))'), ["a_seconds_bucket"]);
    assert.deepEqual(metricNames("sum(rate(b_total[5m])) / sum(c) or vector(0)"), ["b_total", "c"]);
  });

  it("has panels Grafana can lay out, each with a query", () => {
    const ids = dashboard.panels.map((panel) => panel.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
    for (const panel of dashboard.panels) {
      assert.ok(panel.gridPos.w > 0 && panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} fits the grid`);
      if (panel.type !== "row") assert.ok((panel.targets ?? []).length > 0, `${panel.title} has a query`);
    }
    assert.ok(targets.length >= 25);
  });

  it("names only metrics a running node exports", async () => {
    // Traffic first, so labelled series exist as well as their families.
    const alice = await node.connect("gd-alice");
    const bob = await node.connect("gd-bob");
    await alice.send("gd-bob", "hi");
    await bob.waitForMessages(1);
    const exported = exportedNames(await scrape(node.httpUrl));
    // Exported only by a node with a Redis (the cluster backend).
    const backendSpecific = node.node.stores.backend === "lmdb" ? new Set(["router_redis_up"]) : new Set<string>();
    const used = new Set<string>();
    for (const { panel, expr } of targets) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${panel}: ${expr} reads a metric`);
      for (const name of names) {
        used.add(name);
        if (!backendSpecific.has(name)) assert.ok(exported.has(name), `${panel}: ${name} is exported by the node`);
      }
    }
    for (const variable of dashboard.templating.list) {
      const name = /label_values\((\w+)/.exec(variable.definition ?? "")?.[1];
      if (name) assert.ok(exported.has(name), `variable reads ${name}`);
    }
    for (const wanted of ["router_connections", "router_send_to_durable_seconds_bucket", "router_store_operation_seconds_bucket", "router_nats_dispatch_seconds_bucket", "router_frames_rejected_total", "router_actor_restarts_total", "router_slow_consumers_total"]) {
      assert.ok(used.has(wanted), `the dashboard shows ${wanted}`);
    }
    await Promise.all([alice.close(), bob.close()]);
  });
});
