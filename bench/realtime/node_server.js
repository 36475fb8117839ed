#!/usr/bin/env node
// Baseline for bench/realtime.sh: a stock Node socket.io v4 server that behaves, as far as the
// benchmark client (tools/socket_bench) can see, like lms's real-time endpoint:
//   - Socket.IO (Engine.IO 4 / Socket.IO 5) on /socket.io/, websocket transport allowed
//     (polling too, as socket.io's default);
//   - a Socket.IO CONNECT must carry a non-empty auth token ({"token": "..."}); without one the
//     middleware refuses it with connect_error "unauthorized". Tokens are not verified: every
//     connected socket stands for an admin of one organization and joins that one room;
//   - POST /api/leads reads the JSON body and answers 201 with a lead {id, name, email, phone,
//     ...} (a fresh id), then emits `lead:created` with the lead to the room.
// Usage: node node_server.js [PORT]   (or PORT=...; 0 or nothing picks a free port)
// Prints one JSON line {"msg":"listening","port":N} on stdout once it listens.
"use strict";

const http = require("http");
const crypto = require("crypto");
const { Server } = require("socket.io");

const ROOM = "org:bench";
const port = Number(process.argv[2] ?? process.env.PORT ?? 0);

// Sortable-by-time ids, like lms's UUIDv7-style lead ids (only uniqueness matters here).
let seq = 0;
function newId() {
  seq += 1;
  return Date.now().toString(16).padStart(12, "0") + "-" + seq.toString(16).padStart(8, "0") +
    "-" + crypto.randomBytes(6).toString("hex");
}

function sendJson(res, status, body, extraHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
    ...extraHeaders,
  });
  res.end(text);
}

function createLead(req, res) {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let input;
    try {
      input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      sendJson(res, 400, { error: { code: "bad_request", message: "malformed JSON" } });
      return;
    }
    if (typeof input !== "object" || input === null || !input.name) {
      sendJson(res, 422, { error: { code: "validation_failed", message: "name is required" } });
      return;
    }
    const now = new Date().toISOString();
    const lead = {
      id: newId(),
      organizationId: "org-bench",
      name: String(input.name),
      phone: input.phone ?? null,
      email: input.email ? String(input.email).trim().toLowerCase() : null,
      company: input.company ?? null,
      source: input.source ?? null,
      status: input.status ?? "new",
      assignedTo: null,
      tags: Array.isArray(input.tags) ? input.tags : [],
      custom: typeof input.custom === "object" && input.custom !== null ? input.custom : {},
      version: 1,
      createdAt: now,
      updatedAt: now,
      createdBy: "user-bench",
    };
    // Like lms: the answer is sent, and the event goes out to every socket of the organization.
    sendJson(res, 201, lead, { Location: `/api/leads/${lead.id}` });
    io.to(ROOM).emit("lead:created", lead);
  });
}

const server = http.createServer((req, res) => {
  // socket.io answers /socket.io/ itself before this handler runs.
  const path = req.url.split("?")[0];
  if (req.method === "POST" && path === "/api/leads") {
    if (!/^Bearer \S+/.test(req.headers.authorization ?? "")) {
      sendJson(res, 401, { error: { code: "unauthorized", message: "missing token" } });
      return;
    }
    createLead(req, res);
    return;
  }
  if (req.method === "GET" && path === "/healthz") {
    sendJson(res, 200, { status: "ok" });
    return;
  }
  sendJson(res, 404, { error: { code: "not_found", message: "not found" } });
});
// Keep-alive for the benchmark's REST connection, and no request timeout while it waits.
server.keepAliveTimeout = 600_000;
server.headersTimeout = 601_000;
server.requestTimeout = 0;

const io = new Server(server, {
  path: "/socket.io/",
  transports: ["polling", "websocket"],
  pingInterval: 25_000,
  pingTimeout: 20_000,
  serveClient: false,
  cors: { origin: true },
});

io.use((socket, next) => {
  const token = socket.handshake.auth && socket.handshake.auth.token;
  if (typeof token === "string" && token.length > 0) next();
  else next(new Error("unauthorized"));
});

io.on("connection", (socket) => {
  socket.join(ROOM);
  // The contract's round-trip check: acknowledge with the same payload.
  socket.on("ping:ack", (payload, ack) => {
    if (typeof ack === "function") ack(payload);
  });
});

// A larger accept backlog than Node's default 511: the benchmark opens sockets in bursts.
server.listen({ port, host: process.env.BIND ?? "127.0.0.1", backlog: 65535 }, () => {
  console.log(JSON.stringify({ msg: "listening", port: server.address().port }));
});

for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}
