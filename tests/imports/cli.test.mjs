// `lms import FILE --org ID [--dedupe] [--assign] [--source] [--dry-run] --db PATH`: the same
// pipeline from the command line (server stopped), a final line with the counts as JSON, exit 0.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";

import { LMS_BINARY, LmsServer } from "../realtime/lib/server.mjs";
import { phone, toCsv } from "./lib/csv.mjs";
import { countLeads, listAllLeads } from "./lib/imports.mjs";

let server;
let admin;
let agents;

before(async () => {
  server = await LmsServer.start();
  admin = await server.register({ organizationName: "CLI Org" });
  agents = [
    await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "CLI A" }),
    await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "CLI B" }),
  ];
  await server.createLead(admin.accessToken, { name: "Already Here", email: "already@example.com" });
});

after(async () => {
  await server?.cleanup();
});

/** Runs `lms import ...` → {code, signal, stdout, stderr, counts (the last JSON line's object)} */
function runImport(args, timeoutMs = 120_000) {
  return new Promise((resolve, reject) => {
    // In the server's folder: with PostgreSQL, `lms import` copies the file to ./data/spool.
    const child = spawn(LMS_BINARY, ["import", ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: server.dir });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`lms import did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      let counts = null;
      const lines = `${stdout}`.split("\n").filter((l) => l.trim());
      const last = lines.at(-1) ?? "";
      const m = /\{.*\}/.exec(last);
      if (m) {
        try {
          counts = JSON.parse(m[0]);
        } catch {
          counts = null;
        }
      }
      resolve({ code, signal, stdout, stderr, counts });
    });
  });
}

/** 10 rows: 8 valid, 1 duplicate (of an existing lead), 1 invalid. */
function tenRowFile() {
  const rows = [];
  for (let i = 0; i < 8; i += 1) rows.push([`Cli ${i}`, `cli.${i}@example.com`, phone(400 + i).display]);
  rows.splice(3, 0, ["Dup Existing", "ALREADY@example.com", ""]);
  rows.splice(6, 0, ["Bad Phone", "", "12345"]);
  const file = path.join(server.dir, "cli-import.csv");
  writeFileSync(file, toCsv(["Full Name", "E-mail", "Phone Number"], rows));
  return file;
}

function assertCounts(run, expected, what) {
  assert.equal(run.code, 0, `${what}: exit ${run.code} ${run.signal ?? ""}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  assert.ok(run.counts, `${what}: no JSON counts on the last line:\n${run.stdout}`);
  for (const [k, v] of Object.entries(expected)) assert.equal(run.counts[k], v, `${what}: ${k} in ${JSON.stringify(run.counts)}`);
}

test("lms import: dry run, then a real import with round_robin and a source", { timeout: 300_000 }, async () => {
  const orgId = admin.organization.id;
  const file = tenRowFile();
  await server.stop();

  const dry = await runImport([file, "--org", orgId, "--dry-run", "--db", server.dbPath]);
  assertCounts(dry, { inserted: 8, updated: 0, duplicates: 1, invalid: 1, totalRows: 10 }, "lms import --dry-run");

  const real = await runImport([file, "--org", orgId, "--assign", "round_robin", "--source", "cli-source", "--db", server.dbPath]);
  assertCounts(real, { inserted: 8, updated: 0, duplicates: 1, invalid: 1, totalRows: 10 }, "lms import");

  await server.restart();
  // Tokens survive a restart (the secret is beside the database file, or in the PostgreSQL database).
  const token = admin.accessToken;
  assert.equal(await countLeads(server, token), 9, "1 existing + 8 imported (the dry run wrote nothing)");
  const imported = await listAllLeads(server, token, { source: "cli-source" });
  assert.equal(imported.length, 8);
  const tally = {};
  for (const l of imported) tally[l.assignedTo] = (tally[l.assignedTo] ?? 0) + 1;
  assert.deepEqual(tally, { [agents[0].user.id]: 4, [agents[1].user.id]: 4 }, "round_robin over the two agents");
  const zero = imported.find((l) => l.email === "cli.0@example.com");
  assert.equal(zero.name, "Cli 0");
  assert.equal(zero.phone, phone(400).e164);
});

test("lms import: dedupe=update and assign=<userId>", { timeout: 300_000 }, async () => {
  const orgId = admin.organization.id;
  const token = admin.accessToken;
  const target = await server.createLead(token, { name: "To Fill", email: "tofill@example.com" });
  const file = path.join(server.dir, "cli-update.csv");
  writeFileSync(file, toCsv(["name", "email", "company"], [["Ignored Name", "tofill@example.com", "Filled Co"], ["Cli New", "cli.new@example.com", ""]]));
  const before = await countLeads(server, token);
  await server.stop();
  const run = await runImport([file, "--org", orgId, "--dedupe", "update", "--assign", agents[1].user.id, "--db", server.dbPath]);
  assertCounts(run, { inserted: 1, updated: 1, duplicates: 0, invalid: 0, totalRows: 2 }, "lms import --dedupe update");
  await server.restart();
  assert.equal(await countLeads(server, token), before + 1);
  const filled = await server.getLead(token, target.id);
  assert.equal(filled.company, "Filled Co");
  assert.equal(filled.name, "To Fill");
  const [fresh] = await listAllLeads(server, token, { q: "cli.new@example.com" });
  assert.equal(fresh?.assignedTo, agents[1].user.id);
});

test("lms import: an unknown organization or a missing file fails with a non-zero exit", { timeout: 120_000 }, async () => {
  const file = path.join(server.dir, "cli-small.csv");
  writeFileSync(file, toCsv(["name", "email"], [["X", "x.cli@example.com"]]));
  await server.stop();
  try {
    const badOrg = await runImport([file, "--org", "0190f000-0000-7000-8000-000000000000", "--db", server.dbPath]);
    assert.notEqual(badOrg.code, 0, `unknown org: exit 0\n${badOrg.stdout}${badOrg.stderr}`);
    const noFile = await runImport([path.join(server.dir, "nope.csv"), "--org", admin.organization.id, "--db", server.dbPath]);
    assert.notEqual(noFile.code, 0, `missing file: exit 0\n${noFile.stdout}${noFile.stderr}`);
  } finally {
    await server.restart();
  }
  assert.equal((await listAllLeads(server, admin.accessToken, { q: "x.cli@example.com" })).length, 0);
});
