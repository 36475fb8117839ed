// What an import does with rows: validation and normalization like POST /api/leads, duplicates
// (in the file and against existing leads), exact counts, header synonyms and mapping, custom
// columns, delimiters, BOM and quoting, dedupe=update, source, the imported activity, the errors
// file (row numbers, reasons, original cells) and dry runs.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer } from "../realtime/lib/server.mjs";
import { phone, toCsv } from "./lib/csv.mjs";
import {
  assertCompleted,
  countLeads,
  expectAccepted,
  getErrors,
  importAndWait,
  leadsByEmail,
  listAllLeads,
  postRaw,
  waitForJob,
} from "./lib/imports.mjs";

let server;

before(async () => {
  server = await LmsServer.start();
});

after(async () => {
  await server?.cleanup();
});

// ---- the crafted file ----------------------------------------------------------------------------

const CRAFTED_HEADER = ["Name", "Phone", "Email", "Company"];
// [cells, expected outcome, what]; the spreadsheet row number is the index + 2.
const CRAFTED = [
  [["Alice Archer", phone(2).display, "Alice@Example.com", "Acme"], "inserted", "valid"],
  [["Smith, John", "12345", "john@example.com", ""], "invalid", "bad phone"],
  [["", phone(3).display, "noname@example.com", ""], "invalid", "missing name"],
  [["Dan NoContact", "", "", "Nowhere"], "invalid", "neither phone nor email"],
  [["Eve Phone", phone(4).dashed, "", ""], "inserted", "valid, phone only"],
  [["Frank Email", "", "frank@example.com", ""], "inserted", "valid, email only"],
  [["Alice Again", phone(2).spaced, "", ""], "duplicate", "same phone as row 2, spelled differently"],
  [["Gina", "", " ALICE@example.COM ", ""], "duplicate", "same email as row 2 after normalization"],
  [["Hank", "", "existing@example.com", ""], "duplicate", "email of an existing lead"],
  [["Ivy", phone(1).e164, "", ""], "duplicate", "phone of an existing lead"],
  [["Jack", "", "not-an-email", ""], "invalid", "bad email"],
  [["   ", "", "blank@example.com", ""], "invalid", "blank name"],
  [["Kim Valid", phone(5).display, "kim@example.com", "Kim & Co"], "inserted", "valid"],
];
const craftedCsv = () => toCsv(CRAFTED_HEADER, CRAFTED.map((r) => r[0]));
const craftedCount = (outcome) => CRAFTED.filter((r) => r[1] === outcome).length;

/** An org with the two existing leads the crafted file collides with. */
async function craftedOrg() {
  const admin = await server.register();
  const existing = [
    await server.createLead(admin.accessToken, { name: "Existing Email", email: "existing@example.com" }),
    await server.createLead(admin.accessToken, { name: "Existing Phone", phone: phone(1).display }),
  ];
  return { admin, existing };
}

test("crafted file: exact counts, normalized leads, source, imported activity", { timeout: 90_000 }, async () => {
  const { admin, existing } = await craftedOrg();
  const token = admin.accessToken;
  const { job } = await importAndWait(server, token, craftedCsv());
  assertCompleted(job, {
    totalRows: CRAFTED.length,
    inserted: craftedCount("inserted"),
    updated: 0,
    duplicates: craftedCount("duplicate"),
    invalid: craftedCount("invalid"),
    dryRun: false,
  });
  assert.deepEqual([job.inserted, job.duplicates, job.invalid], [4, 4, 5]);

  assert.equal(await countLeads(server, token), 2 + 4);
  const leads = await leadsByEmail(server, token);
  const alice = leads.get("alice@example.com");
  assert.ok(alice, "Alice (email lower-cased) missing");
  assert.equal(alice.name, "Alice Archer");
  assert.equal(alice.phone, phone(2).e164);
  assert.equal(alice.company, "Acme");
  assert.equal(alice.source, "import");
  assert.equal(alice.status, "new");
  assert.equal(alice.assignedTo, null);
  assert.equal(alice.version, 1);
  const all = await listAllLeads(server, token);
  const eve = all.find((l) => l.name === "Eve Phone");
  assert.ok(eve, "Eve missing");
  assert.equal(eve.phone, phone(4).e164);
  assert.ok(eve.email === null || eve.email === undefined || eve.email === "", `Eve's email: ${eve.email}`);
  assert.equal(leads.get("kim@example.com")?.company, "Kim & Co");
  assert.ok(leads.get("frank@example.com"), "Frank missing");
  for (const absent of ["john@example.com", "noname@example.com", "blank@example.com"]) assert.ok(!leads.has(absent), `${absent} was imported`);
  assert.deepEqual(
    all.map((l) => l.name).sort(),
    ["Alice Archer", "Eve Phone", "Existing Email", "Existing Phone", "Frank Email", "Kim Valid"],
  );

  // The existing leads were not touched (dedupe=skip).
  for (const e of existing) {
    const now = await server.getLead(token, e.id);
    assert.equal(now.version, 1, `existing lead ${e.name} changed: ${JSON.stringify(now)}`);
    assert.equal(now.name, e.name);
  }

  // Every imported lead has an `imported` activity with the job id.
  for (const lead of all.filter((l) => !l.name.startsWith("Existing"))) {
    const res = await server.request("GET", `/api/leads/${lead.id}/activities`, { token });
    assert.equal(res.status, 200);
    const imported = res.body.items.filter((a) => a.type === "imported");
    assert.equal(imported.length, 1, `${lead.name}: activities ${JSON.stringify(res.body.items)}`);
    assert.deepEqual(imported[0].data, { importId: job.id });
    assert.equal(imported[0].leadId, lead.id);
  }
});

test("crafted file: the errors CSV lists every invalid and duplicate row with its original cells", { timeout: 90_000 }, async (t) => {
  const { admin } = await craftedOrg();
  const { job } = await importAndWait(server, admin.accessToken, craftedCsv());
  assertCompleted(job);
  const errors = await getErrors(server, admin.accessToken, job.id);
  assert.equal(errors.status, 200, errors.text);
  assert.match(errors.contentType, /^text\/csv/);
  const [header, ...lines] = errors.records;
  assert.deepEqual(header, ["row", "reason", ...CRAFTED_HEADER], `errors header: ${errors.text.split("\n")[0]}`);

  const expected = CRAFTED.map((r, i) => ({ row: i + 2, cells: r[0], outcome: r[1], what: r[2] })).filter((r) => r.outcome !== "inserted");
  assert.equal(lines.length, expected.length, `errors file has ${lines.length} rows, expected ${expected.length}:\n${errors.text}`);
  assert.equal(lines.length, job.invalid + job.duplicates);
  const byRow = new Map(lines.map((l) => [Number(l[0]), l]));
  assert.equal(byRow.size, lines.length, "a row number appears twice");
  for (const e of expected) {
    const line = byRow.get(e.row);
    assert.ok(line, `row ${e.row} (${e.what}) missing from the errors file:\n${errors.text}`);
    assert.ok(line[1].trim().length > 0, `row ${e.row}: empty reason`);
    assert.deepEqual(line.slice(2), e.cells, `row ${e.row} (${e.what}): original cells`);
  }

  await t.test("reasons name the problem", () => {
    const reason = (row) => byRow.get(row)[1];
    assert.match(reason(3), /phone/i, "bad phone row");
    assert.match(reason(4), /name/i, "missing name row");
    assert.match(reason(12), /email/i, "bad email row");
    for (const row of [8, 9, 10, 11]) assert.match(reason(row), /dup/i, `duplicate row ${row}`);
  });
});

test("header synonyms, case-insensitive headers, custom columns", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const token = admin.accessToken;
  const csv = toCsv(
    ["FULL NAME", "Phone Number", "E-mail", "Organization", "Favourite Color", "Budget"],
    [
      ["Syn One", phone(30).display, "syn.one@example.com", "Org One", "blue", "1000"],
      ["Syn Two", "", "SYN.TWO@example.com", "", "", "5"],
    ],
  );
  const { job } = await importAndWait(server, token, csv);
  assertCompleted(job, { totalRows: 2, inserted: 2, invalid: 0 });
  const leads = await leadsByEmail(server, token);
  const one = leads.get("syn.one@example.com");
  assert.equal(one.name, "Syn One");
  assert.equal(one.phone, phone(30).e164);
  assert.equal(one.company, "Org One");
  assert.deepEqual(one.custom, { "Favourite Color": "blue", Budget: "1000" });
  const two = leads.get("syn.two@example.com");
  assert.equal(two.name, "Syn Two");
  assert.equal(two.custom?.Budget, "5");

  for (const [header, value] of [["Mobile", 31], ["Tel", 32], ["phone", 33], ["Name", null]]) {
    const org = await server.register();
    const h = header === "Name" ? ["Name", "Email"] : ["Name", header];
    const row = header === "Name" ? ["Just Name", "just@example.com"] : [`Via ${header}`, phone(value).display];
    const r = await importAndWait(server, org.accessToken, toCsv(h, [row]));
    assertCompleted(r.job, { totalRows: 1, inserted: 1 });
    const [lead] = await listAllLeads(server, org.accessToken);
    assert.equal(lead.name, row[0]);
    if (header !== "Name") assert.equal(lead.phone, phone(value).e164, `${header} column → phone`);
  }
});

test("`;` delimiter, First Name + Last Name, Company", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const csv = toCsv(
    ["First Name", "Last Name", "Mobile", "EMAIL", "Company", "Notes"],
    [
      ["Ada", "Lovelace", phone(40).display, "ada@example.com", "Engines, Ltd", "a, b"],
      ["Charles", "Babbage", "", "charles@example.com", "", ""],
    ],
    { delimiter: ";" },
  );
  assert.ok(csv.includes("Ada;Lovelace;"));
  const { job } = await importAndWait(server, admin.accessToken, csv);
  assertCompleted(job, { totalRows: 2, inserted: 2, invalid: 0 });
  const leads = await leadsByEmail(server, admin.accessToken);
  const ada = leads.get("ada@example.com");
  assert.equal(ada.name, "Ada Lovelace");
  assert.equal(ada.phone, phone(40).e164);
  assert.equal(ada.company, "Engines, Ltd");
  assert.equal(ada.custom?.Notes, "a, b");
  assert.equal(leads.get("charles@example.com").name, "Charles Babbage");
});

test("tab delimiter", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const csv = toCsv(["Name", "Tel", "Email", "City"], [["Tab One", phone(50).dashed, "tab.one@example.com", "Paris, France"], ["Tab Two", "", "tab.two@example.com", "Rome"]], { delimiter: "\t", eol: "\n" });
  const { job } = await importAndWait(server, admin.accessToken, csv);
  assertCompleted(job, { totalRows: 2, inserted: 2 });
  const leads = await leadsByEmail(server, admin.accessToken);
  assert.equal(leads.get("tab.one@example.com").phone, phone(50).e164);
  assert.equal(leads.get("tab.one@example.com").custom?.City, "Paris, France");
  assert.equal(leads.get("tab.two@example.com").name, "Tab Two");
});

test("BOM, CRLF, quoted fields with commas, newlines and escaped quotes; spreadsheet row numbers", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const header = ["Name", "Email", "Phone", "Notes"];
  const rows = [
    ['O"Brien, Pat', "pat@example.com", phone(60).display, "line one\r\nline two"], // row 2, spans lines
    ["Multi Line", "multi@example.com", "", 'say "hi"\nagain'], // row 3, spans lines
    ["Broken Phone", "", "999", "x"], // row 4: invalid phone
    ["Ctrl\nName", "ctrl@example.com", "", ""], // row 5: a name with a line break (kept, as POST /api/leads), spans lines
    ["Bell\u0007Name", "bell@example.com", "", "note\nwith a break"], // row 6: invalid (a control character other than tab or newline), spans lines
    ["Ünïcödé Nàme 日本", "unicode@example.com", "", "ok"], // row 7
  ];
  const csv = toCsv(header, rows, { bom: true, eol: "\r\n" });
  assert.ok(csv.startsWith("\uFEFFName,"));
  const { job } = await importAndWait(server, admin.accessToken, csv);
  assertCompleted(job, { totalRows: 6, inserted: 4, invalid: 2, duplicates: 0 });
  const leads = await leadsByEmail(server, admin.accessToken);
  const pat = leads.get("pat@example.com");
  assert.equal(pat.name, 'O"Brien, Pat');
  assert.equal(pat.custom?.Notes, "line one\r\nline two");
  assert.equal(leads.get("multi@example.com").name, "Multi Line");
  assert.equal(leads.get("multi@example.com").custom?.Notes, 'say "hi"\nagain');
  assert.equal(leads.get("ctrl@example.com")?.name, "Ctrl\nName", "a name's line break was not kept");
  assert.ok(!leads.has("bell@example.com"), "a name with a BEL character was imported (POST /api/leads rejects it)");
  assert.equal(leads.get("unicode@example.com").name, "Ünïcödé Nàme 日本");
  // The BOM is not part of the first header: the name column was found and no custom key has it.
  for (const l of leads.values()) for (const k of Object.keys(l.custom ?? {})) assert.ok(!k.includes("\uFEFF"), `custom key with a BOM: ${JSON.stringify(k)}`);

  const errors = await getErrors(server, admin.accessToken, job.id);
  assert.equal(errors.status, 200);
  assert.deepEqual(errors.records[0], ["row", "reason", ...header]);
  assert.equal(errors.records.length, 3, errors.text);
  const lines = errors.records.slice(1).sort((a, b) => Number(a[0]) - Number(b[0]));
  assert.deepEqual(lines.map((l) => l[0]), ["4", "6"], `row numbers of the 3rd and 5th data records (records 1, 2, 4 and 5 span two lines each):\n${errors.text}`);
  assert.deepEqual(lines[0].slice(2), rows[2]);
  assert.deepEqual(lines[1].slice(2), rows[4], "a cell with a newline is written back as it was");
});

test("mapping maps headers to fields", { timeout: 60_000 }, async (t) => {
  const admin = await server.register();
  const csv = toCsv(["Client", "Cell", "Mail", "Notes"], [["Mapped One", phone(70).display, "mapped@example.com", "n1"]]);
  const { job } = await importAndWait(server, admin.accessToken, csv, { query: { mapping: JSON.stringify({ Client: "name", Cell: "phone", Mail: "email" }) } });
  assertCompleted(job, { totalRows: 1, inserted: 1 });
  const [lead] = await listAllLeads(server, admin.accessToken);
  assert.equal(lead.name, "Mapped One");
  assert.equal(lead.phone, phone(70).e164);
  assert.equal(lead.email, "mapped@example.com");
  await t.test("an unmapped unknown column goes to custom", () => {
    assert.equal(lead.custom?.Notes, "n1", JSON.stringify(lead.custom));
  });
});

test("source: the parameter, default `import`, a source column wins", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const token = admin.accessToken;
  let r = await importAndWait(server, token, toCsv(["name", "email"], [["Src Param", "src.param@example.com"]]), { query: { source: "fair-2026" } });
  assertCompleted(r.job, { inserted: 1 });
  r = await importAndWait(server, token, toCsv(["name", "email", "source"], [["Src Col", "src.col@example.com", "webinar"]]), { query: { source: "fair-2026" } });
  assertCompleted(r.job, { inserted: 1 });
  r = await importAndWait(server, token, toCsv(["name", "email"], [["Src Default", "src.default@example.com"]]));
  assertCompleted(r.job, { inserted: 1 });
  const leads = await leadsByEmail(server, token);
  assert.equal(leads.get("src.param@example.com").source, "fair-2026");
  assert.equal(leads.get("src.col@example.com").source, "webinar");
  assert.equal(leads.get("src.default@example.com").source, "import");
  assert.equal(await countLeads(server, token, { source: "fair-2026" }), 1);
});

test("phones are read with the organization's defaultCountry", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const res = await server.request("PATCH", "/api/organization", { token: admin.accessToken, body: { defaultCountry: "GB" } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const csv = toCsv(["name", "phone"], [["Brit", "07400 123456"], ["Yank", "+1 415 555 0199"], ["Bad", "(415) 555-0198"]]);
  const { job } = await importAndWait(server, admin.accessToken, csv);
  // (415) 555-0198 read as a GB number is not valid.
  assertCompleted(job, { totalRows: 3, inserted: 2, invalid: 1 });
  const byName = new Map((await listAllLeads(server, admin.accessToken)).map((l) => [l.name, l]));
  assert.equal(byName.get("Brit").phone, "+447400123456");
  assert.equal(byName.get("Yank").phone, "+14155550199");
});

test("dedupe=update fills only the existing leads' empty fields", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const token = admin.accessToken;
  const erin = await server.createLead(token, { name: "Erin Existing", email: "erin@example.com" });
  // Fred has every field the file has, source included (an import's source fills an empty one).
  const fred = await server.createLead(token, { name: "Full Fred", email: "fred@example.com", phone: phone(80).display, company: "Fred Co", source: "web" });
  const pho = await server.createLead(token, { name: "Phone Only", phone: phone(81).display });
  const csv = toCsv(
    ["name", "email", "phone", "company"],
    [
      ["Erin Renamed", "ERIN@example.com", phone(82).display, "Erin Co"], // fills phone + company → updated
      ["Fred Other", "fred@example.com", phone(83).display, "Other Co"], // nothing empty → duplicate
      ["Pho Renamed", "po@example.com", phone(81).dashed, "PO Co"], // fills email + company → updated
      ["New Nora", "nora@example.com", "", ""], // inserted
    ],
  );
  const { job } = await importAndWait(server, token, csv, { query: { dedupe: "update" } });
  assertCompleted(job, { totalRows: 4, inserted: 1, updated: 2, duplicates: 1, invalid: 0 });

  const erin2 = await server.getLead(token, erin.id);
  assert.equal(erin2.name, "Erin Existing", "a non-empty name was overwritten");
  assert.equal(erin2.email, "erin@example.com");
  assert.equal(erin2.phone, phone(82).e164);
  assert.equal(erin2.company, "Erin Co");
  assert.ok(erin2.version > erin.version, "an updated lead's version did not increase");

  const fred2 = await server.getLead(token, fred.id);
  assert.deepEqual(
    { name: fred2.name, email: fred2.email, phone: fred2.phone, company: fred2.company, source: fred2.source, version: fred2.version },
    { name: "Full Fred", email: "fred@example.com", phone: phone(80).e164, company: "Fred Co", source: "web", version: fred.version },
  );
  const pho2 = await server.getLead(token, pho.id);
  assert.equal(pho2.name, "Phone Only");
  assert.equal(pho2.email, "po@example.com");
  assert.equal(pho2.company, "PO Co");
  assert.equal(pho2.phone, phone(81).e164);
  assert.equal(await countLeads(server, token), 4);

  // The duplicate row is in the errors file; updated rows are not.
  const errors = await getErrors(server, token, job.id);
  assert.deepEqual(errors.records.slice(1).map((r) => r[0]), ["3"], errors.text);
});

test("dry run: same counts and errors file as the real import, nothing written", { timeout: 90_000 }, async (t) => {
  const { admin, existing } = await craftedOrg();
  const token = admin.accessToken;
  const before = await countLeads(server, token);
  const dry = await importAndWait(server, token, craftedCsv(), { query: { dryRun: "true" } });
  assert.equal(dry.accepted.dryRun, true, "202 job of a dry run");
  assertCompleted(dry.job, { dryRun: true, totalRows: CRAFTED.length, inserted: 4, duplicates: 4, invalid: 5, updated: 0 });
  assert.equal(await countLeads(server, token), before, "a dry run created leads");
  const dryErrors = await getErrors(server, token, dry.job.id);
  assert.equal(dryErrors.status, 200);

  // A dry run with dedupe=update changes no existing lead.
  const fill = toCsv(["name", "email", "phone"], [["Fill", "existing@example.com", phone(90).display]]);
  const dryUpdate = await importAndWait(server, token, fill, { query: { dryRun: "true", dedupe: "update" } });
  assertCompleted(dryUpdate.job, { dryRun: true, updated: 1, inserted: 0 });
  const e0 = await server.getLead(token, existing[0].id);
  assert.equal(e0.phone ?? null, null, "a dry run filled a field");
  assert.equal(e0.version, 1);

  const real = await importAndWait(server, token, craftedCsv());
  assertCompleted(real.job, { dryRun: false });
  for (const k of ["totalRows", "inserted", "updated", "duplicates", "invalid"]) assert.equal(real.job[k], dry.job[k], `${k}: dry run vs real`);
  assert.equal(await countLeads(server, token), before + real.job.inserted);
  const realErrors = await getErrors(server, token, real.job.id);
  // Same rows with the same numbers and original cells (column 1, the reason, compared apart).
  const withoutReason = (records) => records.map((r) => [r[0], ...r.slice(2)]);
  assert.deepEqual(withoutReason(dryErrors.records), withoutReason(realErrors.records), "errors file of the dry run vs the real import (rows and cells)");
  await t.test("the reasons are identical too", () => {
    assert.deepEqual(dryErrors.records.map((r) => r[1]), realErrors.records.map((r) => r[1]), "reasons of the dry run vs the real import");
  });
});

test("metrics: import_rows_total counts rows by result", { timeout: 60_000 }, async () => {
  const { admin } = await craftedOrg();
  const { job } = await importAndWait(server, admin.accessToken, craftedCsv());
  assertCompleted(job);
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const lines = text.split("\n").filter((l) => l.startsWith("import_rows_total{"));
  assert.ok(lines.length > 0, `import_rows_total missing from /metrics`);
  const sum = lines.reduce((s, l) => s + Number(l.split(" ").pop()), 0);
  assert.ok(sum >= CRAFTED.length, `import_rows_total sums to ${sum}:\n${lines.join("\n")}`);
  assert.ok(lines.some((l) => /result="[^"]*invalid/.test(l)), lines.join("\n"));
});

test("a second import of the same file is all duplicates", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const csv = toCsv(["name", "email", "phone"], [["Twice A", "twice.a@example.com", phone(95).display], ["Twice B", "", phone(96).display]]);
  const first = await importAndWait(server, admin.accessToken, csv);
  assertCompleted(first.job, { inserted: 2 });
  const res = await postRaw(server, admin.accessToken, csv);
  const second = await waitForJob(server, admin.accessToken, expectAccepted(res).id);
  assertCompleted(second, { inserted: 0, duplicates: 2 });
  assert.equal(await countLeads(server, admin.accessToken), 2);
});
