import type { NodeConfig } from "../config.ts";
import { loadDemoAssets } from "../demo/assets.ts";
import { registerDemoRoutes } from "../demo/http.ts";
import { DemoSignIn } from "../demo/sign-in.ts";
import { LocalRateLimits } from "../storage/local-rate-limits.ts";
import type { Backend } from "../storage/open-stores.ts";
import type { TemplatedApp } from "../uws.ts";
import type { Logger } from "../util/logger.ts";

/** The demo's routes when ROUTER_DEMO is on (none otherwise), with a warning nobody can miss. */
export async function demoRoutes(parts: { config: NodeConfig; log: Logger; secret: string; backend: Backend }): Promise<Array<(app: TemplatedApp) => void>> {
  const { config, backend } = parts;
  if (!config.demo.enabled) return [];
  const log = parts.log.child({ component: "demo" });
  log.warn(
    { path: "/demo", tokenRoute: "/demo/token" },
    "DEMO ON: anyone who reaches this port gets a token for any demo.* user without a password; development only, never in production",
  );
  const assets = await loadDemoAssets(log);
  const signIn = new DemoSignIn({ secret: parts.secret, rateLimits: backend.rateLimits ?? new LocalRateLimits(), signInsPerMinute: config.demo.signInsPerMinute });
  return [(app) => registerDemoRoutes(app, assets, signIn, log)];
}
