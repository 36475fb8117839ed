// maxPayload is enforced on both transports: a polling body or a WebSocket message larger than
// --socket-max-payload closes that client's session (413 on polling); others keep working.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer } from "./lib/server.mjs";
import { closeAllSockets, connectSocket, pingAck, waitFor } from "./lib/client.mjs";
import { handshake, isClosedAnswer } from "./lib/eio.mjs";

let server;
let admin;

before(async () => {
  server = await LmsServer.start({ args: ["--socket-max-payload", "10KB"] });
  admin = await server.register();
});

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

test("the handshake announces the configured maxPayload", { timeout: 20_000 }, async () => {
  const session = await handshake(server.url);
  assert.equal(session.open.maxPayload, 10 * 1024);
  await session.send("1");
});

test("an oversized polling body is 413 and closes the session", { timeout: 20_000 }, async () => {
  const session = await handshake(server.url);
  const answer = await session.sendRaw(`42["ping:ack","${"x".repeat(20 * 1024)}"]`);
  assert.equal(answer.status, 413);
  const after = await session.poll();
  assert.ok(isClosedAnswer(after), `expected the session closed, got ${after.status} ${after.text}`);
});

test("an oversized WebSocket message disconnects that socket only", { timeout: 30_000 }, async () => {
  const bystander = await connectSocket(server.url, { auth: { token: admin.accessToken }, transports: ["websocket"] });
  const socket = await connectSocket(server.url, {
    auth: { token: admin.accessToken },
    transports: ["websocket"],
    reconnection: false,
  });
  assert.deepEqual(await pingAck(socket, "small"), "small");
  const gone = waitFor(socket, "disconnect", 10_000);
  socket.emit("ping:ack", "x".repeat(20 * 1024), () => {});
  const [reason] = await gone;
  assert.equal(reason, "transport close");
  assert.deepEqual(await pingAck(bystander, { ok: true }), { ok: true });
});
