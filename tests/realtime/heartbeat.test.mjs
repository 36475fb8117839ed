// Heartbeat: with --ping-interval 300ms --ping-timeout 200ms, clients that answer pings stay
// connected through many ping cycles, and a client that does not answer is dropped.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer, sleep } from "./lib/server.mjs";
import { closeAllSockets, closeSocket, connectSocket, pingAck } from "./lib/client.mjs";
import { describeAnswer, handshake, isClosedAnswer } from "./lib/eio.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;

let server;
let admin;

before(async () => {
  server = await LmsServer.start({
    args: ["--ping-interval", `${PING_INTERVAL}ms`, "--ping-timeout", `${PING_TIMEOUT}ms`],
  });
  admin = await server.register();
});

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

test("the handshake announces the configured heartbeat", { timeout: 20_000 }, async () => {
  const session = await handshake(server.url);
  assert.equal(session.open.pingInterval, PING_INTERVAL);
  assert.equal(session.open.pingTimeout, PING_TIMEOUT);
  await session.send("1");
});

for (const [name, transport] of Object.entries({
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"], upgrade: false },
  "polling then websocket": {},
})) {
  test(`a client that answers pings stays connected over several ping cycles (${name})`, { timeout: 30_000 }, async () => {
    const socket = await connectSocket(server.url, { auth: { token: admin.accessToken }, ...transport });
    let pings = 0;
    const disconnects = [];
    socket.io.on("ping", () => (pings += 1));
    socket.on("disconnect", (reason) => disconnects.push(reason));

    await sleep(2_000);

    assert.deepEqual(disconnects, [], "no disconnect during 2 s");
    assert.equal(socket.connected, true);
    // 2 s at one ping every 300 ms is about 6 pings; 3 leaves room for a busy machine.
    assert.ok(pings >= 3, `expected at least 3 pings in 2 s, got ${pings}`);
    assert.deepEqual(await pingAck(socket, { alive: true }), { alive: true });
    closeSocket(socket);
  });
}

test("a raw polling session that answers pings stays open", { timeout: 30_000 }, async () => {
  const session = await handshake(server.url);
  let pings = 0;
  const started = Date.now();
  while (Date.now() - started < 2_000) {
    const answer = await session.poll({ timeoutMs: 5_000 });
    assert.ok(!answer.aborted, "a poll got no answer within 5 s although pings are due every 300 ms");
    assert.ok(!isClosedAnswer(answer), `the session was closed although it answered pings: ${describeAnswer(answer)}`);
    assert.equal(answer.status, 200, describeAnswer(answer));
    for (const packet of answer.packets) {
      if (packet === "2") {
        pings += 1;
        const pong = await session.send("3");
        assert.equal(pong.status, 200, `pong: ${pong.status} ${pong.text}`);
      }
    }
  }
  assert.ok(pings >= 3, `expected at least 3 pings in 2 s, got ${pings}`);
  await session.send("1");
});

test("a raw polling session that never answers pings is closed after pingInterval + pingTimeout", { timeout: 30_000 }, async () => {
  const session = await handshake(server.url);
  const opened = Date.now();
  const answers = [];
  let pings = 0;
  let closed = false;
  // Keep polling (so the pings are delivered) but never send a pong.
  while (!closed && Date.now() - opened < 5_000) {
    const answer = await session.poll({ timeoutMs: 3_000 });
    answers.push(describeAnswer(answer));
    if (answer.status === 200) pings += answer.packets.filter((p) => p === "2").length;
    closed = isClosedAnswer(answer);
    // Pings are due every 300 ms: a poll unanswered for 3 s is a failure (and an abandoned poll
    // could itself end the session, which would prove nothing).
    if (answer.aborted) break;
    if (answer.status === 0) await sleep(50);
  }
  const elapsed = Date.now() - opened;
  assert.ok(closed, `the session was still open ${elapsed} ms after the handshake; polls: ${answers.join(" | ")}`);
  assert.ok(pings >= 1, `no ping was ever delivered: ${answers.join(" | ")}`);
  // The session is gone for good.
  const after = await session.poll({ timeoutMs: 3_000 });
  assert.equal(after.status, 400, `a poll after the close: ${describeAnswer(after)}`);
});

test("a raw polling session that never polls is closed too", { timeout: 30_000 }, async () => {
  const session = await handshake(server.url);
  // pingInterval + pingTimeout is 500 ms; 2 s leaves room for a busy machine.
  await sleep(2_000);
  const answer = await session.poll({ timeoutMs: 3_000 });
  assert.ok(isClosedAnswer(answer), `a poll 2 s after the handshake: ${describeAnswer(answer)}`);
});
