// The imports page in chromium: a semicolon-separated file with non-obvious headers, its
// detected mapping (one column re-mapped), a dry run whose counts match the file, the real
// import's progress bar and final counts, the errors file's content, and revert. Also: a file
// dropped on the drop zone, and a mapping without a contact column.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Desk } from "./lib/browser.mjs";

const VALID = 12000;
const INVALID = 20; // a phone that is no number
const DUPLICATES = 15; // the email of an earlier row
const HEADER = "Full Name;Mobile;E-mail;Company;Favourite Colour";

/** The test file: VALID good rows, then INVALID bad phones, then DUPLICATES repeated emails. */
function leadsCsv() {
  const lines = [HEADER];
  for (let i = 0; i < VALID; i += 1) lines.push(`Person ${i};+1415${2000000 + i};p${i}@example.com;"Company; ${i % 40}";red`);
  for (let i = 0; i < INVALID; i += 1) lines.push(`Bad Phone ${i};12;;Nowhere;blue`);
  for (let i = 0; i < DUPLICATES; i += 1) lines.push(`Twin ${i};;p${i}@example.com;Twins;green`);
  return `${lines.join("\r\n")}\r\n`;
}

let desk;
let admin;

before(async () => {
  // Small batches: the import takes a few seconds, with several checkpoints and progress events.
  desk = await Desk.start({ args: ["--import-batch-rows", "250"] });
  admin = await desk.server.register();
});

after(async () => {
  await desk?.close();
});

/** The figure named `name` of a JobCounts list inside `scope`. */
async function count(scope, name) {
  const text = await scope.locator(`[data-count="${name}"] dd`).textContent();
  return Number(text.replace(/[^0-9]/g, ""));
}

async function leadTotal() {
  const res = await desk.server.request("GET", "/api/leads/count", { token: admin.accessToken });
  return res.body.count;
}

test("upload, edit the mapping, dry run, import with progress, errors file, revert", async () => {
  const page = await desk.signIn(admin, { path: "/imports" });
  await page.getByLabel("CSV file").setInputFiles({ name: "fair-leads.csv", mimeType: "text/csv", buffer: Buffer.from(leadsCsv()) });

  // The detected mapping: the contract's synonyms, the unknown column as custom.
  const detected = {
    "Full Name": "name",
    Mobile: "phone",
    "E-mail": "email",
    Company: "company",
    "Favourite Colour": "custom",
  };
  for (const [header, field] of Object.entries(detected)) {
    assert.equal(await page.getByLabel(header, { exact: true }).inputValue(), field, header);
  }
  await page.getByLabel("Favourite Colour", { exact: true }).selectOption("ignore");
  await page.getByLabel("Source of new leads").fill("fair-2026");
  await desk.checkAccessibility(page, "imports: mapping");

  // Dry run: the counts of the file, nothing written.
  await page.getByRole("button", { name: "Dry run" }).click();
  const dryRun = page.getByTestId("dry-run-result");
  await dryRun.locator('[data-count="inserted"]').waitFor();
  assert.equal(await count(dryRun, "totalRows"), VALID + INVALID + DUPLICATES);
  assert.equal(await count(dryRun, "inserted"), VALID);
  assert.equal(await count(dryRun, "invalid"), INVALID);
  assert.equal(await count(dryRun, "duplicates"), DUPLICATES);
  assert.equal(await leadTotal(), 0, "a dry run writes no lead");
  await dryRun.getByRole("button", { name: /Download errors file/ }).waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await desk.screenshots(page, "imports");

  // The real import opens the job's page; the progress bar only moves forward, up to the total.
  await page.getByRole("button", { name: "Import", exact: true }).click();
  const progress = page.getByTestId("import-progress");
  await progress.waitFor();
  await page.waitForURL(/\/imports\/[0-9a-f-]+$/);
  await page.evaluate(() => {
    const bar = document.querySelector('[data-testid="import-progress"]');
    window.progressSeen = [bar.value];
    new MutationObserver(() => window.progressSeen.push(bar.value)).observe(bar, { attributes: true });
  });
  const result = page.getByTestId("import-result");
  await result.waitFor({ timeout: 60_000 });
  const total = VALID + INVALID + DUPLICATES;
  assert.equal(await progress.getAttribute("max"), String(total));
  assert.equal(await progress.getAttribute("value"), String(total));
  const seen = await page.evaluate(() => window.progressSeen);
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b), `progress went backwards: ${seen}`);
  assert.ok(seen.some((v) => v > 0 && v < total), `no progress was shown before the end: ${seen}`);
  assert.equal(await count(result, "inserted"), VALID);
  assert.equal(await count(result, "invalid"), INVALID);
  assert.equal(await count(result, "duplicates"), DUPLICATES);
  assert.equal(await leadTotal(), VALID);

  // The mapping was applied: the ignored column is not in custom; the source is the option's.
  const leads = await desk.server.request("GET", "/api/leads?q=p42%40example.com", { token: admin.accessToken });
  const lead = leads.body.items.find((l) => l.name === "Person 42");
  assert.deepEqual(lead.custom, {});
  assert.equal(lead.source, "fair-2026");
  assert.equal(lead.company, "Company; 2");

  await desk.checkAccessibility(page, "imports: job");
  await desk.screenshots(page, "import-job");

  // The errors file: the header, then one line per invalid or duplicate row with its reason.
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    result.getByRole("button", { name: /Download errors file/ }).click(),
  ]);
  assert.equal(download.suggestedFilename(), "fair-leads-errors.csv");
  const chunks = [];
  for await (const chunk of await download.createReadStream()) chunks.push(chunk);
  const lines = Buffer.concat(chunks).toString("utf8").trim().split(/\r?\n/);
  assert.equal(lines[0], `row,reason,${HEADER.replaceAll(";", ",")}`);
  assert.equal(lines.length, 1 + INVALID + DUPLICATES);
  assert.match(lines[1], new RegExp(`^${VALID + 2},"?phone`));
  assert.equal(lines.filter((l) => /duplicate/i.test(l)).length, DUPLICATES);

  // Revert, after the confirmation: every inserted lead goes, none was changed since.
  page.once("dialog", (dialog) => dialog.accept());
  await result.getByRole("button", { name: "Revert import" }).click();
  await result.locator('[data-count="reverted"]').waitFor();
  assert.equal(await count(result, "reverted"), VALID);
  assert.equal(await count(result, "kept"), 0);
  await page.getByRole("heading", { name: /reverted/ }).first().waitFor();
  assert.equal(await leadTotal(), 0);

  // The list of past imports has both jobs.
  await page.getByRole("link", { name: "← All imports" }).click();
  const list = page.getByTestId("imports-table");
  await list.locator("tbody tr").nth(1).waitFor();
  assert.match(await list.locator("tbody tr").first().textContent(), /fair-leads\.csv.*reverted/);
  assert.match(await list.locator("tbody tr").nth(1).textContent(), /dry run.*completed/);
  // Failed requests are logged by chromium itself (the favicon, say); script errors are not allowed.
  assert.deepEqual(page.consoleErrors.filter((e) => !e.startsWith("Failed to load resource")), []);
});

test("a dropped file is read; a mapping without phone or email cannot be sent", async () => {
  const page = await desk.signIn(admin, { path: "/imports" });
  const csv = "First_Name,last-name,Tel,Notes\nAda,Lovelace,+14155550123,first programmer\n";
  const dataTransfer = await page.evaluateHandle((text) => {
    const dt = new DataTransfer();
    dt.items.add(new File([text], "dropped.csv", { type: "text/csv" }));
    return dt;
  }, csv);
  await page.locator(".drop-zone").dispatchEvent("drop", { dataTransfer });
  await page.getByText("Selected: dropped.csv").waitFor();
  assert.equal(await page.getByLabel("First_Name", { exact: true }).inputValue(), "firstName");
  assert.equal(await page.getByLabel("last-name", { exact: true }).inputValue(), "lastName");
  assert.equal(await page.getByLabel("Tel", { exact: true }).inputValue(), "phone");
  assert.equal(await page.getByLabel("Notes", { exact: true }).inputValue(), "custom");

  await page.getByLabel("Tel", { exact: true }).selectOption("ignore");
  await page.getByText("Map a column to phone or to email.").waitFor();
  assert.equal(await page.getByRole("button", { name: "Dry run" }).isDisabled(), true);
  await page.getByLabel("Tel", { exact: true }).selectOption("phone");
  assert.equal(await page.getByRole("button", { name: "Dry run" }).isDisabled(), false);
});

test("the header reader: delimiter, RFC 4180 quotes, BOM, synonyms, mapping problems", async () => {
  const { readCsvHead, mappingProblems } = await import("../../web/src/pages/imports/csvHeader.js");
  const file = new Blob(['\ufeffName\t"E-Mail Address"\t"Notes, ""quoted"""\r\n"Ada\nLovelace"\tada@example.com\t"a\tb"\r\nBob\tbob@example.com\t']);
  const head = await readCsvHead(file);
  assert.equal(head.delimiter, "\t");
  assert.deepEqual(head.columns.map((c) => [c.header, c.field]), [
    ["Name", "name"],
    ["E-Mail Address", "email"],
    ['Notes, "quoted"', "custom"],
  ]);
  assert.deepEqual(head.columns[0].samples, ["Ada\nLovelace", "Bob"]);
  assert.deepEqual(head.columns[2].samples, ["a\tb"]);

  const semicolons = await readCsvHead(new Blob(["Vorname;Nachname;Telefon;Phone;Tel\n"]));
  assert.equal(semicolons.delimiter, ";");
  assert.deepEqual(semicolons.columns.map((c) => c.field), ["custom", "custom", "custom", "phone", "custom"]);
  assert.deepEqual(mappingProblems(semicolons.columns), ["Map a column to name (or to first and last name)."]);
  assert.deepEqual(
    mappingProblems([{ header: "A", field: "email" }, { header: "B", field: "email" }, { header: "C", field: "firstName" }]),
    ['"A" and "B" are both mapped to email.'],
  );
  await assert.rejects(readCsvHead(new Blob([""])), /empty/);
});
