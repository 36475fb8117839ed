// A deactivated user's sockets are disconnected by the server at once, and their token no longer
// connects; other users' sockets are not touched.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer, sleep } from "./lib/server.mjs";
import { closeAllSockets, connectSocket, expectConnectError, pingAck, waitFor } from "./lib/client.mjs";
import { describeAnswer, handshake } from "./lib/eio.mjs";

let server;

before(async () => {
  server = await LmsServer.start();
});

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

test("deactivating a user disconnects their sockets with io server disconnect", { timeout: 60_000 }, async (t) => {
  const admin = await server.register();
  const agent = await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "Leaving Agent" });
  const colleague = await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "Staying Agent" });

  // The agent has two sockets on different transports, with automatic reconnection on (as a real
  // client would): "io server disconnect" must stop it from coming back.
  const reconnecting = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 };
  const agentSockets = {
    websocket: await connectSocket(server.url, { auth: { token: agent.accessToken }, transports: ["websocket"], ...reconnecting }),
    polling: await connectSocket(server.url, { auth: { token: agent.accessToken }, transports: ["polling"], upgrade: false, ...reconnecting }),
  };
  const others = {
    admin: await connectSocket(server.url, { auth: { token: admin.accessToken }, transports: ["websocket"] }),
    colleague: await connectSocket(server.url, { auth: { token: colleague.accessToken } }),
  };
  for (const [name, s] of Object.entries({ ...agentSockets, ...others })) {
    assert.equal(await pingAck(s, name), name, `${name} ack before`);
  }
  const otherDisconnects = [];
  for (const [name, s] of Object.entries(others)) s.on("disconnect", (reason) => otherDisconnects.push(`${name}: ${reason}`));
  const connectsAfter = { websocket: 0, polling: 0 };
  for (const [name, s] of Object.entries(agentSockets)) s.on("connect", () => (connectsAfter[name] += 1));

  const disconnected = Object.entries(agentSockets).map(([name, s]) =>
    waitFor(s, "disconnect", 5_000, `the ${name} socket's disconnect`).then(([reason]) => ({ name, reason, at: performance.now() })),
  );
  const patchedAt = performance.now();
  const patched = await server.deactivateUser(admin.accessToken, agent.user.id);
  assert.equal(patched.active, false);

  for (const { name, reason, at } of await Promise.all(disconnected)) {
    t.diagnostic(`${name} socket disconnected ${(at - patchedAt).toFixed(0)} ms after the PATCH was sent`);
    assert.equal(reason, "io server disconnect", `${name} socket's disconnect reason`);
  }

  // Nobody else was touched, and the agent's sockets stay down.
  await sleep(1_500);
  assert.deepEqual(otherDisconnects, []);
  for (const [name, s] of Object.entries(others)) assert.equal(await pingAck(s, name), name, `${name} ack after`);
  assert.deepEqual(connectsAfter, { websocket: 0, polling: 0 }, "the deactivated user's sockets did not come back");
  for (const s of Object.values(agentSockets)) assert.equal(s.connected, false);

  // The token no longer connects, and no longer works on the REST API.
  assert.equal((await server.me(agent.accessToken)).status, 401);
  const err = await expectConnectError(server.url, { auth: { token: agent.accessToken }, transports: ["websocket"] });
  assert.equal(err.message, "unauthorized");
});

test("a raw polling client that is between polls still receives the DISCONNECT packet", { timeout: 30_000 }, async () => {
  const admin = await server.register();
  const agent = await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "Between Polls" });
  const session = await handshake(server.url);
  const sent = await session.send(`40${JSON.stringify({ token: agent.accessToken })}`);
  assert.equal(sent.status, 200);
  const connected = await session.poll({ timeoutMs: 5_000 });
  assert.ok(connected.packets?.some((p) => p.startsWith("40{")), `CONNECT answer: ${describeAnswer(connected)}`);

  // No poll is pending while the user is deactivated.
  await server.deactivateUser(admin.accessToken, agent.user.id);
  await sleep(300);

  // The next poll must bring the Socket.IO DISCONNECT (41): a stock client that gets only a 400
  // or an Engine.IO close sees a transport failure and tries to reconnect.
  const answer = await session.poll({ timeoutMs: 5_000 });
  assert.equal(answer.status, 200, `the first poll after the deactivation: ${describeAnswer(answer)}`);
  const disconnectAt = answer.packets.indexOf("41");
  const closeAt = answer.packets.indexOf("1");
  assert.ok(disconnectAt >= 0 && (closeAt < 0 || disconnectAt < closeAt), `the first poll after the deactivation: ${describeAnswer(answer)}`);
});
