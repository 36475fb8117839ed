// Who receives which lead event: admins and managers of the organization get every lead's events,
// an agent only those of leads assigned to them (and lead:assigned when a lead leaves them), and
// nothing of one organization ever reaches another.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer, sleep } from "./lib/server.mjs";
import { EventRecorder, closeAllSockets, connectSocket, leadIdOf, pingAck } from "./lib/client.mjs";

let server;

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

before(async () => {
  server = await LmsServer.start();
});

test("lead events reach exactly their audience", { timeout: 90_000 }, async (t) => {
  // Organization 1: admin, manager, agents A and B. Organization 2: its admin.
  const admin1 = await server.register({ organizationName: "Org One" });
  const manager = await server.createUserAndLogin(admin1.accessToken, { role: "manager", name: "Manager" });
  const agentA = await server.createUserAndLogin(admin1.accessToken, { role: "agent", name: "Agent A" });
  const agentB = await server.createUserAndLogin(admin1.accessToken, { role: "agent", name: "Agent B" });
  const admin2 = await server.register({ organizationName: "Org Two" });

  // Different transports on purpose: the audience must not depend on it.
  const who = {
    admin1: { account: admin1, transport: { transports: ["websocket"] } },
    manager: { account: manager, transport: {} },
    agentA: { account: agentA, transport: { transports: ["websocket"] } },
    agentB: { account: agentB, transport: { transports: ["polling"], upgrade: false } },
    admin2: { account: admin2, transport: { transports: ["websocket"] } },
  };
  const rec = {};
  for (const [name, w] of Object.entries(who)) {
    const socket = await connectSocket(server.url, { auth: { token: w.account.accessToken }, ...w.transport });
    rec[name] = new EventRecorder(socket, name);
    // The socket is registered with the server once it answers an ack.
    assert.equal(await pingAck(socket, name), name);
  }

  const A = agentA.user.id;
  const B = agentB.user.id;
  const adminToken = admin1.accessToken;

  // 1. Unassigned lead, by the admin.
  const L1 = await server.createLead(adminToken, { name: "L1 unassigned" });
  // 2. Lead assigned to A, by the admin.
  const L2 = await server.createLead(adminToken, { name: "L2 for A", assignedTo: A });
  // 3. Lead assigned to B, by the admin.
  const L3 = await server.createLead(adminToken, { name: "L3 for B", assignedTo: B });
  // 4. L2 updated (not reassigned) by the admin.
  const L2v2 = await server.patchLead(adminToken, L2.id, { status: "contacted" });
  assert.equal(L2v2.version, 2);
  // 5. L2 reassigned from A to B by the admin.
  const L2v3 = await server.patchLead(adminToken, L2.id, { assignedTo: B });
  assert.equal(L2v3.assignedTo, B);
  // 6. L1 assigned (from nobody) to A by the manager.
  const L1v2 = await server.patchLead(manager.accessToken, L1.id, { assignedTo: A });
  // 7. A creates a lead: it is assigned to A.
  const L4 = await server.createLead(agentA.accessToken, { name: "L4 by A" });
  assert.equal(L4.assignedTo, A);
  // 8. B updates their own lead.
  const L3v2 = await server.patchLead(agentB.accessToken, L3.id, { status: "qualified" });
  // 9. The admin deletes L2, which is B's now.
  await server.deleteLead(adminToken, L2.id);
  // 10. Organization 2 creates a lead of its own.
  const M1 = await server.createLead(admin2.accessToken, { name: "M1 of org two" });

  const label = { [L1.id]: "L1", [L2.id]: "L2", [L3.id]: "L3", [L4.id]: "L4", [M1.id]: "M1" };
  for (const r of Object.values(rec)) r.labels = label;
  const everything = [
    "lead:created L1",
    "lead:created L2",
    "lead:created L3",
    "lead:updated L2",
    "lead:assigned L2",
    "lead:assigned L1",
    "lead:created L4",
    "lead:updated L3",
    "lead:deleted L2",
  ];
  const expected = {
    admin1: everything,
    manager: everything,
    agentA: ["lead:created L2", "lead:updated L2", "lead:assigned L2", "lead:assigned L1", "lead:created L4"],
    agentB: ["lead:created L3", "lead:assigned L2", "lead:updated L3", "lead:deleted L2"],
    admin2: ["lead:created M1"],
  };

  const summary = (r) =>
    r.events.map((e) => `${e.name} ${label[leadIdOf(e)] ?? JSON.stringify(e.payload)}`).sort();

  // Wait until everyone has at least what they should get...
  await Promise.all(
    Object.entries(expected).map(([name, list]) =>
      rec[name].until(
        () => list.every((item) => summary(rec[name]).filter((s) => s === item).length >= 1),
        15_000,
        `${name} to receive ${list.join(", ")}`,
      ),
    ),
  );
  // ...then let anything that should not come have a chance to arrive.
  await sleep(1_500);

  for (const [name, list] of Object.entries(expected)) {
    t.diagnostic(`${name}: ${summary(rec[name]).join(", ")}`);
    assert.deepEqual(summary(rec[name]), [...list].sort(), `${name} received exactly its events`);
  }

  // Payloads.
  for (const name of ["admin1", "manager", "agentA", "agentB"]) {
    const assigned = rec[name].forLead(L2.id).find((e) => e.name === "lead:assigned").payload;
    assert.equal(assigned.from, A, `${name}: lead:assigned L2 from`);
    assert.equal(assigned.to, B, `${name}: lead:assigned L2 to`);
    assert.deepEqual(assigned.lead, L2v3, `${name}: lead:assigned L2 carries the lead after the change`);
  }
  for (const name of ["admin1", "manager", "agentA"]) {
    const created = rec[name].forLead(L2.id).find((e) => e.name === "lead:created").payload;
    assert.deepEqual(created, L2, `${name}: lead:created L2 payload`);
    const updated = rec[name].forLead(L2.id).find((e) => e.name === "lead:updated").payload;
    assert.deepEqual(updated, L2v2, `${name}: lead:updated L2 payload`);
    const assignedL1 = rec[name].forLead(L1.id).find((e) => e.name === "lead:assigned").payload;
    assert.equal(assignedL1.from, null, `${name}: lead:assigned L1 from`);
    assert.equal(assignedL1.to, A, `${name}: lead:assigned L1 to`);
    assert.deepEqual(assignedL1.lead, L1v2);
  }
  for (const name of ["admin1", "manager", "agentB"]) {
    const deleted = rec[name].forLead(L2.id).find((e) => e.name === "lead:deleted").payload;
    assert.equal(deleted.id, L2.id, `${name}: lead:deleted payload`);
    const updated = rec[name].forLead(L3.id).find((e) => e.name === "lead:updated").payload;
    assert.deepEqual(updated, L3v2, `${name}: lead:updated L3 payload`);
  }
  assert.deepEqual(rec.admin2.forLead(M1.id)[0].payload, M1);
  assert.deepEqual(rec.agentA.forLead(L4.id)[0].payload, L4);
});
