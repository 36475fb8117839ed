// Connecting: transports (websocket only, polling only, polling then upgrade), authentication,
// namespaces, and the ping:ack round trip.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";

import { LmsServer, sleep } from "./lib/server.mjs";
import {
  EventRecorder,
  awaitConnect,
  closeAllSockets,
  closeSocket,
  connectSocket,
  expectConnectError,
  openSocket,
  pingAck,
} from "./lib/client.mjs";
import { handshake } from "./lib/eio.mjs";

const TRANSPORTS = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"], upgrade: false },
  default: {},
};

let server;
let admin;
let agent;

before(async () => {
  server = await LmsServer.start();
  admin = await server.register();
  agent = await server.createUserAndLogin(admin.accessToken, { role: "agent", name: "Agent" });
});

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

describe("transports", () => {
  test("the Engine.IO handshake announces the websocket upgrade and the default heartbeat", { timeout: 20_000 }, async () => {
    const session = await handshake(server.url);
    assert.equal(typeof session.sid, "string");
    assert.ok(session.sid.length > 0);
    assert.deepEqual(session.open.upgrades, ["websocket"]);
    assert.equal(session.open.pingInterval, 25_000);
    assert.equal(session.open.pingTimeout, 20_000);
    assert.equal(typeof session.open.maxPayload, "number");
    await session.send("1"); // close it
  });

  test("websocket only: connects, acks, receives events", { timeout: 30_000 }, async () => {
    const socket = await connectSocket(server.url, { auth: { token: admin.accessToken }, ...TRANSPORTS.websocket });
    assert.equal(socket.connected, true);
    assert.equal(typeof socket.id, "string");
    assert.ok(socket.id.length > 0);
    assert.equal(socket.io.engine.transport.name, "websocket");
    assert.deepEqual(await pingAck(socket, { hello: "websocket" }), { hello: "websocket" });

    const record = new EventRecorder(socket, "admin websocket");
    const lead = await server.createLead(admin.accessToken, { name: "Over WebSocket" });
    const received = await record.next("lead:created", (p) => p.id === lead.id, 10_000);
    assert.deepEqual(received, lead, "the event's payload is the REST representation");
    closeSocket(socket);
  });

  test("polling only: connects, acks, receives events", { timeout: 30_000 }, async () => {
    const socket = await connectSocket(server.url, { auth: { token: admin.accessToken }, ...TRANSPORTS.polling });
    assert.equal(socket.io.engine.transport.name, "polling");
    assert.deepEqual(await pingAck(socket, { hello: "polling" }), { hello: "polling" });

    const record = new EventRecorder(socket, "admin polling");
    const lead = await server.createLead(admin.accessToken, { name: "Over Polling" });
    const received = await record.next("lead:created", (p) => p.id === lead.id, 10_000);
    assert.deepEqual(received, lead);
    // Still polling: no upgrade was asked for.
    assert.equal(socket.io.engine.transport.name, "polling");
    closeSocket(socket);
  });

  test("default: polling, then upgraded to websocket", { timeout: 30_000 }, async () => {
    const socket = openSocket(server.url, { auth: { token: admin.accessToken } });
    let initialTransport;
    const upgraded = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no upgrade within 15 s")), 15_000);
      socket.io.once("open", () => {
        const engine = socket.io.engine;
        initialTransport = engine.transport.name;
        engine.once("upgrade", (transport) => {
          clearTimeout(timer);
          resolve(transport.name);
        });
        engine.once("upgradeError", (err) => {
          clearTimeout(timer);
          reject(new Error(`upgradeError: ${err.message}`));
        });
      });
    });
    upgraded.catch(() => {}); // awaited below
    await awaitConnect(socket);
    assert.equal(initialTransport, "polling");
    assert.equal(await upgraded, "websocket");
    assert.equal(socket.io.engine.transport.name, "websocket");
    assert.equal(socket.connected, true);

    // The session carries on over the new transport: acks and server events.
    assert.deepEqual(await pingAck(socket, ["after", "upgrade"]), ["after", "upgrade"]);
    const record = new EventRecorder(socket, "admin upgraded");
    const lead = await server.createLead(admin.accessToken, { name: "After Upgrade" });
    const received = await record.next("lead:created", (p) => p.id === lead.id, 10_000);
    assert.equal(received.id, lead.id);
    assert.equal(socket.io.engine.transport.name, "websocket");
    closeSocket(socket);
  });
});

describe("authentication", () => {
  const b64url = (s) => Buffer.from(s).toString("base64url");

  async function expectUnauthorized(options, what) {
    for (const [name, transport] of Object.entries(TRANSPORTS)) {
      const err = await expectConnectError(server.url, { ...options, ...transport });
      assert.equal(err.message, "unauthorized", `${what} over ${name}: connect_error message`);
    }
  }

  test("a missing token is refused with connect_error unauthorized", { timeout: 60_000 }, async () => {
    await expectUnauthorized({}, "no auth at all");
    await expectUnauthorized({ auth: {} }, "auth without token");
    await expectUnauthorized({ auth: { token: "" } }, "empty token");
  });

  test("a bad token is refused with connect_error unauthorized", { timeout: 60_000 }, async () => {
    await expectUnauthorized({ auth: { token: "not-a-token" } }, "garbage token");
    await expectUnauthorized({ auth: { token: `${admin.accessToken}x` } }, "token with an extra character");
    await expectUnauthorized({ auth: { token: admin.refreshToken } }, "a refresh token");
    await expectUnauthorized({ auth: { token: 12345 } }, "a number");
  });

  test("a forged token is refused with connect_error unauthorized", { timeout: 60_000 }, async () => {
    const [header, payload, signature] = agent.accessToken.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));

    // The agent's token made into an admin's, signature kept.
    const elevated = `${header}.${b64url(JSON.stringify({ ...claims, role: "admin" }))}.${signature}`;
    await expectUnauthorized({ auth: { token: elevated } }, "payload changed, signature kept");

    // Signed with another key.
    const otherKey = createHmac("sha256", randomBytes(32)).update(`${header}.${payload}`).digest("base64url");
    await expectUnauthorized({ auth: { token: `${header}.${payload}.${otherKey}` } }, "signed with another key");

    // alg none.
    const none = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${payload}.`;
    await expectUnauthorized({ auth: { token: none } }, "alg none");

    // The genuine token still works.
    const socket = await connectSocket(server.url, { auth: { token: agent.accessToken }, transports: ["websocket"] });
    assert.deepEqual(await pingAck(socket, "genuine"), "genuine");
    closeSocket(socket);
  });

  test("an expired token is refused with connect_error unauthorized", { timeout: 60_000 }, async () => {
    const shortLived = await LmsServer.start({ args: ["--access-ttl", "1s"] });
    try {
      const account = await shortLived.register();
      // Wait until the REST API itself says the token has expired (the ttl is 1 s).
      const deadline = Date.now() + 15_000;
      let status;
      do {
        await sleep(250);
        status = (await shortLived.me(account.accessToken)).status;
      } while (status !== 401 && Date.now() < deadline);
      assert.equal(status, 401, "GET /api/auth/me with the expired token");
      for (const [name, transport] of Object.entries(TRANSPORTS)) {
        const err = await expectConnectError(shortLived.url, { auth: { token: account.accessToken }, ...transport });
        assert.equal(err.message, "unauthorized", `expired token over ${name}`);
      }
      // A fresh token from the same server connects.
      const fresh = await shortLived.login(account.user.email, account.password);
      const socket = await connectSocket(shortLived.url, { auth: { token: fresh.accessToken }, transports: ["websocket"] });
      assert.equal(socket.connected, true);
      closeSocket(socket);
    } finally {
      closeAllSockets();
      await shortLived.cleanup();
    }
  });

  test("the server keeps serving valid clients after refusing bad ones", { timeout: 30_000 }, async () => {
    const socket = await connectSocket(server.url, { auth: { token: admin.accessToken } });
    assert.deepEqual(await pingAck(socket, { still: "fine" }), { still: "fine" });
    closeSocket(socket);
  });
});

describe("namespaces", () => {
  for (const [name, transport] of Object.entries(TRANSPORTS)) {
    test(`an unknown namespace is refused with connect_error (${name})`, { timeout: 30_000 }, async () => {
      const err = await expectConnectError(`${server.url}/admin`, { auth: { token: admin.accessToken }, ...transport });
      assert.ok(err instanceof Error);
      assert.equal(typeof err.message, "string");
    });
  }

  test("the default namespace still works beside a refused one", { timeout: 30_000 }, async () => {
    const socket = await connectSocket(server.url, { auth: { token: admin.accessToken }, transports: ["websocket"] });
    await expectConnectError(`${server.url}/nope`, { auth: { token: admin.accessToken }, transports: ["websocket"] });
    assert.equal(socket.connected, true);
    assert.deepEqual(await pingAck(socket, 1), 1);
    closeSocket(socket);
  });
});

describe("ping:ack", () => {
  const payloads = {
    "an object": { a: 1, nested: { list: [1, "two", { three: 3 }], flag: true, nothing: null } },
    "an empty object": {},
    "a string": "hello",
    "an empty string": "",
    "a unicode string": "héllo wörld ✓ 日本語 🎉 \"quoted\" \\ back\nslash",
    "an integer": 42,
    "zero": 0,
    "a negative float": -3.25,
    "a large integer": 9007199254740991,
    "an array": [1, "a", { b: [] }],
    "a boolean": true,
    "false": false,
    "null": null,
    "a 32 KB string": "x".repeat(32 * 1024),
  };

  for (const [name, transport] of Object.entries({ websocket: TRANSPORTS.websocket, polling: TRANSPORTS.polling })) {
    describe(`over ${name}`, () => {
      let socket;
      before(async () => {
        socket = await connectSocket(server.url, { auth: { token: admin.accessToken }, ...transport });
      });
      after(() => closeSocket(socket));

      for (const [what, payload] of Object.entries(payloads)) {
        test(`echoes ${what}`, { timeout: 20_000 }, async () => {
          assert.deepEqual(await pingAck(socket, payload), payload);
        });
      }

      test("echoes 100 concurrent payloads, each to its own acknowledgement", { timeout: 30_000 }, async () => {
        const sent = Array.from({ length: 100 }, (_, i) => ({ i, text: `message ${i}` }));
        const answers = await Promise.all(sent.map((p) => pingAck(socket, p, 20_000)));
        assert.deepEqual(answers, sent);
      });

      test("ignores ping:ack without a callback and unknown events", { timeout: 20_000 }, async () => {
        socket.emit("ping:ack", { noAck: true });
        socket.emit("no:such:event", 1, 2, 3);
        await sleep(200);
        assert.equal(socket.connected, true);
        assert.deepEqual(await pingAck(socket, "after"), "after");
      });
    });
  }
});
