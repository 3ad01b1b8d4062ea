import { jsonPostRoute } from "../accounts/http.ts";
import type { HttpResponse, TemplatedApp } from "../uws.ts";
import type { Logger } from "../util/logger.ts";
import type { Asset, DemoAssets } from "./assets.ts";
import type { DemoSignIn } from "./sign-in.ts";

/**
 * What the page may do: its own scripts (and the one inline import map, by hash), its own
 * style, images it made from downloads (blob:), and requests to this node, WebSocket included.
 */
function contentSecurityPolicy(assets: DemoAssets): string {
  return [
    "default-src 'none'",
    `script-src 'self' ${assets.importMapHash}`,
    "style-src 'self'",
    "img-src 'self' blob:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

function serve(res: HttpResponse, file: Asset, csp: string): void {
  res.cork(() => {
    res.writeStatus("200 OK");
    res.writeHeader("content-type", file.contentType);
    res.writeHeader("content-security-policy", csp);
    res.writeHeader("x-content-type-options", "nosniff");
    res.writeHeader("referrer-policy", "no-referrer");
    res.writeHeader("cross-origin-opener-policy", "same-origin");
    // Small files that change with the code: revalidate rather than serve a stale SDK.
    res.writeHeader("cache-control", "no-cache");
    res.end(file.body);
  });
}

/**
 * `/demo` (the page, its files, the SDK) and `POST /demo/token` (sign in as a name). Registered
 * only when the demo is on; otherwise both fall to the node's 404.
 */
export function registerDemoRoutes(app: TemplatedApp, assets: DemoAssets, signIn: DemoSignIn, log: Logger): void {
  const csp = contentSecurityPolicy(assets);
  app.get("/demo", (res) => serve(res, assets.page, csp));
  app.get("/demo/", (res) => serve(res, assets.page, csp));
  app.get("/demo/*", (res, req) => {
    const file = assets.files.get(req.getUrl());
    if (file) {
      serve(res, file, csp);
      return;
    }
    res.cork(() => res.writeStatus("404 Not Found").writeHeader("content-type", "text/plain").end("not found\n"));
  });
  app.post("/demo/token", jsonPostRoute("demo_token", (body, address) => signIn.signIn(body, address), log));
}
