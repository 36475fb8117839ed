// Development only: serves the built desk (dist/) with the single-page fallback to index.html
// and passes /api/*, /socket.io/*, /healthz, /readyz and /metrics (WebSocket upgrades too) to
// the lms at LMS_URL. `lms serve --web-dir dist` does the same without this script.
//
//   LMS_URL=http://127.0.0.1:8080 node dev-server.mjs [--port 5173] [--dir dist]
//   import { startDevServer } from "./dev-server.mjs";   // → { url, close() }

import http from "node:http";
import net from "node:net";
import { createReadStream, existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json",
};

const PROXIED = /^\/(api|socket\.io)(\/|$)|^\/(healthz|readyz|metrics)$/;

function serveFile(res, file, { immutable }) {
  res.writeHead(200, {
    "Content-Type": TYPES[path.extname(file)] || "application/octet-stream",
    "Cache-Control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; style-src 'self'",
    "X-Content-Type-Options": "nosniff",
  });
  createReadStream(file).pipe(res);
}

function serveStatic(root, req, res) {
  const pathname = decodeURIComponent(new URL(req.url, "http://x").pathname);
  const file = path.join(root, path.normalize(pathname).replace(/^(\.\.[/\\])+/, ""));
  if (file.startsWith(root) && existsSync(file) && statSync(file).isFile()) {
    serveFile(res, file, { immutable: pathname.startsWith("/assets/") });
  } else if (pathname.startsWith("/assets/")) {
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  } else {
    serveFile(res, path.join(root, "index.html"), { immutable: false });
  }
}

function proxyRequest(target, req, res) {
  const upstream = http.request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: { code: "unavailable", message: "The lms server cannot be reached." } }));
  });
  req.pipe(upstream);
}

/** WebSocket upgrades: the raw bytes both ways after replaying the request head. */
function proxyUpgrade(target, req, socket, head) {
  const upstream = net.connect(Number(target.port), target.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  const close = () => {
    upstream.destroy();
    socket.destroy();
  };
  upstream.on("error", close);
  socket.on("error", close);
}

export function startDevServer({ root = path.join(here, "dist"), lmsUrl = process.env.LMS_URL, port = 0, host = "127.0.0.1" } = {}) {
  if (!lmsUrl) throw new Error("LMS_URL is not set (e.g. http://127.0.0.1:8080)");
  const target = new URL(lmsUrl);
  const absoluteRoot = path.resolve(root);
  const server = http.createServer((req, res) => {
    if (PROXIED.test(new URL(req.url, "http://x").pathname)) proxyRequest(target, req, res);
    else serveStatic(absoluteRoot, req, res);
  });
  const upgraded = new Set();
  server.on("upgrade", (req, socket, head) => {
    upgraded.add(socket);
    socket.on("close", () => upgraded.delete(socket));
    proxyUpgrade(target, req, socket, head);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const address = server.address();
      resolve({
        url: `http://${host}:${address.port}`,
        close: () => new Promise((done) => {
          for (const socket of upgraded) socket.destroy();
          server.closeAllConnections?.();
          server.close(() => done());
        }),
      });
    });
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] || "").href) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : fallback;
  };
  const { url } = await startDevServer({ root: arg("--dir", path.join(here, "dist")), port: Number(arg("--port", 5173)) });
  console.log(`lead desk on ${url}, API at ${process.env.LMS_URL}`);
}
