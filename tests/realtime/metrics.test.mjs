// The realtime_connections gauge on /metrics follows sockets as they connect and leave, and a
// slow consumer (a queue limit it cannot keep under) is disconnected while others keep going.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer, sleep } from "./lib/server.mjs";
import { closeAllSockets, closeSocket, connectSocket, pingAck } from "./lib/client.mjs";

let server;
let admin;

before(async () => {
  server = await LmsServer.start();
  admin = await server.register();
});

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

async function gauge(name) {
  const res = await fetch(`${server.directUrl}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  assert.ok(line, `${name} missing from /metrics:\n${text}`);
  return Number(line.split(" ")[1]);
}

async function eventually(check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

test("realtime_connections counts connected sockets", { timeout: 30_000 }, async () => {
  assert.equal(await gauge("realtime_connections"), 0);
  const a = await connectSocket(server.url, { auth: { token: admin.accessToken }, transports: ["websocket"] });
  const b = await connectSocket(server.url, { auth: { token: admin.accessToken } });
  await eventually(async () => assert.equal(await gauge("realtime_connections"), 2));
  closeSocket(a);
  await eventually(async () => assert.equal(await gauge("realtime_connections"), 1));
  closeSocket(b);
  await eventually(async () => assert.equal(await gauge("realtime_connections"), 0));
  assert.ok((await gauge("process_resident_memory_bytes")) > 0);
});

// A minimal WebSocket client on a raw TCP socket that writes but never reads: the shape of a
// client that cannot keep up.
import net from "node:net";
import { randomBytes } from "node:crypto";

function maskedTextFrame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const header = n < 126 ? Buffer.from([0x81, 0x80 | n])
    : n < 65536 ? Buffer.from([0x81, 0x80 | 126, n >> 8, n & 0xff])
    : Buffer.concat([Buffer.from([0x81, 0x80 | 127, 0, 0, 0, 0]), (() => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; })()]);
  const mask = randomBytes(4);
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([header, mask, body]);
}

test("a client that never reads is disconnected once its queue is full; others are unaffected", { timeout: 60_000 }, async () => {
  const healthy = await connectSocket(server.url, { auth: { token: admin.accessToken }, transports: ["websocket"] });
  const { port } = new URL(server.url);
  const raw = net.connect(Number(port), "127.0.0.1");
  raw.on("error", () => {});
  await new Promise((resolve) => raw.once("connect", resolve));
  raw.write(
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n" +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  // A client may send frames only after the server's handshake answer (RFC 6455, 4.1).
  await new Promise((resolve) => raw.once("data", resolve));
  raw.write(maskedTextFrame(`40${JSON.stringify({ token: admin.accessToken })}`));
  await eventually(async () => assert.equal(await gauge("realtime_connections"), 2));
  raw.pause(); // from now on nothing is read: the server's writes back up
  let closed = false;
  raw.on("close", () => (closed = true));
  const big = "x".repeat(200_000);
  for (let i = 0; i < 200 && !closed; i++) {
    if (!raw.write(maskedTextFrame(`42${i}["ping:ack","${big}"]`))) await sleep(20);
    if (i % 20 === 19 && (await gauge("realtime_connections")) === 1) break;
  }
  await eventually(async () => assert.equal(await gauge("realtime_connections"), 1), 30_000);
  assert.deepEqual(await pingAck(healthy, { still: "fine" }), { still: "fine" });
  assert.match(server.logs, /"msg":"socket closed".*"reason":"slow consumer"/);
  raw.destroy();
});
