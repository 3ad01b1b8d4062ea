import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { findServerBinary } from "./server-process.ts";

/**
 * Debian's headless Chromium (scripts/ensure-services.sh installs it), driven by puppeteer-core,
 * with a profile of its own that goes when it closes. Every page records what went wrong in it
 * (uncaught errors, console errors such as CSP refusals) so a test can assert there was none.
 */
export class HeadlessChromium {
  private constructor(
    readonly browser: Browser,
    private readonly profile: string,
  ) {}

  static async launch(): Promise<HeadlessChromium> {
    const executablePath = findServerBinary("chromium", "CHROMIUM_BIN", ["/usr/bin"], "install it (apt-get install chromium, or scripts/ensure-services.sh)");
    const profile = mkdtempSync(join(tmpdir(), "router-chromium-"));
    const browser = await puppeteer.launch({
      executablePath,
      headless: true,
      userDataDir: profile,
      // Root runs the tests here, and Chromium's sandbox refuses root; /dev/shm may be small.
      args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run", "--no-default-browser-check"],
      protocolTimeout: 120_000,
    });
    return new HeadlessChromium(browser, profile);
  }

  /** A page in a browser context of its own: its storage is not shared with other pages'. */
  async page(viewport = { width: 1000, height: 640 }): Promise<{ page: Page; problems: string[] }> {
    const context = await this.browser.createBrowserContext();
    const page = await context.newPage();
    await page.setViewport(viewport);
    page.setDefaultTimeout(60_000);
    const problems: string[] = [];
    page.on("pageerror", (error) => problems.push(`page error: ${error instanceof Error ? error.message : String(error)}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    return { page, problems };
  }

  async close(): Promise<void> {
    await this.browser.close();
    rmSync(this.profile, { recursive: true, force: true });
  }
}
