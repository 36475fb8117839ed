// REST helpers for the import tests, on top of ../../realtime/lib/server.mjs.

import assert from "node:assert/strict";
import { sleep } from "../../realtime/lib/server.mjs";
import { parseCsv } from "./csv.mjs";

export const DONE_STATES = ["completed", "failed", "reverted"];

/** `?a=1&b=2` from an object (undefined values skipped), or "". */
export function qs(query = {}) {
  const parts = Object.entries(query)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === "object" ? JSON.stringify(v) : String(v))}`);
  return parts.length ? `?${parts.join("&")}` : "";
}

async function answer(res) {
  const text = await res.text();
  let body = text;
  if ((res.headers.get("content-type") || "").includes("json") && text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** POST /api/imports with a raw body. → {status, headers, body, text} */
export async function postRaw(server, token, body, { query, contentType = "text/csv", headers = {}, timeoutMs = 120_000 } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (contentType !== null) h["Content-Type"] = contentType;
  const res = await fetch(`${server.url}/api/imports${qs(query)}`, {
    method: "POST",
    headers: h,
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return answer(res);
}

/** POST /api/imports as multipart/form-data with the file in part `field` (default `file`). */
export async function postMultipart(server, token, body, { query, fileName = "leads.csv", field = "file", type = "text/csv", extra = {}, timeoutMs = 120_000 } = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  form.append(field, new Blob([body], { type }), fileName);
  const res = await fetch(`${server.url}/api/imports${qs(query)}`, {
    method: "POST",
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    body: form,
    signal: AbortSignal.timeout(timeoutMs),
  });
  return answer(res);
}

/** Asserts a 202 job answer with its Location; → the job. */
export function expectAccepted(res, what = "POST /api/imports") {
  assert.equal(res.status, 202, `${what}: expected 202, got ${res.status} ${res.text}`);
  const job = res.body;
  assert.equal(typeof job, "object", `${what}: the 202 body is not JSON: ${res.text}`);
  assert.equal(typeof job.id, "string", `${what}: job without id: ${res.text}`);
  const location = res.headers.get("location");
  assert.ok(location, `${what}: no Location header`);
  assert.match(location, new RegExp(`(^|/)api/imports/${escapeRegExp(job.id)}$`), `${what}: Location ${location}`);
  return job;
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Asserts an error answer `status` with `error.code` (when given). */
export function expectError(res, status, code, what = "request") {
  assert.equal(res.status, status, `${what}: expected ${status}${code ? ` ${code}` : ""}, got ${res.status} ${res.text}`);
  assert.equal(typeof res.body, "object", `${what}: error body is not JSON: ${res.text}`);
  assert.equal(typeof res.body.error?.code, "string", `${what}: no error.code: ${res.text}`);
  if (code) assert.equal(res.body.error.code, code, `${what}: ${res.text}`);
  return res.body.error;
}

export async function getJob(server, token, id) {
  return server.request("GET", `/api/imports/${id}`, { token });
}

/**
 * Polls GET /api/imports/:id until `until(job)` (default: a final state). → the job.
 * Tolerates connection errors while `tolerateDown` (a restarting server).
 */
export async function waitForJob(server, token, id, { timeoutMs = 60_000, intervalMs = 200, until = (j) => DONE_STATES.includes(j.state), tolerateDown = false } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const res = await getJob(server, token, id);
      assert.equal(res.status, 200, `GET /api/imports/${id}: ${res.status} ${JSON.stringify(res.body)}`);
      last = res.body;
      if (until(last)) return last;
    } catch (err) {
      if (!tolerateDown || err instanceof assert.AssertionError) throw err;
    }
    if (Date.now() > deadline) throw new Error(`job ${id} not done within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    await sleep(intervalMs);
  }
}

/** Uploads (raw by default) and waits for the job to finish. → {job, accepted} */
export async function importAndWait(server, token, csv, { multipart = false, timeoutMs = 60_000, ...options } = {}) {
  const res = multipart ? await postMultipart(server, token, csv, options) : await postRaw(server, token, csv, options);
  const accepted = expectAccepted(res);
  const job = await waitForJob(server, token, accepted.id, { timeoutMs });
  return { job, accepted };
}

/** Asserts a completed job whose counts add up, and (when given) exact counts. */
export function assertCompleted(job, expected = {}) {
  assert.equal(job.state, "completed", `job not completed: ${JSON.stringify(job)}`);
  for (const k of ["totalRows", "processedRows", "inserted", "updated", "duplicates", "invalid"])
    assert.equal(typeof job[k], "number", `job.${k} is not a number: ${JSON.stringify(job)}`);
  assert.equal(job.processedRows, job.totalRows, `processedRows != totalRows: ${JSON.stringify(job)}`);
  assert.equal(
    job.inserted + job.updated + job.duplicates + job.invalid,
    job.processedRows,
    `inserted + updated + duplicates + invalid != processedRows: ${JSON.stringify(job)}`,
  );
  for (const [k, v] of Object.entries(expected)) assert.equal(job[k], v, `job.${k}: expected ${v}, got ${job[k]}; job ${JSON.stringify(job)}`);
}

/** GET /api/imports/:id/errors → {status, contentType, text, records (parsed)} */
export async function getErrors(server, token, id) {
  const res = await fetch(`${server.url}/api/imports/${id}/errors`, {
    headers: { Authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get("content-type") || "", text, records: res.status === 200 ? parseCsv(text) : [] };
}

/** Every lead matching `query` (follows nextCursor). */
export async function listAllLeads(server, token, query = {}) {
  const out = [];
  let cursor;
  for (let page = 0; page < 10_000; page += 1) {
    const res = await server.request("GET", `/api/leads${qs({ limit: 200, ...query, cursor })}`, { token });
    assert.equal(res.status, 200, `GET /api/leads: ${res.status} ${JSON.stringify(res.body)}`);
    out.push(...res.body.items);
    cursor = res.body.nextCursor;
    if (!cursor) return out;
  }
  throw new Error("too many pages");
}

export async function countLeads(server, token, query = {}) {
  const res = await server.request("GET", `/api/leads/count${qs(query)}`, { token });
  assert.equal(res.status, 200, `GET /api/leads/count: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.count;
}

export async function listJobs(server, token) {
  const res = await server.request("GET", "/api/imports", { token });
  assert.equal(res.status, 200, `GET /api/imports: ${res.status} ${JSON.stringify(res.body)}`);
  assert.ok(Array.isArray(res.body.items), `GET /api/imports: no items: ${JSON.stringify(res.body)}`);
  return res.body.items;
}

/** Leads by email (lower case), for a small org. */
export async function leadsByEmail(server, token, query = {}) {
  const map = new Map();
  for (const l of await listAllLeads(server, token, query)) if (l.email) map.set(l.email, l);
  return map;
}
