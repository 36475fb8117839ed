// POST /api/imports/:id/revert: deletes the leads the import inserted (except those changed since,
// which are kept and counted), restores the fields it filled with dedupe=update; only completed
// jobs; admins and managers.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer } from "../realtime/lib/server.mjs";
import { generateFile, phone, toCsv } from "./lib/csv.mjs";
import { assertCompleted, countLeads, expectAccepted, getJob, importAndWait, leadsByEmail, postRaw, waitForJob } from "./lib/imports.mjs";

let server;

before(async () => {
  server = await LmsServer.start({ args: ["--import-batch-rows", "500"] });
});

after(async () => {
  await server?.cleanup();
});

/** POST revert → {status, body}; a 202 is followed until the job is reverted. */
async function revert(token, id) {
  const res = await server.request("POST", `/api/imports/${id}/revert`, { token });
  return res;
}

test("revert deletes inserted leads, keeps changed ones, restores filled fields", { timeout: 120_000 }, async () => {
  const admin = await server.register();
  const manager = await server.createUserAndLogin(admin.accessToken, { role: "manager" });
  const agent = await server.createUserAndLogin(admin.accessToken, { role: "agent" });
  const token = admin.accessToken;
  const erin = await server.createLead(token, { name: "Erin Existing", email: "erin@example.com" });
  // Untouched has every field the file has (the job's source is never written onto an existing lead).
  const other = await server.createLead(token, { name: "Untouched", email: "untouched@example.com", phone: phone(300).display, source: "web" });

  const rows = [];
  for (let i = 1; i <= 5; i += 1) rows.push([`New ${i}`, `new${i}@example.com`, phone(300 + i).display, ""]);
  rows.push(["Erin Fill", "erin@example.com", phone(310).display, "Erin Co"]); // dedupe=update fills phone + company
  rows.push(["Bad Row", "", "12345", ""]); // invalid
  rows.push(["Untouched Dup", "untouched@example.com", "", ""]); // duplicate, nothing to fill
  const { job } = await importAndWait(server, token, toCsv(["name", "email", "phone", "company"], rows), { query: { dedupe: "update" } });
  assertCompleted(job, { inserted: 5, updated: 1, invalid: 1, duplicates: 1 });
  assert.equal(await countLeads(server, token), 7);

  const leads = await leadsByEmail(server, token);
  const erinFilled = leads.get("erin@example.com");
  assert.equal(erinFilled.source ?? null, null, "dedupe=update wrote the job's source onto an existing lead");
  assert.equal(erinFilled.phone, phone(310).e164);
  assert.equal(erinFilled.company, "Erin Co");
  // Someone else (the manager) changes one inserted lead after the import: it is kept.
  const changed = leads.get("new3@example.com");
  await server.patchLead(manager.accessToken, changed.id, { status: "contacted" });

  // Agents may not revert.
  const byAgent = await revert(agent.accessToken, job.id);
  assert.ok([403, 404].includes(byAgent.status), `agent revert: ${byAgent.status} ${JSON.stringify(byAgent.body)}`);
  assert.equal(await countLeads(server, token), 7, "the agent's revert deleted something");

  const res = await revert(token, job.id);
  assert.ok([200, 202].includes(res.status), `revert: ${res.status} ${JSON.stringify(res.body)}`);
  let reverted = res.body;
  if (res.status === 202 || reverted.state !== "reverted") reverted = await waitForJob(server, token, job.id, { until: (j) => j.state === "reverted" || j.state === "failed" });
  assert.equal(reverted.id, job.id);
  assert.equal(reverted.state, "reverted", JSON.stringify(reverted));
  assert.equal(reverted.reverted, 4, `reverted count: ${JSON.stringify(reverted)}`);
  assert.equal(reverted.kept, 1, `kept count: ${JSON.stringify(reverted)}`);
  // The job keeps its import counts.
  for (const k of ["totalRows", "inserted", "updated", "duplicates", "invalid"]) assert.equal(reverted[k], job[k], `reverted job's ${k}`);

  const got = await getJob(server, token, job.id);
  assert.equal(got.body.state, "reverted");
  assert.equal(got.body.reverted, 4);
  assert.equal(got.body.kept, 1);

  // What is left: Erin (restored), Untouched (unchanged), the changed lead.
  assert.equal(await countLeads(server, token), 3);
  const after = await leadsByEmail(server, token);
  assert.deepEqual([...after.keys()].sort(), ["erin@example.com", "new3@example.com", "untouched@example.com"]);
  for (const i of [1, 2, 4, 5]) {
    const gone = await server.request("GET", `/api/leads/${leads.get(`new${i}@example.com`).id}`, { token });
    assert.equal(gone.status, 404, `new${i} still readable by id`);
  }
  const erin2 = await server.getLead(token, erin.id);
  assert.equal(erin2.name, "Erin Existing");
  assert.equal(erin2.email, "erin@example.com");
  assert.equal(erin2.phone ?? null, null, "the filled phone was not restored");
  assert.equal(erin2.company ?? null, null, "the filled company was not restored");
  assert.equal(erin2.source ?? null, null, "the revert left a source on the lead");
  const kept = await server.getLead(token, changed.id);
  assert.equal(kept.status, "contacted");
  const untouched = await server.getLead(token, other.id);
  assert.equal(untouched.version, other.version);

  // A phone freed by the revert can be used again.
  const again = await server.request("POST", "/api/leads", { token, body: { name: "Reuse", phone: phone(301).display } });
  assert.equal(again.status, 201, `a reverted lead's phone still blocks: ${JSON.stringify(again.body)}`);

  // Reverting again: not a completed job.
  const twice = await revert(token, job.id);
  assert.ok([409, 422].includes(twice.status), `second revert: ${twice.status} ${JSON.stringify(twice.body)}`);
  assert.equal(typeof twice.body?.error?.code, "string");
});

test("a manager may revert", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const manager = await server.createUserAndLogin(admin.accessToken, { role: "manager" });
  const { job } = await importAndWait(server, admin.accessToken, toCsv(["name", "email"], [["M1", "m1@example.com"], ["M2", "m2@example.com"]]));
  assertCompleted(job, { inserted: 2 });
  const res = await revert(manager.accessToken, job.id);
  assert.ok([200, 202].includes(res.status), `manager revert: ${res.status} ${JSON.stringify(res.body)}`);
  const j = await waitForJob(server, admin.accessToken, job.id, { until: (x) => x.state === "reverted" || x.state === "failed" });
  assert.equal(j.state, "reverted");
  assert.equal(j.reverted, 2);
  assert.equal(j.kept, 0);
  assert.equal(await countLeads(server, admin.accessToken), 0);
});

test("reverting a job that is not completed: 409 or 422", { timeout: 300_000 }, async () => {
  const admin = await server.register();
  const token = admin.accessToken;
  // A file big enough to be still queued or running right after the 202 (adaptive: bigger if not).
  for (const rows of [40_000, 160_000]) {
    const { csv } = generateFile(rows, { tag: `rv${rows}` });
    const res = await postRaw(server, token, csv);
    const accepted = expectAccepted(res);
    const rev = await revert(token, accepted.id);
    const state = (await getJob(server, token, accepted.id)).body.state;
    if ([409, 422].includes(rev.status)) {
      assert.equal(typeof rev.body?.error?.code, "string", JSON.stringify(rev.body));
      const job = await waitForJob(server, token, accepted.id, { timeoutMs: 240_000, intervalMs: 500 });
      assertCompleted(job, { totalRows: rows });
      return;
    }
    // The job had already completed: the revert was legitimate; try a bigger file.
    assert.ok([200, 202].includes(rev.status), `revert right after upload: ${rev.status} ${JSON.stringify(rev.body)}`);
    assert.ok(["reverted"].includes(state) || state === "completed", `state after a successful revert: ${state}`);
    await waitForJob(server, token, accepted.id, { timeoutMs: 240_000, intervalMs: 500, until: (j) => j.state === "reverted" });
  }
  assert.fail("every import completed before it could be reverted while running");
});

test("reverting a dry run removes nothing", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const token = admin.accessToken;
  await server.createLead(token, { name: "Pre", email: "pre@example.com" });
  const { job } = await importAndWait(server, token, toCsv(["name", "email"], [["D1", "d1@example.com"], ["Pre", "pre@example.com"]]), { query: { dryRun: "true" } });
  assertCompleted(job, { dryRun: true, inserted: 1, duplicates: 1 });
  const res = await revert(token, job.id);
  if ([200, 202].includes(res.status)) {
    const j = await waitForJob(server, token, job.id, { until: (x) => x.state !== "completed" });
    assert.equal(j.reverted ?? 0, 0, "a dry run's revert deleted leads");
  } else {
    assert.ok([409, 422].includes(res.status), `revert of a dry run: ${res.status} ${JSON.stringify(res.body)}`);
  }
  assert.equal(await countLeads(server, token), 1);
});
