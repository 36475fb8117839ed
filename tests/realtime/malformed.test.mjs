// Malformed packets close only the client that sent them: the sender's session is gone, while
// another socket.io-client connection keeps working.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer } from "./lib/server.mjs";
import { closeAllSockets, connectSocket, pingAck } from "./lib/client.mjs";
import { describeAnswer, handshake, isClosedAnswer } from "./lib/eio.mjs";

let server;
let admin;
let bystander;

before(async () => {
  server = await LmsServer.start();
  admin = await server.register();
  bystander = await connectSocket(server.url, { auth: { token: admin.accessToken }, transports: ["websocket"] });
});

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

/** Polls until the session is reported closed (400 or a close packet), for at most `ms`. */
async function expectSessionClosed(session, ms = 5_000) {
  const started = Date.now();
  const answers = [];
  while (Date.now() - started < ms) {
    const answer = await session.poll({ timeoutMs: ms });
    answers.push(describeAnswer(answer));
    if (isClosedAnswer(answer)) return answers;
    // An abandoned poll could itself end the session: that would prove nothing.
    if (answer.aborted) break;
  }
  throw new Error(`the session ${session.sid} is still open ${ms} ms later; polls: ${answers.join(" | ")}`);
}

/** A raw session connected to the default namespace with the admin's token. */
async function connectedRawSession() {
  const session = await handshake(server.url);
  const sent = await session.send(`40${JSON.stringify({ token: admin.accessToken })}`);
  assert.equal(sent.status, 200, `CONNECT: ${sent.status} ${sent.text}`);
  const answer = await session.poll({ timeoutMs: 5_000 });
  assert.equal(answer.status, 200, `CONNECT answer: ${describeAnswer(answer)}`);
  const connect = answer.packets.find((p) => p.startsWith("40"));
  assert.ok(connect, `no CONNECT answer: ${describeAnswer(answer)}`);
  assert.equal(typeof JSON.parse(connect.slice(2)).sid, "string");
  return session;
}

test("the raw client speaks the protocol: CONNECT then an acknowledged ping:ack", { timeout: 30_000 }, async () => {
  const session = await connectedRawSession();
  const sent = await session.send('421["ping:ack",{"raw":true}]');
  assert.equal(sent.status, 200);
  const answer = await session.poll({ timeoutMs: 5_000 });
  assert.deepEqual(answer.packets, ['431[{"raw":true}]'], describeAnswer(answer));
  await session.send("1");
});

describe("an Engine.IO packet that does not parse", () => {
  const garbage = {
    "an unknown packet type": "zzz not a packet",
    "control bytes": "\u0000\u0001\u0002\u0003",
    "a packet type out of range": "9hello",
  };
  for (const [what, body] of Object.entries(garbage)) {
    test(`closes the sender's session: ${what}`, { timeout: 30_000 }, async (t) => {
      const session = await handshake(server.url);
      const sent = await session.sendRaw(body);
      t.diagnostic(`POST ${JSON.stringify(body)} -> ${sent.status} ${JSON.stringify(sent.text)}`);
      await expectSessionClosed(session);
      assert.equal(bystander.connected, true);
      assert.deepEqual(await pingAck(bystander, { after: what }), { after: what });
    });
  }
});

describe("a Socket.IO packet that does not parse", () => {
  const garbage = {
    "truncated JSON": '42["ping:ack",{"broken":',
    "an unknown Socket.IO packet type": "49hello",
    "an event that is not an array": '42"not an array"',
  };
  for (const [what, body] of Object.entries(garbage)) {
    test(`closes the sender's session: ${what}`, { timeout: 30_000 }, async (t) => {
      const session = await connectedRawSession();
      const sent = await session.sendRaw(body);
      t.diagnostic(`POST ${JSON.stringify(body)} -> ${sent.status} ${JSON.stringify(sent.text)}`);
      await expectSessionClosed(session);
      assert.equal(bystander.connected, true);
      assert.deepEqual(await pingAck(bystander, { after: what }), { after: what });
    });
  }
});

test("a fresh socket.io-client connection works after all that", { timeout: 30_000 }, async () => {
  const socket = await connectSocket(server.url, { auth: { token: admin.accessToken } });
  assert.deepEqual(await pingAck(socket, [1, 2, 3]), [1, 2, 3]);
  assert.deepEqual(await pingAck(bystander, "still here"), "still here");
});
