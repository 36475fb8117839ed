// Many instances, one system: two lms instances on one PostgreSQL and one Redis behind nginx,
// started by scripts/cluster, driven by the stock socket.io-client and fetch. What one instance
// does must hold on the other at once: events reach the right sockets everywhere, a rate limit
// spent on one holds on the other, a deactivation, a demotion and a logout take effect
// everywhere; Redis can go away and come back under load; a session behind nginx works over
// polling and upgrades to WebSocket.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { closeAllSockets, connectSocket, waitFor } from "../lib/client.mjs";
import { sleep, unique } from "../lib/server.mjs";
import { Cluster } from "./cluster.mjs";

const RATE = 60; // requests per user per minute on every instance together

let cluster;
let A, B; // the two instances' REST APIs

before(async () => {
  cluster = await Cluster.up(2, { env: { LMS_RATE_API: `${RATE}/1m`, LMS_RATE_AUTH: "off" } });
  [A, B] = cluster.instances;
});

after(async () => {
  closeAllSockets();
  await cluster?.down();
});

/** An organization with an admin, a manager and two agents, all signed in. */
async function team(api = A) {
  const admin = await api.register();
  const manager = await api.createUserAndLogin(admin.accessToken, { role: "manager" });
  const agent1 = await api.createUserAndLogin(admin.accessToken, { role: "agent" });
  const agent2 = await api.createUserAndLogin(admin.accessToken, { role: "agent" });
  return { admin, manager, agent1, agent2 };
}

/** Records what a socket hears, by event name. */
function record(socket) {
  const heard = [];
  socket.onAny((event, payload) => heard.push({ event, payload }));
  return heard;
}

const socketOn = (api, token, options = {}) => connectSocket(api.url, { auth: { token }, transports: ["websocket"], ...options });

describe("events across instances", () => {
  test("a lead created on A reaches the right sockets on B, and no others", async () => {
    const t = await team();
    const stranger = await A.register(); // another organization, same event kinds
    const adminOnB = await socketOn(B, t.admin.accessToken);
    const managerOnB = await socketOn(B, t.manager.accessToken);
    const agent1OnB = await socketOn(B, t.agent1.accessToken);
    const agent2OnB = await socketOn(B, t.agent2.accessToken);
    const strangerOnB = await socketOn(B, stranger.accessToken);
    const agent2Heard = record(agent2OnB);
    const strangerHeard = record(strangerOnB);
    const agent1OnA = await socketOn(A, t.agent1.accessToken);
    const agent1HeardOnA = record(agent1OnA);

    const created = waitFor(adminOnB, "lead:created");
    const managerGot = waitFor(managerOnB, "lead:created");
    const agentGot = waitFor(agent1OnB, "lead:created");
    const lead = await A.createLead(t.admin.accessToken, { assignedTo: t.agent1.user.id });
    assert.equal((await created)[0].id, lead.id);
    assert.equal((await managerGot)[0].id, lead.id);
    assert.equal((await agentGot)[0].id, lead.id);

    await sleep(500);
    assert.deepEqual(agent2Heard, [], "an agent does not hear another agent's lead");
    assert.deepEqual(strangerHeard, [], "another organization hears nothing");
    assert.equal(agent1HeardOnA.filter((h) => h.event === "lead:created").length, 1, "exactly once on A too");
  });

  test("a reassignment on B reaches both agents' sockets on A", async () => {
    const t = await team();
    const lead = await B.createLead(t.admin.accessToken, { assignedTo: t.agent1.user.id });
    const from = await socketOn(A, t.agent1.accessToken);
    const to = await socketOn(A, t.agent2.accessToken);
    const fromGot = waitFor(from, "lead:assigned");
    const toGot = waitFor(to, "lead:assigned");
    await B.patchLead(t.admin.accessToken, lead.id, { assignedTo: t.agent2.user.id });
    for (const [payload] of [await fromGot, await toGot]) {
      assert.equal(payload.lead.id, lead.id);
      assert.equal(payload.to, t.agent2.user.id);
    }
  });
});

describe("accounts across instances", () => {
  test("deactivation on A disconnects the user's sockets on B and refuses the token there at once", async () => {
    const t = await team();
    const onB = await socketOn(B, t.agent1.accessToken);
    assert.equal((await B.me(t.agent1.accessToken)).status, 200); // cached on B
    const disconnected = waitFor(onB, "disconnect");
    await A.deactivateUser(t.admin.accessToken, t.agent1.user.id);
    const [reason] = await disconnected;
    assert.equal(reason, "io server disconnect");
    assert.equal((await B.me(t.agent1.accessToken)).status, 401);
  });

  test("a manager demoted on A stops hearing the organization's events on B", async () => {
    const t = await team();
    const managerOnB = await socketOn(B, t.manager.accessToken);
    const heard = record(managerOnB);
    await A.patchUser(t.admin.accessToken, t.manager.user.id, { role: "agent" });
    await sleep(300);
    const adminOnB = await socketOn(B, t.admin.accessToken);
    const adminGot = waitFor(adminOnB, "lead:created");
    await A.createLead(t.admin.accessToken, { assignedTo: t.agent1.user.id });
    await adminGot;
    await sleep(500);
    assert.deepEqual(heard.filter((h) => h.event === "lead:created"), []);
  });

  test("a logout on A ends the access token on B at once", async () => {
    const t = await team();
    assert.equal((await B.me(t.agent1.accessToken)).status, 200);
    const out = await A.request("POST", "/api/auth/logout", { token: t.agent1.accessToken, body: { refreshToken: t.agent1.refreshToken } });
    assert.ok(out.status === 204 || out.status === 200, `logout: ${out.status}`);
    assert.equal((await B.me(t.agent1.accessToken)).status, 401);
  });
});

describe("limits across instances", () => {
  test("a quota spent on A holds on B", async () => {
    const t = await team();
    const token = t.agent2.accessToken;
    const first = await A.me(token);
    const spent = RATE - Number(first.headers.get("ratelimit-remaining"));
    for (let i = spent; i < RATE; i++) {
      const res = await A.me(token);
      assert.equal(res.status, 200, `request ${i + 1} of ${RATE}`);
    }
    const onB = await B.me(token);
    assert.equal(onB.status, 429);
    assert.ok(Number(onB.headers.get("retry-after")) >= 1);
    // Another user is not limited.
    assert.equal((await B.me(t.agent1.accessToken)).status, 200);
  });
});

describe("through nginx", () => {
  test("polling then upgrade: one session on one instance, events from the other", async () => {
    const t = await team(cluster.nginx);
    const socket = await connectSocket(cluster.nginx.url, { auth: { token: t.admin.accessToken } });
    // The upgrade probe and the polling requests carry the sid: nginx routes them to the
    // instance that holds the session.
    for (let i = 0; i < 100 && socket.io.engine.transport.name !== "websocket"; i++) await sleep(50);
    assert.equal(socket.io.engine.transport.name, "websocket");
    assert.match(socket.io.engine.id, /^n[0-9]+\./);
    for (const api of [A, B]) {
      const got = waitFor(socket, "lead:created");
      const lead = await api.createLead(t.admin.accessToken);
      assert.equal((await got)[0].id, lead.id);
    }
  });

  test("long-polling only: every request of the session reaches its instance", async () => {
    const t = await team(cluster.nginx);
    const socket = await connectSocket(cluster.nginx.url, { auth: { token: t.admin.accessToken }, transports: ["polling"] });
    for (let i = 0; i < 6; i++) {
      const api = i % 2 ? A : B;
      const got = waitFor(socket, "lead:created");
      const lead = await api.createLead(t.admin.accessToken);
      assert.equal((await got)[0].id, lead.id);
    }
    const [echo] = await socket.timeout(5000).emitWithAck("ping:ack", { n: 1 }).then((r) => [r]);
    assert.deepEqual(echo, { n: 1 });
  });

  test("nginx passes the client address and /readyz", async () => {
    const res = await cluster.nginx.request("GET", "/readyz");
    assert.equal(res.status, 200);
    assert.equal(res.body.checks.redis.status, "ok");
  });
});

describe("Redis stopped and started under load", () => {
  test("requests keep working, /readyz says so, and sockets get resync when it is back", async () => {
    const t = await team();
    const onA = await socketOn(A, t.admin.accessToken);
    const onB = await socketOn(B, t.manager.accessToken);
    const resyncA = waitFor(onA, "resync", 30_000);
    const resyncB = waitFor(onB, "resync", 30_000);

    // Four users in turn, ten requests a second: well inside each user's quota.
    const tokens = [t.admin, t.manager, t.agent1, t.agent2].map((u) => u.accessToken);
    let stop = false;
    const statuses = [];
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const api = i % 2 ? A : B;
        const res = await api.request("POST", "/api/leads", { token: tokens[i % 4], body: { name: unique("L"), email: `${unique("l")}@example.com` } });
        statuses.push(res.status);
        await sleep(100);
      }
    })();

    await sleep(300);
    await cluster.stopRedis();
    let down;
    for (let i = 0; i < 100; i++) {
      down = await A.request("GET", "/readyz");
      if (down.status === 503) break;
      await sleep(100);
    }
    assert.equal(down.status, 503);
    assert.equal(down.body.checks.redis.status, "failing");
    await sleep(1000);
    await cluster.startRedis();
    const [payloadA] = await resyncA;
    const [payloadB] = await resyncB;
    assert.equal(typeof payloadA.reason, "string");
    assert.equal(typeof payloadB.reason, "string");
    stop = true;
    await load;
    assert.ok(statuses.length > 10, `only ${statuses.length} requests made`);
    assert.deepEqual([...new Set(statuses)], [201], "every request succeeded while Redis was away");

    // Events flow between the instances again.
    for (let i = 0; i < 50 && (await A.request("GET", "/readyz")).status !== 200; i++) await sleep(100);
    const got = waitFor(onB, "lead:created");
    const lead = await A.createLead(t.admin.accessToken);
    assert.equal((await got)[0].id, lead.id);
  });
});
