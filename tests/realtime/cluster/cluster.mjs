// A cluster for tests: scripts/cluster (PostgreSQL, Redis, N lms instances, nginx, all on
// loopback) in a temporary folder, and what its cluster.env says: the URLs of nginx and of
// each instance, their process ids, Redis's URL.
//
//   const cluster = await Cluster.up(2, { env: { LMS_RATE_API: "40/1m" } });
//   cluster.nginx / cluster.instances[i]   → LmsApi (REST helpers) on that URL
//   cluster.kill(i)                        → kill -9 of instance i
//   cluster.stopRedis() / startRedis()
//   await cluster.down()

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { LMS_BINARY, LmsApi } from "../lib/server.mjs";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.resolve(here, "../../../scripts/cluster");

export class Cluster {
  static async up(n, { env = {} } = {}) {
    const dir = mkdtempSync(path.join(tmpdir(), "lms-cluster-"));
    const cluster = new Cluster(dir, env);
    try {
      await cluster.#script("up", String(n));
    } catch (err) {
      await cluster.down();
      throw err;
    }
    cluster.#read();
    return cluster;
  }

  constructor(dir, env) {
    this.dir = dir;
    this.env = { ...process.env, LMS_BINARY, LMS_CLUSTER_DIR: dir, ...env };
  }

  async #script(...args) {
    try {
      return await run("bash", [SCRIPT, ...args], { env: this.env, timeout: 120_000, maxBuffer: 16 << 20 });
    } catch (err) {
      throw new Error(`scripts/cluster ${args.join(" ")} failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
    }
  }

  #read() {
    const vars = {};
    for (const line of readFileSync(path.join(this.dir, "cluster.env"), "utf8").split("\n")) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) vars[m[1]] = m[2].replace(/^["']|["']$/g, "");
    }
    this.vars = vars;
    this.nginx = new LmsApi(vars.NGINX_URL);
    this.instances = vars.INSTANCE_URLS.split(/\s+/).filter(Boolean).map((u) => new LmsApi(u));
    this.pids = (vars.INSTANCE_PIDS ?? "").split(/\s+/).filter(Boolean).map(Number);
  }

  /** kill -9 of instance `i` (0-based). */
  kill(i) {
    process.kill(this.pids[i], "SIGKILL");
  }

  async stopRedis() {
    await this.#script("stop-redis");
  }

  async startRedis() {
    await this.#script("start-redis");
  }

  /** The logs of instance `i`, for failure messages. */
  logs(i) {
    try {
      return readFileSync(path.join(this.dir, `lms-n${i + 1}.log`), "utf8").slice(-20_000);
    } catch {
      return "";
    }
  }

  async down() {
    try {
      await this.#script("down");
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}
