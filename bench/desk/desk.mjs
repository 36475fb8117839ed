// The desk's figures (docs/benchmarks.md), in Debian's chromium against the real lms binary:
//   1. bytes shipped for the first load (over the wire, compressed; cold cache);
//   2. time until the leads table shows its first page on loopback (navigation start to the
//      first row in the DOM), at a small and a large organization;
//   3. time from a create in one browser to its row in the other (p95 over CREATES creates).
// Each with its baseline measured in the same run: the uncompressed bytes; the same REST calls
// from Node (no browser); the same create heard by the stock socket.io-client in Node.
//
//   node bench/desk/desk.mjs                      (LEADS=1000000 RUNS=15 CREATES=100)
// Prints a JSON summary and a Markdown table.

import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { launchBrowser } from "../../tests/web/lib/browser.mjs";
import { LMS_BINARY, LmsServer, uniqueEmail } from "../../tests/realtime/lib/server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "../../tests/realtime/package.json"));
const { io } = require("socket.io-client");

const LEADS = Number(process.env.LEADS ?? 1_000_000);
const RUNS = Number(process.env.RUNS ?? 15);
const CREATES = Number(process.env.CREATES ?? 100);
// Under the 20 events per second per receiver that turn single events into leads:bulk.
const CREATE_GAP_MS = 80;

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const summary = (values) => ({
  n: values.length,
  p50: +quantile(values, 0.5).toFixed(1),
  p95: +quantile(values, 0.95).toFixed(1),
  max: +Math.max(...values).toFixed(1),
});

// Records, in the page, when the first lead row appears and when each lead id is first seen.
const OBSERVER = () => {
  window.__seen = new Map();
  window.__firstRowAt = null;
  const look = () => {
    for (const row of document.querySelectorAll('[data-testid="lead-row"]')) {
      const id = row.getAttribute("data-id");
      if (id && !window.__seen.has(id)) window.__seen.set(id, performance.timeOrigin + performance.now());
      if (window.__firstRowAt === null) window.__firstRowAt = performance.now();
    }
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-id"] });
};

async function signedInPage(browser, server, account) {
  const session = await server.login(account.email, account.password);
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 } });
  const tokens = { accessToken: session.accessToken, refreshToken: session.refreshToken, expiresAt: Date.now() + session.expiresIn * 1000 };
  await context.addInitScript((t) => sessionStorage.setItem("lms.session", JSON.stringify(t)), tokens);
  await context.addInitScript(OBSERVER);
  const page = await context.newPage();
  return { context, page, session };
}

async function firstLoad(browser, server, account) {
  const { context, page } = await signedInPage(browser, server, account);
  await page.goto("/leads");
  await page.waitForFunction(() => window.__firstRowAt !== null, null, { timeout: 30_000 });
  const figures = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const isApi = (r) => new URL(r.name).pathname.startsWith("/api/");
    const sum = (list, key) => list.reduce((n, r) => n + (r[key] || 0), 0);
    const assets = resources.filter((r) => !isApi(r) && !r.name.includes("/socket.io/"));
    const ended = (route) => resources.find((r) => new URL(r.name).pathname === route)?.responseEnd ?? null;
    return {
      firstRowMs: window.__firstRowAt,
      documentMs: nav.responseEnd,
      scriptsReadyMs: nav.domContentLoadedEventEnd,
      meMs: ended("/api/auth/me"),
      pageMs: ended("/api/leads"),
      staticWire: nav.transferSize + sum(assets, "transferSize"),
      staticBody: nav.decodedBodySize + sum(assets, "decodedBodySize"),
      staticEncoded: nav.encodedBodySize + sum(assets, "encodedBodySize"),
      files: 1 + assets.length,
    };
  });
  // Again in the same tab: the files cached, as on every visit after the first.
  await page.reload();
  await page.waitForFunction(() => window.__firstRowAt !== null, null, { timeout: 30_000 });
  figures.warmFirstRowMs = await page.evaluate(() => window.__firstRowAt);
  await context.close();
  return figures;
}

async function restFirstPage(server, token) {
  const started = performance.now();
  const headers = { Authorization: `Bearer ${token}` };
  await Promise.all([
    fetch(`${server.url}/api/auth/me`, { headers }).then((r) => r.text()),
    fetch(`${server.url}/api/leads?limit=50`, { headers }).then((r) => r.text()),
    fetch(`${server.url}/api/leads/count`, { headers }).then((r) => r.text()),
  ]);
  return performance.now() - started;
}

async function createToRow(browser, server, admin, manager) {
  const a = await signedInPage(browser, server, admin);
  const b = await signedInPage(browser, server, manager);
  await a.page.goto("/leads");
  await b.page.goto("/leads");
  await b.page.waitForFunction(() => window.__firstRowAt !== null);
  await b.page.locator('[data-testid="connection"][data-state="connected"]').waitFor({ timeout: 15_000 });
  const latencies = [];
  for (let i = 0; i < CREATES; i++) {
    const sent = await a.page.evaluate(async (email) => {
      const { accessToken } = JSON.parse(sessionStorage.getItem("lms.session"));
      const t = performance.timeOrigin + performance.now();
      const res = await fetch("/api/leads", {
        method: "POST",
        headers: { Authorization: `Bearer ${accessToken}`, "Content-Type": "application/json" },
        body: JSON.stringify({ name: `Bench ${email}`, email }),
      });
      return { t, id: (await res.json()).id };
    }, uniqueEmail("bench"));
    const seenAt = await b.page.waitForFunction((id) => window.__seen.get(id) ?? false, sent.id, { timeout: 10_000, polling: 5 });
    latencies.push((await seenAt.jsonValue()) - sent.t);
    await new Promise((r) => setTimeout(r, CREATE_GAP_MS));
  }
  await a.context.close();
  await b.context.close();
  return latencies;
}

async function createToSocket(server, admin, manager) {
  const session = await server.login(manager.email, manager.password);
  const adminSession = await server.login(admin.email, admin.password);
  const socket = io(server.url, { auth: { token: session.accessToken }, transports: ["websocket"], forceNew: true });
  await new Promise((resolve, reject) => { socket.once("connect", resolve); socket.once("connect_error", reject); });
  const latencies = [];
  for (let i = 0; i < CREATES; i++) {
    const email = uniqueEmail("sock");
    const heard = new Promise((resolve) => {
      const on = (lead) => { if (lead.email === email) { socket.off("lead:created", on); resolve(performance.now()); } };
      socket.on("lead:created", on);
    });
    const t = performance.now();
    await server.request("POST", "/api/leads", { token: adminSession.accessToken, body: { name: "Sock", email } });
    latencies.push((await heard) - t);
    await new Promise((r) => setTimeout(r, CREATE_GAP_MS));
  }
  socket.close();
  return latencies;
}

// Scrolls the table down a screenful per frame for `seconds`, paging in by cursor as it goes;
// reports the frame intervals (what "smooth" means), the rows loaded and the rows in the DOM.
async function scrolling(browser, server, admin, seconds = 10) {
  const { context, page } = await signedInPage(browser, server, admin);
  await page.goto("/leads");
  await page.waitForFunction(() => window.__firstRowAt !== null);
  const result = await page.evaluate(async (ms) => {
    const box = document.querySelector(".lead-scroll");
    const frames = [];
    let maxRows = 0;
    let last = performance.now();
    const end = last + ms;
    while (performance.now() < end) {
      await new Promise((r) => requestAnimationFrame(r));
      const now = performance.now();
      frames.push(now - last);
      last = now;
      box.scrollTop += box.clientHeight;
      maxRows = Math.max(maxRows, document.querySelectorAll('[data-testid="lead-row"]').length);
    }
    const rowHeight = document.querySelector('[data-testid="lead-row"]')?.offsetHeight || 1;
    return { frames, maxRows, scrolledRows: Math.round(box.scrollTop / rowHeight) };
  }, seconds * 1000);
  await context.close();
  return { frameMs: summary(result.frames), domRowsMax: result.maxRows, rowsScrolled: result.scrolledRows };
}

async function measureAt(browser, server, admin, label) {
  const loads = [];
  for (let i = 0; i < RUNS; i++) loads.push(await firstLoad(browser, server, admin));
  const session = await server.login(admin.email, admin.password);
  const rest = [];
  for (let i = 0; i < RUNS; i++) rest.push(await restFirstPage(server, session.accessToken));
  const stats = [];
  for (let i = 0; i < Math.min(RUNS, 5); i++) {
    const started = performance.now();
    await server.request("GET", "/api/leads/stats", { token: session.accessToken });
    stats.push(performance.now() - started);
  }
  return {
    label,
    statsMs: summary(stats),
    firstRowMs: summary(loads.map((l) => l.firstRowMs)),
    warmFirstRowMs: summary(loads.map((l) => l.warmFirstRowMs)),
    phasesMs: Object.fromEntries(["documentMs", "scriptsReadyMs", "meMs", "pageMs"].map((k) => [k, summary(loads.map((l) => l[k] ?? 0)).p50])),
    restFirstPageMs: summary(rest),
    bytes: loads[loads.length - 1],
  };
}

const server = await LmsServer.start();
const browser = await launchBrowser();
try {
  const admin = await server.register({ password: "admin-password" });
  const account = (s) => ({ email: s.user.email, password: s.password });
  const adminAccount = account(admin);
  const manager = await server.createUserAndLogin(admin.accessToken, { role: "manager" });
  const managerAccount = account(manager);
  for (let i = 0; i < 250; i++) await server.createLead(admin.accessToken);
  const results = { date: new Date().toISOString(), binary: LMS_BINARY, runs: RUNS, creates: CREATES };
  results.small = await measureAt(browser, server, adminAccount, "250 leads");

  results.createToRowMs = summary(await createToRow(browser, server, adminAccount, managerAccount));
  results.createToSocketMs = summary(await createToSocket(server, adminAccount, managerAccount));

  if (LEADS > 0) {
    await server.stop();
    const started = performance.now();
    const seeded = spawnSync(LMS_BINARY, ["seed", "--db", server.dbPath, "--org", admin.organization.id, "--leads", String(LEADS), "--agents", "10"], { encoding: "utf8" });
    if (seeded.status !== 0) throw new Error(`lms seed failed: ${seeded.stderr}`);
    results.seedSeconds = +((performance.now() - started) / 1000).toFixed(1);
    await server.restart();
    results.large = await measureAt(browser, server, adminAccount, `${LEADS + 250 + CREATES * 2} leads`);
    results.large.scrolling = await scrolling(browser, server, adminAccount);
  }
  console.log(JSON.stringify(results, null, 2));
  const row = (r) =>
    `| ${r.label} | ${r.bytes.staticWire} B on the wire (${r.bytes.files} files; ${r.bytes.staticBody} B uncompressed, ${(r.bytes.staticBody / r.bytes.staticWire).toFixed(1)}x) | ` +
    `${r.firstRowMs.p50} / ${r.firstRowMs.p95} ms | ${r.warmFirstRowMs.p50} / ${r.warmFirstRowMs.p95} ms | ${r.restFirstPageMs.p50} / ${r.restFirstPageMs.p95} ms |`;
  console.log("\n| organization | first load, static files (cold cache) | first row p50 / p95 | reload (files cached) p50 / p95 | baseline: the same REST calls from Node p50 / p95 |");
  console.log("|---|---|---|---|---|");
  console.log(row(results.small));
  if (results.large) console.log(row(results.large));
  for (const r of [results.small, results.large].filter(Boolean))
    console.log(`${r.label}, cold load p50 phases (ms from navigation start): document ${r.phasesMs.documentMs}, scripts run ${r.phasesMs.scriptsReadyMs}, /api/auth/me answered ${r.phasesMs.meMs}, first page answered ${r.phasesMs.pageMs}, first row ${r.firstRowMs.p50}`);
  for (const r of [results.small, results.large].filter(Boolean))
    console.log(`GET /api/leads/stats (the dashboard's counts), ${r.label}: p50 ${r.statsMs.p50} ms, max ${r.statsMs.max} ms`);
  console.log(`\ncreate in browser A → row in browser B: p50 ${results.createToRowMs.p50} ms, p95 ${results.createToRowMs.p95} ms, max ${results.createToRowMs.max} ms (${CREATES} creates)`);
  console.log(`baseline, create → lead:created at a Node socket.io-client: p50 ${results.createToSocketMs.p50} ms, p95 ${results.createToSocketMs.p95} ms`);
  if (results.large) {
    const sc = results.large.scrolling;
    console.log(`scrolling ${results.large.label}: ${sc.rowsScrolled} rows in 10 s, frame p50 ${sc.frameMs.p50} ms, p95 ${sc.frameMs.p95} ms, max ${sc.frameMs.max} ms; at most ${sc.domRowsMax} rows in the DOM`);
  }
} finally {
  await browser.close().catch(() => {});
  await server.cleanup();
}
