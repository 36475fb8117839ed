// Who gets the imported leads (assign=none|me|round_robin|<userId>, agents' imports), who may
// import, and who sees which jobs (agents their own, admins and managers all of the
// organization, another organization nothing).

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer, unique } from "../realtime/lib/server.mjs";
import { toCsv } from "./lib/csv.mjs";
import {
  assertCompleted,
  expectAccepted,
  expectError,
  getErrors,
  getJob,
  importAndWait,
  listAllLeads,
  listJobs,
  postRaw,
  waitForJob,
} from "./lib/imports.mjs";

let server;
let org; // {admin, manager, agentA, agentB, agentC (deactivated)}

before(async () => {
  server = await LmsServer.start();
  const admin = await server.register({ organizationName: "Assign Org" });
  const t = admin.accessToken;
  org = {
    admin,
    manager: await server.createUserAndLogin(t, { role: "manager", name: "Manager" }),
    agentA: await server.createUserAndLogin(t, { role: "agent", name: "Agent A" }),
    agentB: await server.createUserAndLogin(t, { role: "agent", name: "Agent B" }),
    agentC: await server.createUserAndLogin(t, { role: "agent", name: "Agent C (inactive)" }),
  };
  await server.deactivateUser(t, org.agentC.user.id);
});

after(async () => {
  await server?.cleanup();
});

/** `n` valid rows with fresh emails. */
function validFile(n) {
  const tag = unique("as").toLowerCase();
  const rows = [];
  for (let i = 0; i < n; i += 1) rows.push([`Assignee ${tag} ${i}`, `${tag}.${i}@example.com`]);
  return toCsv(["name", "email"], rows);
}

/** Imports `n` valid rows with a unique source; → {job, leads} (the leads of that import, seen by the admin). */
async function importRows(who, n, query = {}) {
  const source = unique("src");
  const { job } = await importAndWait(server, who.accessToken, validFile(n), { query: { source, ...query } });
  assertCompleted(job, { totalRows: n, inserted: n });
  const leads = await listAllLeads(server, org.admin.accessToken, { source });
  assert.equal(leads.length, n, `leads with source ${source}`);
  return { job, leads };
}

function tally(leads) {
  const out = {};
  for (const l of leads) out[l.assignedTo ?? "null"] = (out[l.assignedTo ?? "null"] ?? 0) + 1;
  return out;
}

test("assign=none (and the default): unassigned", { timeout: 60_000 }, async () => {
  for (const query of [{}, { assign: "none" }]) {
    const { leads } = await importRows(org.admin, 4, query);
    assert.deepEqual(tally(leads), { null: 4 }, JSON.stringify(query));
  }
});

test("assign=me: the caller (admin, manager)", { timeout: 60_000 }, async () => {
  let { leads } = await importRows(org.admin, 3, { assign: "me" });
  assert.deepEqual(tally(leads), { [org.admin.user.id]: 3 });
  ({ leads } = await importRows(org.manager, 3, { assign: "me" }));
  assert.deepEqual(tally(leads), { [org.manager.user.id]: 3 });
});

test("assign=<userId>: that user", { timeout: 60_000 }, async () => {
  let { leads } = await importRows(org.admin, 5, { assign: org.agentB.user.id });
  assert.deepEqual(tally(leads), { [org.agentB.user.id]: 5 });
  ({ leads } = await importRows(org.manager, 2, { assign: org.agentA.user.id }));
  assert.deepEqual(tally(leads), { [org.agentA.user.id]: 2 });
});

test("assign=round_robin: spread evenly over the active agents only; invalid and duplicate rows are not counted", { timeout: 90_000 }, async () => {
  // A fresh organization: agents A and B active, C inactive, no lead assigned yet.
  const admin = await server.register({ organizationName: "RR Org" });
  const t = admin.accessToken;
  const manager = await server.createUserAndLogin(t, { role: "manager" });
  const A = (await server.createUserAndLogin(t, { role: "agent", name: "RR A" })).user.id;
  const B = (await server.createUserAndLogin(t, { role: "agent", name: "RR B" })).user.id;
  const C = (await server.createUserAndLogin(t, { role: "agent", name: "RR C" })).user.id;
  await server.deactivateUser(t, C);

  const run = async (who, csv, expected) => {
    const source = unique("src");
    const { job } = await importAndWait(server, who.accessToken, csv, { query: { source, assign: "round_robin" } });
    assertCompleted(job, expected);
    return tally(await listAllLeads(server, t, { source }));
  };

  let got = await run(admin, validFile(10), { inserted: 10 });
  assert.deepEqual(got, { [A]: 5, [B]: 5 }, "10 rows over agents A and B (C is inactive)");

  const tag = unique("rr").toLowerCase();
  const rows = [];
  for (let i = 0; i < 10; i += 1) {
    rows.push([`RR ${i}`, `${tag}.${i}@example.com`]);
    rows.push(["", `${tag}.bad${i}@example.com`]); // invalid: no name
    rows.push([`RR dup ${i}`, `${tag}.${i}@example.com`]); // duplicate
  }
  got = await run(admin, toCsv(["name", "email"], rows), { totalRows: 30, inserted: 10, invalid: 10, duplicates: 10 });
  assert.deepEqual(got, { [A]: 5, [B]: 5 }, "10 valid rows among 30");

  got = await run(manager, validFile(11), { inserted: 11 });
  assert.deepEqual(Object.keys(got).sort(), [A, B].sort(), JSON.stringify(got));
  assert.ok(Math.abs(got[A] - got[B]) <= 1, `11 rows: ${JSON.stringify(got)}`);
});

test("agents may import: their rows are theirs whatever assign says", { timeout: 60_000 }, async () => {
  const A = org.agentA.user.id;
  for (const query of [{}, { assign: "none" }, { assign: "me" }, { assign: "round_robin" }, { assign: org.agentB.user.id }]) {
    const source = unique("src");
    const res = await postRaw(server, org.agentA.accessToken, validFile(4), { query: { source, ...query } });
    const accepted = expectAccepted(res, `agent import ${JSON.stringify(query)}`);
    assert.equal(accepted.createdBy, A);
    const job = await waitForJob(server, org.agentA.accessToken, accepted.id);
    assertCompleted(job, { inserted: 4 });
    const leads = await listAllLeads(server, org.admin.accessToken, { source });
    assert.deepEqual(tally(leads), { [A]: 4 }, `agent import with ${JSON.stringify(query)}`);
    // The agent sees them as their own.
    const mine = await listAllLeads(server, org.agentA.accessToken, { source });
    assert.equal(mine.length, 4);
  }
});

test("jobs: agents see their own, admins and managers all; newest first", { timeout: 90_000 }, async () => {
  const { job: adminJob } = await importRows(org.admin, 1);
  const { job: agentAJob } = await importRows(org.agentA, 1);
  const { job: agentBJob } = await importRows(org.agentB, 1);
  const { job: managerJob } = await importRows(org.manager, 1);

  const adminList = await listJobs(server, org.admin.accessToken);
  const managerList = await listJobs(server, org.manager.accessToken);
  const ids = adminList.map((j) => j.id);
  for (const j of [adminJob, agentAJob, agentBJob, managerJob]) assert.ok(ids.includes(j.id), `admin list misses ${j.id}`);
  assert.deepEqual(managerList.map((j) => j.id).sort(), [...ids].sort(), "manager and admin lists differ");
  // Newest first.
  for (let i = 1; i < adminList.length; i += 1) assert.ok(adminList[i - 1].createdAt >= adminList[i].createdAt, `list not newest first at ${i}`);
  assert.ok(ids.indexOf(managerJob.id) < ids.indexOf(agentBJob.id) && ids.indexOf(agentBJob.id) < ids.indexOf(agentAJob.id) && ids.indexOf(agentAJob.id) < ids.indexOf(adminJob.id), "order of the four jobs");

  const aList = await listJobs(server, org.agentA.accessToken);
  assert.ok(aList.length > 0 && aList.every((j) => j.createdBy === org.agentA.user.id), `agent A sees others' jobs: ${JSON.stringify(aList.map((j) => j.createdBy))}`);
  assert.ok(aList.some((j) => j.id === agentAJob.id));
  const bList = await listJobs(server, org.agentB.accessToken);
  assert.ok(bList.every((j) => j.createdBy === org.agentB.user.id));

  // Agents: their own job and its errors 200; others' 404.
  assert.equal((await getJob(server, org.agentA.accessToken, agentAJob.id)).status, 200);
  assert.equal((await getErrors(server, org.agentA.accessToken, agentAJob.id)).status, 200);
  for (const j of [adminJob, agentBJob, managerJob]) {
    const res = await getJob(server, org.agentA.accessToken, j.id);
    assert.equal(res.status, 404, `agent A GET job of ${j.createdBy}: ${res.status}`);
    assert.equal((await getErrors(server, org.agentA.accessToken, j.id)).status, 404, "agent A GET others' errors");
  }
  // Admins and managers: every job.
  for (const who of [org.admin, org.manager])
    for (const j of [adminJob, agentAJob, agentBJob, managerJob]) assert.equal((await getJob(server, who.accessToken, j.id)).status, 200);
});

test("agents may not revert, not even their own import (403)", { timeout: 60_000 }, async () => {
  const { job } = await importRows(org.agentA, 2);
  const res = await server.request("POST", `/api/imports/${job.id}/revert`, { token: org.agentA.accessToken });
  expectError({ ...res, text: JSON.stringify(res.body) }, 403, "forbidden", "agent reverts own import");
  assert.equal((await getJob(server, org.admin.accessToken, job.id)).body.state, "completed");
});

test("another organization: 404 for the job, its errors and its revert; not listed", { timeout: 60_000 }, async () => {
  const { job } = await importRows(org.admin, 2);
  const other = await server.register({ organizationName: "Other Org" });
  const otherAgent = await server.createUserAndLogin(other.accessToken, { role: "agent" });
  for (const who of [other, otherAgent]) {
    const t = who.accessToken;
    const got = await getJob(server, t, job.id);
    assert.equal(got.status, 404, `other org GET job: ${got.status}`);
    assert.equal(got.body?.error?.code, "not_found");
    assert.equal((await getErrors(server, t, job.id)).status, 404, "other org GET errors");
    const rev = await server.request("POST", `/api/imports/${job.id}/revert`, { token: t });
    assert.equal(rev.status, 404, `other org revert: ${rev.status}`);
    assert.ok(!(await listJobs(server, t)).some((j) => j.id === job.id), "listed for another org");
  }
  assert.equal((await getJob(server, org.admin.accessToken, job.id)).body.state, "completed", "the other org's revert did something");
  // Another org's user id is not a valid assignee.
  const res = await postRaw(server, org.admin.accessToken, validFile(1), { query: { assign: other.user.id } });
  expectError(res, 422, "validation_failed", "assign to another org's user");
});
