// Real-time events of imports: import:progress (at most about one per second per job) and
// import:completed to the creator, admins and managers; the imported leads as leads:bulk counts,
// never one lead:created per row; nothing to another organization.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer } from "../realtime/lib/server.mjs";
import { EventRecorder, closeAllSockets, connectSocket, pingAck } from "../realtime/lib/client.mjs";
import { generateFile, toCsv } from "./lib/csv.mjs";
import { assertCompleted, countLeads, expectAccepted, postRaw, waitForJob } from "./lib/imports.mjs";

let server;

before(async () => {
  server = await LmsServer.start({ args: ["--import-batch-rows", "1000"] });
});

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

async function recorder(account, label, transport = { transports: ["websocket"] }) {
  const socket = await connectSocket(server.url, { auth: { token: account.accessToken }, ...transport });
  assert.equal(await pingAck(socket, label), label); // registered with the hub
  return new EventRecorder(socket, label);
}

const sum = (events, key) => events.reduce((s, e) => s + (e.payload?.[key] ?? 0), 0);
const PROGRESS_KEYS = ["id", "processedRows", "totalRows", "inserted", "updated", "duplicates", "invalid"];

function checkProgress(events, jobId, totalRows) {
  const mine = events.filter((e) => e.payload?.id === jobId);
  let last = -1;
  for (const e of mine) {
    for (const k of PROGRESS_KEYS) assert.ok(k in e.payload, `import:progress without ${k}: ${JSON.stringify(e.payload)}`);
    const p = e.payload;
    assert.ok(p.processedRows >= last, `processedRows went backwards: ${JSON.stringify(mine.map((x) => x.payload.processedRows))}`);
    last = p.processedRows;
    assert.ok(p.processedRows <= totalRows, `processedRows ${p.processedRows} > ${totalRows}`);
    assert.ok(p.inserted + p.updated + p.duplicates + p.invalid <= p.processedRows, `progress counts exceed processedRows: ${JSON.stringify(p)}`);
  }
  // At most about one per second per job (a little slack for timer jitter).
  for (let i = 1; i < mine.length; i += 1) {
    const gap = mine[i].t - mine[i - 1].t;
    assert.ok(gap >= 700, `two import:progress ${gap.toFixed(0)} ms apart (events at ${mine.map((e) => (e.t - mine[0].t).toFixed(0)).join(", ")} ms)`);
  }
  return mine;
}

test("a 500-row import: import:completed, leads:bulk counts, no lead:created, right audience", { timeout: 120_000 }, async () => {
  const admin = await server.register({ organizationName: "RT Org" });
  const manager = await server.createUserAndLogin(admin.accessToken, { role: "manager" });
  const agentA = await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "A" });
  const agentB = await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "B" });
  const stranger = await server.register({ organizationName: "RT Other" });

  const rec = {
    admin: await recorder(admin, "admin"),
    manager: await recorder(manager, "manager", {}), // polling then upgrade
    agentA: await recorder(agentA, "agentA"),
    agentB: await recorder(agentB, "agentB"),
    stranger: await recorder(stranger, "stranger"),
  };

  // 500 rows: 490 valid, 10 invalid (no name).
  const rows = [];
  for (let i = 0; i < 500; i += 1) rows.push(i % 50 === 7 ? ["", `rt.bad.${i}@example.com`] : [`RT ${i}`, `rt.${i}@example.com`]);
  const res = await postRaw(server, admin.accessToken, toCsv(["name", "email"], rows), { query: { assign: "round_robin" } });
  const accepted = expectAccepted(res);

  const completed = await rec.admin.next("import:completed", (p) => p?.id === accepted.id, 60_000);
  assertCompleted(completed, { totalRows: 500, inserted: 490, invalid: 10 });
  for (const k of ["id", "state", "createdBy", "createdAt", "finishedAt", "dryRun"]) assert.ok(k in completed, `import:completed payload without ${k}`);
  const job = await waitForJob(server, admin.accessToken, accepted.id);
  assert.deepEqual(
    { inserted: completed.inserted, invalid: completed.invalid, duplicates: completed.duplicates, processedRows: completed.processedRows },
    { inserted: job.inserted, invalid: job.invalid, duplicates: job.duplicates, processedRows: job.processedRows },
  );
  await rec.manager.next("import:completed", (p) => p?.id === accepted.id, 10_000);

  // The created leads arrive as leads:bulk counts (one tick per second: wait for the last one).
  await rec.admin.until((evs) => sum(evs.filter((e) => e.name === "leads:bulk"), "created") >= 490, 15_000, "leads:bulk created summing to 490");
  await rec.manager.until((evs) => sum(evs.filter((e) => e.name === "leads:bulk"), "created") >= 490, 15_000, "leads:bulk created summing to 490 (manager)");
  const countA = await countLeads(server, agentA.accessToken);
  const countB = await countLeads(server, agentB.accessToken);
  assert.equal(countA + countB, 490);
  await rec.agentA.until((evs) => sum(evs.filter((e) => e.name === "leads:bulk"), "created") >= countA, 15_000, `agent A's leads:bulk created summing to ${countA}`);
  await rec.agentB.until((evs) => sum(evs.filter((e) => e.name === "leads:bulk"), "created") >= countB, 15_000, `agent B's leads:bulk created summing to ${countB}`);
  await new Promise((r) => setTimeout(r, 2_500)); // anything late or extra

  for (const [who, r, expected] of [["admin", rec.admin, 490], ["manager", rec.manager, 490], ["agentA", rec.agentA, countA], ["agentB", rec.agentB, countB]]) {
    assert.equal(r.named("lead:created").length, 0, `${who} got ${r.named("lead:created").length} lead:created events`);
    const bulk = r.named("leads:bulk");
    assert.equal(sum(bulk, "created"), expected, `${who}: leads:bulk created counts ${JSON.stringify(bulk.map((e) => e.payload))}`);
    for (const e of bulk) for (const k of ["created", "updated", "deleted"]) assert.equal(typeof e.payload[k], "number", `leads:bulk ${JSON.stringify(e.payload)}`);
    // At most one leads:bulk per second.
    for (let i = 1; i < bulk.length; i += 1) assert.ok(bulk[i].t - bulk[i - 1].t >= 700, `${who}: two leads:bulk ${(bulk[i].t - bulk[i - 1].t).toFixed(0)} ms apart`);
  }
  for (const who of ["admin", "manager"]) checkProgress(rec[who].named("import:progress"), accepted.id, 500);
  // Agents did not create the job: no import events.
  for (const who of ["agentA", "agentB"])
    assert.deepEqual(rec[who].events.filter((e) => e.name.startsWith("import:")).map((e) => e.name), [], `${who} got import events`);
  assert.equal(rec.stranger.describe(), "nothing", "another organization received events");
});

test("a long import: import:progress about once per second, then import:completed", { timeout: 600_000 }, async (t) => {
  const admin = await server.register({ organizationName: "RT Progress" });
  const rec = await recorder(admin, "admin");
  const { csv, expected } = generateFile(60_000, { tag: "prog" });
  const res = await postRaw(server, admin.accessToken, csv);
  const accepted = expectAccepted(res);
  const completed = await rec.next("import:completed", (p) => p?.id === accepted.id, 540_000);
  assertCompleted(completed, { totalRows: expected.totalRows, inserted: expected.valid, duplicates: expected.duplicates, invalid: expected.invalid });
  const progress = checkProgress(rec.named("import:progress"), accepted.id, expected.totalRows);
  const ranMs = Date.parse(completed.finishedAt) - Date.parse(completed.startedAt);
  t.diagnostic(`60,000 rows in ${ranMs} ms, ${progress.length} import:progress events`);
  if (ranMs > 2_500) {
    assert.ok(progress.length >= 1, `the job ran ${ranMs} ms and no import:progress arrived`);
    assert.ok(progress.length <= Math.ceil(ranMs / 1000) + 2, `${progress.length} progress events in ${ranMs} ms`);
    assert.ok(progress.some((e) => e.payload.processedRows > 0 && e.payload.processedRows < expected.totalRows), "no progress event while the job was midway");
    assert.ok(progress.every((e) => e.payload.totalRows === expected.totalRows || e.payload.totalRows === 0 || e.payload.totalRows === null), "progress totalRows");
  } else {
    t.diagnostic("too fast to check the progress rate");
  }
  // Progress events come before completion.
  const tCompleted = rec.events.find((e) => e.name === "import:completed" && e.payload?.id === accepted.id).t;
  assert.ok(progress.every((e) => e.t <= tCompleted), "an import:progress after import:completed");
  assert.equal(rec.named("lead:created").length, 0, "lead:created during an import");
});

test("an agent's import: the agent gets import:completed, the other agent does not", { timeout: 60_000 }, async () => {
  const admin = await server.register({ organizationName: "RT Agents" });
  const agentA = await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "A" });
  const agentB = await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "B" });
  const recA = await recorder(agentA, "agentA");
  const recB = await recorder(agentB, "agentB");
  const recAdmin = await recorder(admin, "admin");
  const res = await postRaw(server, agentA.accessToken, toCsv(["name", "email"], [["Own 1", "own1@example.com"], ["Own 2", "own2@example.com"]]));
  const accepted = expectAccepted(res);
  const done = await recA.next("import:completed", (p) => p?.id === accepted.id, 30_000);
  assert.equal(done.state, "completed");
  assert.equal(done.inserted, 2);
  await recAdmin.next("import:completed", (p) => p?.id === accepted.id, 10_000);
  await new Promise((r) => setTimeout(r, 1_500));
  assert.deepEqual(recB.events.filter((e) => e.name.startsWith("import:")).map((e) => e.name), [], "agent B got agent A's import events");
  assert.ok(!recB.events.some((e) => e.name.startsWith("lead")), `agent B got lead events: ${recB.describe()}`);
});
