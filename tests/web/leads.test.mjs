// The leads desk in a real browser: a lead created in one browser shows live (highlighted) in
// another, the duplicate and stale-edit paths, what an agent sees, filters in the URL, search as
// you type, bulk changes, and the assigned-to-me toast. Each test has its own organization.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Desk, eventually } from "./lib/browser.mjs";
import { unique, uniqueEmail } from "../realtime/lib/server.mjs";

let desk;
before(async () => {
  desk = await Desk.start();
});
after(async () => {
  await desk?.close();
});

const rows = (page) => page.getByTestId("lead-row");
const row = (page, id) => page.locator(`[data-testid="lead-row"][data-id="${id}"]`);
const rowIds = (page) => page.$$eval('[data-testid="lead-row"]', (els) => els.map((el) => el.dataset.id));
const rowStatuses = (page) => page.$$eval('[data-testid="lead-row"]', (els) => els.map((el) => el.dataset.status));
const live = (page) => page.locator('[data-testid="connection"][data-state="connected"]').waitFor();
const pathAndQuery = (page) => {
  const url = new URL(page.url());
  return url.pathname + url.search;
};

test("a lead created in the browser shows live in another browser, highlighted", async () => {
  const admin = await desk.server.register();
  const manager = await desk.server.createUserAndLogin(admin.accessToken, { role: "manager", name: "Mona Manager" });
  await desk.server.createLead(admin.accessToken, { name: "Existing lead", company: "Acme" });

  const watcher = await desk.signIn(manager);
  await rows(watcher).first().waitFor();
  await live(watcher);

  const page = await desk.signIn(admin);
  await rows(page).first().waitFor();
  await desk.checkAccessibility(page, "leads");
  await desk.screenshots(page, "leads");

  await page.getByRole("button", { name: "New lead" }).click();
  const panel = page.getByTestId("lead-panel");
  await panel.waitFor();
  await desk.checkAccessibility(page, "new lead form");
  const name = unique("Grace");
  await panel.getByLabel("Name").fill(name);
  await panel.getByLabel("Email").fill(uniqueEmail("grace"));
  await panel.getByLabel("Company").fill("Hopper Inc");
  await panel.getByRole("button", { name: "Create lead" }).click();
  await panel.getByRole("heading", { name }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/leads\/[^/]+$/);
  const id = new URL(page.url()).pathname.split("/")[2];

  // The manager's table: the new row at the top, highlighted, without a reload; the count bumped.
  const fresh = row(watcher, id);
  await fresh.and(watcher.locator('[data-highlight="true"]')).waitFor();
  assert.equal((await rowIds(watcher))[0], id);
  await watcher.getByTestId("lead-count").filter({ hasText: "2 leads" }).waitFor();

  await panel.getByText("Created the lead").waitFor();
  await desk.checkAccessibility(page, "lead panel");
  await desk.screenshots(page, "lead-panel");
  await page.keyboard.press("Escape");
  await panel.waitFor({ state: "detached" });
  assert.equal(new URL(page.url()).pathname, "/leads");
});

test("a duplicate offers to open the existing lead", async () => {
  const admin = await desk.server.register();
  const existing = await desk.server.createLead(admin.accessToken, { name: "Original Olga", email: uniqueEmail("olga") });
  const page = await desk.signIn(admin, { path: "/leads/new" });
  const panel = page.getByTestId("lead-panel");
  await panel.getByLabel("Name").fill("Olga again");
  await panel.getByLabel("Email").fill(existing.email.toUpperCase());
  await panel.getByRole("button", { name: "Create lead" }).click();
  await panel.getByRole("alert").waitFor();
  await panel.getByRole("button", { name: "Open the existing lead" }).click();
  await page.getByTestId("lead-panel").getByRole("heading", { name: "Original Olga" }).waitFor();
  assert.equal(new URL(page.url()).pathname, `/leads/${existing.id}`);
});

test("a stale edit shows who won and keeps the user's edit", async () => {
  const admin = await desk.server.register();
  const lead = await desk.server.createLead(admin.accessToken, { name: "Stale Steve", company: "Before" });
  const page = await desk.signIn(admin, { path: `/leads/${lead.id}` });
  const panel = page.getByTestId("lead-panel");
  await panel.getByRole("heading", { name: "Stale Steve" }).waitFor();
  await panel.getByRole("button", { name: "Edit" }).click();
  await panel.getByLabel("Company").fill("Mine");

  await desk.server.patchLead(admin.accessToken, lead.id, { company: "Theirs" });
  await panel.getByRole("button", { name: "Save changes" }).click();

  await panel.getByRole("alert").filter({ hasText: "Someone changed this lead" }).waitFor();
  assert.equal(await panel.getByLabel("Company").inputValue(), "Mine", "the user's edit is kept");
  await panel.locator(".stale-table").getByText("Theirs").waitFor(); // the fresh copy is shown
  await desk.checkAccessibility(page, "stale edit");

  await panel.getByRole("button", { name: "Save changes" }).click();
  await panel.getByRole("button", { name: "Edit" }).waitFor();
  const saved = await desk.server.getLead(admin.accessToken, lead.id);
  assert.equal(saved.company, "Mine");
  assert.equal(saved.version, 3);
});

test("an agent sees only their own leads", async () => {
  const admin = await desk.server.register();
  const agent = await desk.server.createUserAndLogin(admin.accessToken, { role: "agent", name: "Agnes Agent" });
  const other = await desk.server.createUserAndLogin(admin.accessToken, { role: "agent", name: "Otto Other" });
  const mine = [];
  for (let i = 0; i < 3; i += 1) mine.push((await desk.server.createLead(admin.accessToken, { name: unique("Mine"), assignedTo: agent.user.id })).id);
  for (let i = 0; i < 3; i += 1) await desk.server.createLead(admin.accessToken, { name: unique("Theirs"), assignedTo: other.user.id });
  await desk.server.createLead(admin.accessToken, { name: unique("Nobody's") });

  const page = await desk.signIn(agent);
  await page.getByTestId("lead-count").filter({ hasText: "3 leads" }).waitFor();
  await eventually(async () => assert.deepEqual((await rowIds(page)).sort(), [...mine].sort()));
  // No assignee filter, no bulk selection, no Admin for an agent; Imports is there.
  assert.equal(await page.getByLabel("Assigned to", { exact: true }).count(), 0);
  assert.equal(await page.getByRole("checkbox").count(), 0);
  assert.equal(await page.getByRole("link", { name: "Admin" }).count(), 0);
  await page.getByRole("link", { name: "Imports" }).waitFor();
});

test("filters live in the URL and survive a reload; search as you type", async () => {
  const admin = await desk.server.register();
  const token = admin.accessToken;
  const contacted = [];
  for (let i = 0; i < 3; i += 1) contacted.push((await desk.server.createLead(token, { name: unique("Called"), status: "contacted" })).id);
  for (let i = 0; i < 4; i += 1) await desk.server.createLead(token, { name: unique("Fresh") });
  const needle = await desk.server.createLead(token, { name: "Zebulon Quixote", company: "Needle Co", status: "contacted" });

  const page = await desk.signIn(admin);
  await page.getByTestId("lead-count").filter({ hasText: "8 leads" }).waitFor();
  await page.getByLabel("Status", { exact: true }).selectOption("contacted");
  await page.waitForURL("**/leads?status=contacted");
  await page.getByTestId("lead-count").filter({ hasText: "4 leads" }).waitFor();
  await eventually(async () => assert.deepEqual(await rowStatuses(page), ["contacted", "contacted", "contacted", "contacted"]));

  await page.reload();
  await page.getByTestId("lead-count").filter({ hasText: "4 leads" }).waitFor();
  assert.equal(await page.getByLabel("Status", { exact: true }).inputValue(), "contacted");
  await eventually(async () => assert.equal((await rowIds(page)).length, 4));

  // Typing narrows the list without pressing Enter; the query joins the URL.
  await page.getByLabel("Search").pressSequentially("zebul", { delay: 30 });
  await eventually(async () => assert.deepEqual(await rowIds(page), [needle.id]));
  await page.waitForURL((url) => url.searchParams.get("q") === "zebul" && url.searchParams.get("status") === "contacted");
  await page.getByTestId("lead-count").filter({ hasText: "1 lead" }).waitFor();

  // Back goes to the previous view.
  await page.goBack();
  await eventually(() => assert.equal(pathAndQuery(page), "/leads"));
  await page.getByTestId("lead-count").filter({ hasText: "8 leads" }).waitFor();
  assert.equal(await page.getByLabel("Search").inputValue(), "");
});

test("bulk update of selected leads", async () => {
  const admin = await desk.server.register();
  const manager = await desk.server.createUserAndLogin(admin.accessToken, { role: "manager", name: "Bulk Manager" });
  const agent = await desk.server.createUserAndLogin(admin.accessToken, { role: "agent", name: "Bulk Agent" });
  const ids = [];
  for (let i = 0; i < 4; i += 1) ids.push((await desk.server.createLead(admin.accessToken, { name: unique("Bulk") })).id);

  const page = await desk.signIn(manager);
  await rows(page).nth(3).waitFor();
  const chosen = ids.slice(0, 2);
  for (const id of chosen) await row(page, id).getByRole("checkbox").check();
  await page.getByText("2 selected").waitFor();
  await page.getByLabel("Set status").selectOption("qualified");
  await page.getByLabel("Assign to").selectOption({ label: "Bulk Agent" });
  await page.getByRole("button", { name: "Apply to selected" }).click();
  await page.getByTestId("toast").filter({ hasText: "2 leads updated" }).waitFor();

  for (const id of chosen) await row(page, id).and(page.locator('[data-status="qualified"]')).waitFor();
  for (const id of ids.slice(2)) assert.equal(await row(page, id).getAttribute("data-status"), "new");
  for (const id of chosen) {
    const lead = await desk.server.getLead(admin.accessToken, id);
    assert.equal(lead.status, "qualified");
    assert.equal(lead.assignedTo, agent.user.id);
  }
});

test("a lead assigned to me shows a toast and joins my list", async () => {
  const admin = await desk.server.register();
  const agent = await desk.server.createUserAndLogin(admin.accessToken, { role: "agent", name: "Toasty Agent" });
  const lead = await desk.server.createLead(admin.accessToken, { name: "Assigned Alice" });

  const page = await desk.signIn(agent);
  await page.getByTestId("lead-count").filter({ hasText: "0 leads" }).waitFor();
  await live(page);
  await desk.server.patchLead(admin.accessToken, lead.id, { assignedTo: agent.user.id });

  await page.getByTestId("toast").filter({ hasText: "Lead Assigned Alice was assigned to you" }).waitFor();
  await row(page, lead.id).waitFor();
  await page.getByTestId("lead-count").filter({ hasText: "1 lead" }).waitFor();
});

test("the table keeps only visible rows in the DOM and loads pages as the user scrolls", async () => {
  const admin = await desk.server.register();
  const total = 260;
  for (let start = 0; start < total; start += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, total - start) }, (_, i) =>
        desk.server.createLead(admin.accessToken, { name: `Row ${String(start + i).padStart(3, "0")}` })),
    );
  }
  const page = await desk.signIn(admin, { path: "/leads?sort=name" });
  await page.getByTestId("lead-count").filter({ hasText: `${total} leads` }).waitFor();
  await rows(page).first().waitFor();
  const inDom = await rows(page).count();
  assert.ok(inDom > 5 && inDom < 60, `${inDom} rows in the DOM for one screen`);

  // Scrolling to the end fetches the following pages (keyset cursor) until the last row shows.
  const scroller = page.locator(".lead-scroll");
  await eventually(async () => {
    await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await rows(page).filter({ hasText: "Row 259" }).waitFor({ timeout: 500 });
  }, { timeout: 15_000 });
  assert.ok((await rows(page).count()) < 60, "still only a screenful of rows");

  // Keyboard: a focused row opens with Enter; Escape closes and the list stays.
  const last = rows(page).filter({ hasText: "Row 259" });
  await last.focus();
  await page.keyboard.press("Enter");
  await page.getByTestId("lead-panel").getByRole("heading", { name: "Row 259" }).waitFor();
  await page.keyboard.press("Escape");
  await page.getByTestId("lead-panel").waitFor({ state: "detached" });
  assert.equal(pathAndQuery(page), "/leads?sort=name");
});

test("a rate-limited request says when to try again", async () => {
  const limited = await Desk.start({ env: { LMS_RATE_API: "15/1m" } });
  try {
    const admin = await limited.server.register();
    await limited.server.createLead(admin.accessToken, { name: "Limited Lou" });
    const page = await limited.signIn(admin);
    await rows(page).first().waitFor();
    const message = page.getByText(/Too many requests\. Try again in \d+ seconds?\./).first();
    const statuses = ["contacted", "new", ""];
    await eventually(async () => {
      await page.getByLabel("Status", { exact: true }).selectOption(statuses[Date.now() % 3]);
      await message.waitFor({ timeout: 300 });
    }, { timeout: 15_000 });
  } finally {
    await limited.close();
  }
});
