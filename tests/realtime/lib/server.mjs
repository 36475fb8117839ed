// Starts the real lms binary on a loopback port with a fresh database, and talks to its REST API.
//
//   const server = await LmsServer.start({ args: ["--ping-interval", "300ms"] });
//   const admin = await server.register();            // {accessToken, user, organization, ...}
//   const agent = await server.createUserAndLogin(admin.accessToken, { role: "agent" });
//   const lead = await server.createLead(admin.accessToken, { name: "Ada", email: "ada@example.com" });
//   await server.restart();                            // same database folder, same port
//   await server.cleanup();                            // SIGTERM, await exit, remove the folder
//
// The binary is $LMS_BINARY, or build/lms of this checkout. The engine is $LMS_TEST_ENGINE:
// sqlite (the default, <folder>/lms.db) or postgres (a fresh database per folder on the server
// of $LMS_TEST_POSTGRES_URL, created with psql and dropped by cleanup(); uploads then spool in
// <folder>/spool, where SQLite puts them). `server.dbPath` is what `--db` takes either way.
//
// LMS_TEST_PROXY=nginx puts a private nginx in front of every server, configured from the
// deployment template (deploy/nginx/lms.conf.template, rendered by `scripts/cluster
// render-nginx`), and runs lms with `--trust-proxy true --node-id n1`: `server.url` is then
// nginx's, `server.port` stays lms's own. nginx outlives restarts (pointed at the new port when
// it changes) and stops with cleanup().

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";

const here = path.dirname(fileURLToPath(import.meta.url));
export const LMS_BINARY = process.env.LMS_BINARY || path.resolve(here, "../../../build/lms");

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const MAX_LOG_CHARS = 256 * 1024;

export const ENGINE = process.env.LMS_TEST_ENGINE || "sqlite";
export const PROXY = process.env.LMS_TEST_PROXY || "";
if (PROXY !== "" && PROXY !== "nginx") throw new Error(`LMS_TEST_PROXY=${PROXY}: expected nginx or nothing`);
/** For `test(name, { skip: skipBehindProxy("why") }, ...)`: the reason in proxy mode, else false. */
export const skipBehindProxy = (reason) => (PROXY ? reason : false);
const REPO = path.resolve(here, "../../..");
if (ENGINE !== "sqlite" && ENGINE !== "postgres") throw new Error(`LMS_TEST_ENGINE=${ENGINE}: expected sqlite or postgres`);

// PostgreSQL: one database per data folder on the server of LMS_TEST_POSTGRES_URL (its
// maintenance database), made and dropped with psql.
const PSQL = existsSync("/usr/lib/postgresql/15/bin/psql") ? "/usr/lib/postgresql/15/bin/psql" : "psql";
const databases = new Map(); // folder → database name

function postgresAdmin(sql) {
  const url = process.env.LMS_TEST_POSTGRES_URL;
  if (!url) throw new Error("LMS_TEST_ENGINE=postgres needs LMS_TEST_POSTGRES_URL (make test and scripts/with_postgres.sh set it)");
  execFileSync(PSQL, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], { stdio: ["ignore", "ignore", "pipe"] });
}

/** The URL `base` with its database replaced by `name`. */
function withDatabase(base, name) {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** What `--db` takes for `dir`: its SQLite file, or its PostgreSQL database (created on first use). */
export function databaseFor(dir) {
  if (ENGINE === "sqlite") return path.join(dir, "lms.db");
  let name = databases.get(dir);
  if (!name) {
    name = `lms_test_${process.pid}_${databases.size}_${randomBytes(3).toString("hex")}`;
    postgresAdmin(`CREATE DATABASE ${name}`);
    databases.set(dir, name);
  }
  return withDatabase(process.env.LMS_TEST_POSTGRES_URL, name);
}

/** Drops the PostgreSQL database of `dir`, if it has one. */
export function dropDatabaseOf(dir) {
  const name = databases.get(dir);
  if (!name) return;
  databases.delete(dir);
  try {
    postgresAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } catch (err) {
    process.stderr.write(`could not drop test database ${name}: ${err.message}\n`);
  }
}

// Every child still running when the test process exits is killed, so no run leaves a server
// behind; databases still there are dropped.
const liveProcesses = new Set();
process.on("exit", () => {
  for (const child of liveProcesses) {
    try {
      // nginx's master stops its worker on SIGTERM (a killed master would leave it behind).
      child.kill(child.isNginx ? "SIGTERM" : "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const dir of [...databases.keys()]) dropDatabaseOf(dir);
});

/** True when something accepts connections on 127.0.0.1:port. */
function accepting(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Whether 127.0.0.1:port can be bound now. */
function bindable(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * A private nginx (foreground master, one worker) on a free loopback port below the ephemeral
 * range, passing everything to lms on 127.0.0.1:lmsPort with the deployment template.
 */
export class NginxProxy {
  static async start(lmsPort) {
    const proxy = new NginxProxy();
    try {
      await proxy.#start(lmsPort);
    } catch (err) {
      await proxy.stop();
      throw err;
    }
    return proxy;
  }

  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), "lms-nginx-"));
    // As root the worker runs as nobody: it must reach the folder (nginx makes its temp
    // folders inside, owned by the worker's user).
    chmodSync(this.dir, 0o755);
    this.port = 0;
    this.child = null;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  errorLog() {
    try {
      return readFileSync(path.join(this.dir, "error.log"), "utf8");
    } catch {
      return "";
    }
  }

  #writeConfig(listenPort, lmsPort) {
    const d = this.dir;
    const rendered = execFileSync(
      "bash",
      [path.join(REPO, "scripts/cluster"), "render-nginx", `127.0.0.1:${listenPort}`, path.join(d, "access.log"), String(lmsPort)],
      { env: { ...process.env, LMS_CLUSTER_DIR: path.join(d, "cluster") }, encoding: "utf8" },
    );
    writeFileSync(path.join(d, "lms.conf"), rendered);
    mkdirSync(path.join(d, "tmp"), { recursive: true, mode: 0o755 });
    const user = process.getuid && process.getuid() === 0 ? "user nobody nogroup;\n" : "";
    writeFileSync(
      path.join(d, "nginx.conf"),
      `# written by tests/realtime/lib/server.mjs (LMS_TEST_PROXY=nginx)
${user}worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 4096; }
http {
  default_type application/octet-stream;
  tcp_nodelay on;
  client_body_temp_path ${d}/tmp/client_body;
  proxy_temp_path ${d}/tmp/proxy;
  fastcgi_temp_path ${d}/tmp/fastcgi;
  uwsgi_temp_path ${d}/tmp/uwsgi;
  scgi_temp_path ${d}/tmp/scgi;
  include ${d}/lms.conf;
}
`,
    );
  }

  async #start(lmsPort) {
    let lastError = "";
    for (let attempt = 0; attempt < 5; attempt += 1) {
      let port = 0;
      for (let i = 0; i < 100 && !port; i += 1) {
        const candidate = 20000 + Math.floor(Math.random() * 12000);
        if (await bindable(candidate)) port = candidate;
      }
      if (!port) throw new Error("no free loopback port for nginx");
      this.#writeConfig(port, lmsPort);
      const child = spawn(
        "nginx",
        ["-p", `${this.dir}/`, "-e", path.join(this.dir, "error.log"), "-c", path.join(this.dir, "nginx.conf"), "-g", "daemon off;"],
        { stdio: "ignore" },
      );
      child.isNginx = true;
      this.child = child;
      liveProcesses.add(child);
      this.exited = new Promise((resolve) =>
        child.on("exit", (code, signal) => {
          liveProcesses.delete(child);
          resolve({ code, signal });
        }),
      );
      let gone = false;
      this.exited.then(() => (gone = true));
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && !gone) {
        if (await accepting(port)) {
          this.port = port;
          this.lmsPort = lmsPort;
          return;
        }
        await sleep(20);
      }
      lastError = this.errorLog();
      await this.stop();
    }
    throw new Error(`nginx did not start: ${lastError}`);
  }

  /** Points nginx at lms on a new port (a graceful reload). */
  async retarget(lmsPort) {
    if (lmsPort === this.lmsPort) return;
    this.#writeConfig(this.port, lmsPort);
    this.child.kill("SIGHUP");
    this.lmsPort = lmsPort;
    // The new worker takes over at once; old ones finish their requests.
    await sleep(300);
  }

  async stop() {
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM"); // fast shutdown; the master waits for its worker
      let timer;
      const timedOut = new Promise((resolve) => (timer = setTimeout(() => resolve(null), 10_000)));
      if ((await Promise.race([this.exited, timedOut])) === null) {
        child.kill("SIGKILL");
        await this.exited;
      }
      clearTimeout(timer);
    }
  }

  cleanup() {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let uniqueCounter = 0;
/** A string unique within this test process and across runs: `<prefix>-<n>-<random>`. */
export function unique(prefix = "x") {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}-${randomBytes(4).toString("hex")}`;
}
export function uniqueEmail(prefix = "user") {
  return `${unique(prefix)}@example.com`.toLowerCase();
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An HTTP answer that was not what the helper expected. */
export class HttpError extends Error {
  constructor(method, url, expected, res) {
    super(`${method} ${url}: expected ${expected}, got ${res.status} ${JSON.stringify(res.body)}`);
    this.status = res.status;
    this.body = res.body;
  }
}

/**
 * The REST helpers against any base URL: a server of this file, one instance of a cluster or
 * the load balancer in front of it (`new LmsApi("http://127.0.0.1:8080")`).
 */
export class LmsApi {
  constructor(baseUrl = "") {
    this.baseUrl = baseUrl;
  }

  get url() {
    return this.baseUrl;
  }

  async request(method, urlPath, { token, body, headers = {}, timeoutMs = 30_000 } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) {
      h["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const res = await fetch(this.url + urlPath, {
      method,
      headers: h,
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed = text;
    if ((res.headers.get("content-type") || "").includes("json") && text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, headers: res.headers, body: parsed };
  }

  async #expect(method, urlPath, status, options) {
    const res = await this.request(method, urlPath, options);
    if (res.status !== status) throw new HttpError(method, urlPath, status, res);
    return res.body;
  }

  /** Registers an organization; its user is the admin. → {accessToken, refreshToken, user, organization} */
  async register({ organizationName = unique("Org"), name = "Admin", email = uniqueEmail("admin"), password = "admin-password" } = {}) {
    const body = await this.#expect("POST", "/api/auth/register", 201, {
      body: { organizationName, name, email, password },
    });
    return { ...body, password };
  }

  /** → {accessToken, refreshToken, expiresIn, user} */
  async login(email, password) {
    return this.#expect("POST", "/api/auth/login", 200, { body: { email, password } });
  }

  /** Creates a user as an admin. → user */
  async createUser(adminToken, { name = "User", email = uniqueEmail("user"), password = "user-password", role = "agent" } = {}) {
    return this.#expect("POST", "/api/users", 201, { token: adminToken, body: { name, email, password, role } });
  }

  /** Creates a user and logs them in. → {accessToken, refreshToken, user, password} */
  async createUserAndLogin(adminToken, fields = {}) {
    const password = fields.password ?? "user-password";
    const user = await this.createUser(adminToken, { ...fields, password });
    const session = await this.login(user.email, password);
    return { ...session, password };
  }

  async patchUser(adminToken, id, fields) {
    return this.#expect("PATCH", `/api/users/${id}`, 200, { token: adminToken, body: fields });
  }

  async deactivateUser(adminToken, id) {
    return this.patchUser(adminToken, id, { active: false });
  }

  async me(token) {
    return this.request("GET", "/api/auth/me", { token });
  }

  /** → lead (201). Without name/email, unique ones are generated. */
  async createLead(token, fields = {}) {
    const lead = { name: fields.name ?? unique("Lead"), ...fields };
    if (lead.email === undefined && lead.phone === undefined) lead.email = uniqueEmail("lead");
    return this.#expect("POST", "/api/leads", 201, { token, body: lead });
  }

  async getLead(token, id) {
    return this.#expect("GET", `/api/leads/${id}`, 200, { token });
  }

  async patchLead(token, id, fields) {
    return this.#expect("PATCH", `/api/leads/${id}`, 200, { token, body: fields });
  }

  async deleteLead(token, id) {
    const res = await this.request("DELETE", `/api/leads/${id}`, { token });
    if (res.status !== 204) throw new HttpError("DELETE", `/api/leads/${id}`, 204, res);
  }
}

export class LmsServer extends LmsApi {
  /**
   * @param {object} [options]
   * @param {string[]} [options.args] extra `lms serve` arguments
   * @param {string} [options.dir] database folder (default: a fresh temporary one, removed by cleanup())
   * @param {number} [options.port] port (default 0: a free one)
   * @param {object} [options.env] extra environment variables
   */
  static async start(options = {}) {
    const server = new LmsServer(options);
    await server.#spawn(options.port ?? 0);
    if (PROXY) {
      try {
        server.proxy = await NginxProxy.start(server.port);
      } catch (err) {
        await server.stop();
        throw err;
      }
    }
    return server;
  }

  constructor({ args = [], dir, env = {} } = {}) {
    super();
    this.extraArgs = [...args];
    this.env = { ...env };
    this.ownDir = !dir;
    this.dir = dir ?? mkdtempSync(path.join(tmpdir(), "lms-realtime-"));
    try {
      this.dbPath = databaseFor(this.dir);
    } catch (err) {
      if (this.ownDir) rmSync(this.dir, { recursive: true, force: true });
      throw err;
    }
    this.port = 0;
    this.child = null;
    this.logs = "";
    this.exitInfo = null;
    this.proxy = null;
  }

  /** Where clients connect: lms itself, or its nginx (LMS_TEST_PROXY=nginx). */
  get url() {
    return this.proxy ? this.proxy.url : `http://127.0.0.1:${this.port}`;
  }

  /** lms itself, even behind the proxy. */
  get directUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  get running() {
    return this.child !== null && this.exitInfo === null;
  }

  async #spawn(port) {
    const args = [
      "serve",
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--db", this.dbPath,
      "--log-requests", "false",
      // As deployed behind nginx (deploy/nginx/lms.conf.template), unless the test says otherwise.
      ...(PROXY && !this.extraArgs.some((a) => a.startsWith("--trust-proxy")) ? ["--trust-proxy", "true"] : []),
      ...(PROXY && !this.extraArgs.some((a) => a.startsWith("--node-id")) ? ["--node-id", "n1"] : []),
      // SQLite spools uploads in spool/ beside its file; PostgreSQL in the folder given.
      ...(ENGINE === "postgres" && !this.extraArgs.some((a) => a.startsWith("--spool-dir"))
        ? ["--spool-dir", path.join(this.dir, "spool")]
        : []),
      ...this.extraArgs,
    ];
    const child = spawn(LMS_BINARY, args, {
      stdio: ["ignore", "pipe", "pipe"],
      // Suites make many requests from one address: rate limits off unless args turn them on.
      env: { ...process.env, LMS_RATE_API: "off", LMS_RATE_AUTH: "off", ...this.env },
    });
    this.child = child;
    this.exitInfo = null;
    liveProcesses.add(child);

    let exitResolve;
    this.exited = new Promise((resolve) => (exitResolve = resolve));
    child.on("exit", (code, signal) => {
      liveProcesses.delete(child);
      this.exitInfo = { code, signal };
      exitResolve(this.exitInfo);
    });
    child.on("error", (err) => {
      liveProcesses.delete(child);
      this.logs += `\n[spawn error] ${err.message}\n`;
      this.exitInfo = { code: null, signal: null, error: err };
      exitResolve(this.exitInfo);
    });

    const listening = new Promise((resolve, reject) => {
      const pending = { stdout: "", stderr: "" };
      const onData = (stream) => (chunk) => {
        const text = chunk.toString("utf8");
        if (this.logs.length < MAX_LOG_CHARS) this.logs += text;
        if (this.port) return;
        pending[stream] += text;
        let nl;
        while ((nl = pending[stream].indexOf("\n")) >= 0) {
          const line = pending[stream].slice(0, nl);
          pending[stream] = pending[stream].slice(nl + 1);
          const m = line.includes('"listening"') ? /"port":(\d+)/.exec(line) : null;
          if (m) {
            this.port = Number(m[1]);
            resolve(this.port);
            return;
          }
        }
      };
      child.stdout.on("data", onData("stdout"));
      child.stderr.on("data", onData("stderr"));
      this.exited.then((info) =>
        reject(new Error(`lms exited before listening (${JSON.stringify(info)}); output:\n${this.logs}`)),
      );
    });

    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`lms did not print its port within ${START_TIMEOUT_MS} ms; output:\n${this.logs}`)),
        START_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([listening, timeout]);
    } catch (err) {
      this.#killHard();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  #killHard() {
    if (this.running) {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  /**
   * SIGTERM, then wait for the exit (SIGKILL after `timeoutMs`).
   * @returns {Promise<{code: number|null, signal: string|null, ms: number, killed: boolean}>}
   */
  async stop({ timeoutMs = STOP_TIMEOUT_MS } = {}) {
    if (!this.child) return { code: null, signal: null, ms: 0, killed: false };
    const started = performance.now();
    if (!this.running) return { ...this.exitInfo, ms: 0, killed: false };
    this.child.kill("SIGTERM");
    let timer;
    const timedOut = new Promise((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)));
    let info = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    let killed = false;
    if (info === null) {
      killed = true;
      this.#killHard();
      info = await this.exited;
    }
    return { ...info, ms: performance.now() - started, killed };
  }

  /** Stops the server and starts it again on the same database folder and (by default) the same port. */
  async restart({ port = this.port, args } = {}) {
    await this.stop();
    if (args) this.extraArgs = [...args];
    this.port = 0;
    // The port was just released; a few retries cover a slow release.
    let lastErr;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      try {
        await this.#spawn(port);
        if (this.proxy) await this.proxy.retarget(this.port);
        return this;
      } catch (err) {
        lastErr = err;
        await sleep(200);
      }
    }
    throw lastErr;
  }

  /** Stops the server and removes its folder when the helper created it. */
  async cleanup() {
    const info = await this.stop();
    if (this.proxy) {
      await this.proxy.stop();
      this.proxy.cleanup();
    }
    if (this.ownDir) {
      dropDatabaseOf(this.dir);
      rmSync(this.dir, { recursive: true, force: true });
    }
    // Under the sanitizer build, a memory error or leak found at any point fails the file.
    if (/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(this.logs))
      throw new Error(`lms reported a sanitizer error:\n${this.logs.slice(-4000)}`);
    if (!info.killed && info.code !== 0 && info.code !== null)
      throw new Error(`lms exited with code ${info.code}:\n${this.logs.slice(-4000)}`);
  }

  // ---- REST ----------------------------------------------------------------------------------

  /**
   * One request. `body` is sent as JSON. Returns {status, headers, body} with body parsed as JSON
   * when it is JSON, else the text.
   */
}
