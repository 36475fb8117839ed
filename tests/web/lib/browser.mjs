// The desk in a real browser: Debian's chromium driven by playwright-core, against the real lms
// binary (tests/realtime/lib/server.mjs starts it on a free loopback port, fresh database).
//
//   const desk = await Desk.start();                       // lms + chromium
//   const admin = await desk.server.register();            // REST helpers of LmsServer
//   const page = await desk.signIn(admin);                 // a new browser context, signed in
//   await desk.checkAccessibility(page, "leads");          // axe-core: no serious violation
//   await desk.screenshots(page, "leads");                 // desktop and phone width, kept
//   await desk.close();                                    // browser and server
//   await eventually(async () => assert.equal(...));       // polls until the check passes
//
// Screenshots go to $LMS_WEB_ARTIFACTS (default tests/web/artifacts/, ignored by git).
// LMS_WEB_DIR=<folder> serves the desk from that folder (`lms serve --web-dir`) instead of the
// copy built into the binary: for working on the desk without relinking lms.

import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { LmsServer } from "../../realtime/lib/server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
export const ARTIFACTS = process.env.LMS_WEB_ARTIFACTS || path.resolve(here, "../artifacts");
export const CHROMIUM = process.env.LMS_CHROMIUM || "/usr/bin/chromium";
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

/**
 * Retries `check` (which throws, e.g. an assert, until the page is as expected) every
 * `interval` ms until it passes or `timeout` ms have gone; then rethrows its last error.
 */
export async function eventually(check, { timeout = 10_000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

// This machine's network is closed: chromium's background services only make it wait.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--disable-features=PreloadTopChromeWebUI",
];

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

export class Desk {
  /** @param {{args?: string[], env?: object}} [options] extra `lms serve` arguments */
  static async start({ args = [], env = {} } = {}) {
    const webDir = process.env.LMS_WEB_DIR ? ["--web-dir", path.resolve(process.env.LMS_WEB_DIR)] : [];
    const server = await LmsServer.start({ args: [...webDir, ...args], env });
    let browser;
    try {
      browser = await launchBrowser();
    } catch (err) {
      await server.cleanup();
      throw err;
    }
    return new Desk(server, browser);
  }

  constructor(server, browser) {
    this.server = server;
    this.browser = browser;
    this.contexts = [];
  }

  /** Where the browser opens the desk. */
  get url() {
    return this.server.url;
  }

  /** A fresh browser context (its own storage: a second user, a second tab of another person). */
  async newPage({ viewport = DESKTOP } = {}) {
    const context = await this.browser.newContext({ viewport, baseURL: this.url });
    this.contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.consoleErrors = [];
    page.on("pageerror", (err) => page.consoleErrors.push(String(err)));
    page.on("console", (msg) => {
      if (msg.type() === "error") page.consoleErrors.push(msg.text());
    });
    return page;
  }

  /**
   * Signs in through the sign-in form (as a user would) and waits for the desk to show.
   * @param {{user: {email: string}, password: string}} account what LmsServer.register/createUserAndLogin return
   */
  async signIn(account, { path: start = "/", viewport } = {}) {
    const page = await this.newPage({ viewport });
    await page.goto(start);
    await page.getByLabel("Email").fill(account.user.email);
    await page.getByLabel("Password").fill(account.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("app-shell").waitFor();
    return page;
  }

  /** Runs axe-core in the page; throws listing every serious or critical violation. */
  async checkAccessibility(page, what) {
    await page.evaluate(AXE_SOURCE);
    const result = await page.evaluate(async () =>
      // eslint-disable-next-line no-undef
      axe.run(document, { resultTypes: ["violations"] }),
    );
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    if (serious.length > 0) {
      const lines = serious.map(
        (v) => `${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.slice(0, 5).map((n) => n.target.join(" ")).join("\n    ")}`,
      );
      throw new Error(`${what}: ${serious.length} serious accessibility violation(s):\n  ${lines.join("\n  ")}`);
    }
    return result.violations;
  }

  /** Full-page screenshots at desktop and phone width, kept as test artifacts. */
  async screenshots(page, name) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const original = page.viewportSize();
    const files = [];
    for (const [label, size] of [["desktop", DESKTOP], ["phone", PHONE]]) {
      await page.setViewportSize(size);
      await page.waitForTimeout(100);
      const file = path.join(ARTIFACTS, `${name}-${label}.png`);
      await page.screenshot({ path: file, fullPage: true });
      files.push(file);
    }
    if (original) await page.setViewportSize(original);
    return files;
  }

  async close() {
    for (const context of this.contexts) await context.close().catch(() => {});
    await this.browser.close().catch(() => {});
    await this.server.cleanup();
  }
}
