// Durability: once 202 is answered, the import completes even if the server is killed (SIGKILL)
// and restarted meanwhile, with no row lost and no row imported twice.

import { after, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer, sleep } from "../realtime/lib/server.mjs";
import { generateFile, generatedRowKind } from "./lib/csv.mjs";
import { assertCompleted, countLeads, expectAccepted, getErrors, getJob, postRaw, waitForJob } from "./lib/imports.mjs";

const servers = [];
after(async () => {
  for (const s of servers) await s.cleanup();
});

async function start() {
  const s = await LmsServer.start({ args: ["--import-batch-rows", "2000"] });
  servers.push(s);
  return s;
}

async function killHard(server) {
  server.child.kill("SIGKILL");
  const info = await server.exited;
  assert.equal(info.signal, "SIGKILL", `the server was not killed: ${JSON.stringify(info)}`);
}

/** Checks a completed generated import: counts by construction, lead count, errors file rows. */
async function checkOutcome(server, token, job, expected, rows) {
  assertCompleted(job, {
    totalRows: expected.totalRows,
    inserted: expected.valid,
    updated: 0,
    duplicates: expected.duplicates,
    invalid: expected.invalid,
  });
  assert.equal(await countLeads(server, token), expected.valid, "the organization's lead count differs from inserted: rows lost or imported twice");
  const errors = await getErrors(server, token, job.id);
  assert.equal(errors.status, 200);
  const lines = errors.records.slice(1);
  assert.equal(lines.length, expected.invalid + expected.duplicates, "errors file rows (a row reported twice or missing)");
  const seen = new Set(lines.map((l) => Number(l[0])));
  assert.equal(seen.size, lines.length, "a row number appears twice in the errors file");
  for (let i = 0; i < rows; i += 1) {
    const bad = generatedRowKind(i) !== "valid";
    if (bad !== seen.has(i + 2)) assert.fail(`row ${i + 2} (${generatedRowKind(i)}) ${bad ? "missing from" : "wrongly in"} the errors file`);
  }
}

test("SIGKILL while an import runs: after a restart it completes, no row lost or imported twice", { timeout: 1_200_000 }, async (t) => {
  const server = await start();
  for (const rows of [200_000, 600_000]) {
    const admin = await server.register();
    const token = admin.accessToken;
    const { csv, expected } = generateFile(rows, { tag: `dur${rows}` });
    const res = await postRaw(server, token, csv, { timeoutMs: 300_000 });
    const accepted = expectAccepted(res);

    // Wait until some rows are processed and the job still runs.
    let job;
    const deadline = Date.now() + 300_000;
    for (;;) {
      job = (await getJob(server, token, accepted.id)).body;
      if (job.state !== "queued" && job.state !== "running") break;
      if (job.state === "running" && job.processedRows > 0) break;
      if (Date.now() > deadline) assert.fail(`the job did not start within 300 s: ${JSON.stringify(job)}`);
      await sleep(50);
    }
    if (job.state !== "running") {
      // Too fast for this machine: check the outcome anyway, then try a bigger file.
      t.diagnostic(`${rows} rows finished before the kill (${JSON.stringify(job)}); trying a bigger file`);
      await checkOutcome(server, token, await waitForJob(server, token, accepted.id), expected, rows);
      continue;
    }
    const before = job.processedRows;
    await killHard(server);
    t.diagnostic(`killed at processedRows ${before} of ${rows}`);
    await server.restart();

    const done = await waitForJob(server, token, accepted.id, { timeoutMs: 900_000, intervalMs: 500, tolerateDown: true });
    assert.ok(done.processedRows >= before, "processedRows went backwards across the restart");
    await checkOutcome(server, token, done, expected, rows);
    return;
  }
  assert.fail("every import finished before it could be killed");
});

test("SIGKILL right after the 202: the queued import still completes", { timeout: 600_000 }, async () => {
  const server = await start();
  const admin = await server.register();
  const token = admin.accessToken;
  const rows = 20_000;
  const { csv, expected } = generateFile(rows, { tag: "queued" });
  const accepted = expectAccepted(await postRaw(server, token, csv));
  await killHard(server);
  await server.restart();
  const done = await waitForJob(server, token, accepted.id, { timeoutMs: 500_000, intervalMs: 500, tolerateDown: true });
  await checkOutcome(server, token, done, expected, rows);
});

test("two kills during one import", { timeout: 1_200_000 }, async (t) => {
  const server = await start();
  const admin = await server.register();
  const token = admin.accessToken;
  const rows = 200_000;
  const { csv, expected } = generateFile(rows, { tag: "twice" });
  const accepted = expectAccepted(await postRaw(server, token, csv, { timeoutMs: 300_000 }));
  let kills = 0;
  let lastProcessed = 0;
  const deadline = Date.now() + 900_000;
  for (;;) {
    const job = (await getJob(server, token, accepted.id)).body;
    if (job.state !== "queued" && job.state !== "running") break;
    if (kills < 2 && job.state === "running" && job.processedRows > lastProcessed) {
      lastProcessed = job.processedRows;
      await killHard(server);
      kills += 1;
      await server.restart();
      continue;
    }
    if (Date.now() > deadline) assert.fail(`not done within 900 s: ${JSON.stringify(job)}`);
    await sleep(kills < 2 ? 50 : 500);
  }
  t.diagnostic(`killed ${kills} times`);
  const done = await waitForJob(server, token, accepted.id, { timeoutMs: 60_000 });
  await checkOutcome(server, token, done, expected, rows);
});
