// The dashboard in chromium: the four charts are drawn (canvas of non-zero size with pixels on
// it, an accessible name) and their numbers tables match GET /api/leads/stats; a new lead
// refreshes them; admins see the server's live figures, agents neither those nor others' leads.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Desk } from "./lib/browser.mjs";

const CHARTS = ["chart-status", "chart-source", "chart-agent", "chart-daily"];

let desk;
let admin;
let agent;

before(async () => {
  desk = await Desk.start();
  admin = await desk.server.register();
  agent = await desk.server.createUserAndLogin(admin.accessToken, { role: "agent", name: "Alan Agent" });
  const statuses = ["new", "new", "contacted", "qualified", "converted", "lost", "new", "contacted"];
  const sources = ["web", "web", "referral", "fair", "", "web", "referral", "web"];
  await Promise.all(
    statuses.map((status, i) =>
      desk.server.createLead(admin.accessToken, {
        status,
        ...(sources[i] ? { source: sources[i] } : {}),
        assignedTo: i % 3 === 0 ? agent.user.id : i % 3 === 1 ? admin.user.id : null,
      }),
    ),
  );
});

after(async () => {
  await desk?.close();
});

async function statsOf(token) {
  const res = await desk.server.request("GET", "/api/leads/stats?days=30", { token });
  assert.equal(res.status, 200);
  return res.body;
}

/** {key: number} of a chart's numbers table. */
async function tableOf(page, testId) {
  return page.getByTestId(`${testId}-table`).evaluate((table) =>
    Object.fromEntries(
      [...table.querySelectorAll("tbody tr")].map((tr) => [tr.dataset.key, Number(tr.querySelector("td").textContent.replace(/[^0-9]/g, ""))]),
    ),
  );
}

/** The number of painted pixels of a canvas. */
function paintedPixels(canvas) {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted += 1;
  return painted;
}

async function checkCharts(page) {
  for (const id of CHARTS) {
    const canvas = page.getByTestId(id);
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    assert.ok(box.width > 100 && box.height > 100, `${id} is ${box.width}×${box.height}`);
    assert.equal(await canvas.getAttribute("role"), "img");
    assert.match(await canvas.getAttribute("aria-label"), /\d/, `${id} names its figures`);
    await page.waitForFunction((el) => {
      const { data } = el.getContext("2d").getImageData(0, 0, el.width, el.height);
      return data.some((v, i) => i % 4 === 3 && v !== 0);
    }, await canvas.elementHandle());
    assert.ok((await canvas.evaluate(paintedPixels)) > 100, `${id} is drawn`);
  }
}

test("admin: the charts match /api/leads/stats, refresh on a new lead, and the live figures show", async () => {
  const page = await desk.signIn(admin, { path: "/dashboard" });
  await checkCharts(page);
  const stats = await statsOf(admin.accessToken);
  assert.deepEqual(await tableOf(page, "chart-status"), stats.byStatus);
  assert.deepEqual(await tableOf(page, "chart-source"), Object.fromEntries(stats.bySource.map((s) => [s.source, s.count])));
  assert.deepEqual(await tableOf(page, "chart-agent"), Object.fromEntries(stats.byAssignee.map((a) => [a.assignedTo ?? "none", a.count])));
  const daily = await tableOf(page, "chart-daily");
  assert.equal(Object.keys(daily).length, 30);
  assert.deepEqual(daily, Object.fromEntries(stats.createdPerDay.map((d) => [d.day, d.count])));
  const agentRow = page.getByTestId("chart-agent-table").locator(`tr[data-key="${agent.user.id}"] th`);
  assert.equal(await agentRow.textContent(), "Alan Agent");

  // The operator's live figures, read every 2 s.
  const ops = page.getByTestId("ops-live");
  await ops.locator('[data-figure="requestsPerSecond"] dd').waitFor();
  assert.match(await ops.locator('[data-figure="residentMemoryBytes"] dd').textContent(), /\d+ MiB/);
  assert.match(await ops.locator('[data-figure="p95Ms"] dd').textContent(), /^[\d.,]+ ms$/);

  await page.evaluate(() => window.scrollTo(0, 0));
  await desk.checkAccessibility(page, "dashboard");
  await desk.screenshots(page, "dashboard");

  // A new lead reaches the charts through the live events (at most 5 s later).
  const before = (await tableOf(page, "chart-status")).qualified;
  await desk.server.createLead(admin.accessToken, { status: "qualified", source: "web" });
  await page.waitForFunction(
    (count) => Number(document.querySelector('[data-testid="chart-status-table"] tr[data-key="qualified"] td').textContent) === count,
    before + 1,
    { timeout: 12_000 },
  );
  assert.deepEqual(page.consoleErrors.filter((e) => !e.startsWith("Failed to load resource")), []);
});

test("agent: only their own leads, no live figures", async () => {
  const page = await desk.signIn(agent, { path: "/dashboard" });
  await checkCharts(page);
  const stats = await statsOf(agent.accessToken);
  assert.deepEqual(await tableOf(page, "chart-status"), stats.byStatus);
  assert.deepEqual(await tableOf(page, "chart-agent"), { [agent.user.id]: stats.total });
  assert.equal(await page.getByTestId("ops-live").count(), 0);
  await desk.checkAccessibility(page, "dashboard (agent)");
});
