// Reconnection: the server stops (SIGTERM) and starts again on the same database and port; the
// stock client reconnects by itself with the same access token (the token secret is kept beside
// the database) and receives events again.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer } from "./lib/server.mjs";
import { EventRecorder, closeAllSockets, connectSocket, pingAck, waitFor } from "./lib/client.mjs";

let server;

before(async () => {
  server = await LmsServer.start();
});

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

test("clients reconnect by themselves after the server restarts on the same port", { timeout: 120_000 }, async (t) => {
  const admin = await server.register();
  const reconnecting = {
    reconnection: true,
    reconnectionDelay: 200,
    reconnectionDelayMax: 1_000,
    randomizationFactor: 0,
  };
  const clients = {};
  for (const [name, transport] of Object.entries({
    websocket: { transports: ["websocket"] },
    "polling then websocket": {},
  })) {
    const socket = await connectSocket(server.url, { auth: { token: admin.accessToken }, ...reconnecting, ...transport });
    assert.equal(await pingAck(socket, name), name);
    const c = { socket, connects: 1, disconnects: [], reconnected: null, errors: [] };
    socket.on("connect", () => (c.connects += 1));
    socket.on("disconnect", (reason) => c.disconnects.push(reason));
    socket.on("connect_error", (err) => c.errors.push(err.message));
    c.reconnected = waitFor(socket.io, "reconnect", 60_000, `${name}: the manager's reconnect event`);
    c.reconnected.catch(() => {}); // awaited below
    clients[name] = c;
  }
  const port = server.port;

  const stopped = await server.stop();
  t.diagnostic(`SIGTERM with 2 sockets connected: exited in ${stopped.ms.toFixed(0)} ms, ${JSON.stringify(stopped)}`);
  assert.equal(stopped.killed, false, "lms exited on SIGTERM without being killed");
  assert.equal(stopped.code, 0, "lms exit code on SIGTERM");

  for (const [name, c] of Object.entries(clients)) {
    if (c.disconnects.length === 0) await waitFor(c.socket, "disconnect", 10_000, `${name}: disconnect`);
    assert.equal(c.socket.connected, false, `${name}: disconnected while the server is down`);
    assert.notEqual(c.disconnects[0], "io server disconnect", `${name}: a server stopping must not say "do not reconnect"`);
  }

  await server.restart({ port });
  assert.equal(server.port, port, "restarted on the same port");

  for (const [name, c] of Object.entries(clients)) {
    await c.reconnected;
    if (!c.socket.connected) await waitFor(c.socket, "connect", 15_000, `${name}: connect after reconnect`);
    assert.equal(c.connects, 2, `${name}: a second connect event`);
    assert.ok(!c.errors.includes("unauthorized"), `${name}: the token is still accepted (${c.errors.join(", ")})`);
    assert.deepEqual(await pingAck(c.socket, { back: name }), { back: name });
  }

  // The reconnected sockets receive events again.
  const recs = Object.fromEntries(Object.entries(clients).map(([name, c]) => [name, new EventRecorder(c.socket, name)]));
  const lead = await server.createLead(admin.accessToken, { name: "After Restart" });
  for (const [name, rec] of Object.entries(recs)) {
    const got = await rec.next("lead:created", (p) => p.id === lead.id, 10_000);
    assert.equal(got.id, lead.id, `${name}: lead:created after the restart`);
  }
  closeAllSockets();
});
