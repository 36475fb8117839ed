// POST /api/imports: raw and multipart uploads, the 202 job and its Location, 415 for other
// content types, 413 beyond --import-max-size, and 422 (before any job exists) for files and
// parameters that cannot be imported.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";

import { LmsServer, unique } from "../realtime/lib/server.mjs";
import { phone, toCsv } from "./lib/csv.mjs";
import {
  assertCompleted,
  countLeads,
  expectAccepted,
  expectError,
  getErrors,
  getJob,
  leadsByEmail,
  listJobs,
  postMultipart,
  postRaw,
  waitForJob,
} from "./lib/imports.mjs";

const MAX = 64 * 1024;
let server;

before(async () => {
  server = await LmsServer.start({ args: ["--import-max-size", "64KB"] });
});

after(async () => {
  await server?.cleanup();
});

const RFC3339_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function smallFile(tag, n = 3) {
  const rows = [];
  for (let i = 0; i < n; i += 1) rows.push([`${tag} Person ${i}`, `${tag}.${i}@example.com`.toLowerCase(), phone(100 + i).display]);
  return { csv: toCsv(["name", "email", "phone"], rows), rows };
}

function assertJobShape(job, what) {
  for (const k of ["id", "state", "fileName", "totalRows", "processedRows", "inserted", "updated", "duplicates", "invalid", "createdBy", "createdAt", "startedAt", "finishedAt", "error", "dryRun"])
    assert.ok(k in job, `${what}: job has no ${k}: ${JSON.stringify(job)}`);
  assert.ok(["queued", "running", "completed", "failed", "reverted"].includes(job.state), `${what}: state ${job.state}`);
  assert.match(job.createdAt, RFC3339_MS, `${what}: createdAt`);
}

test("raw text/csv upload: 202 job with Location, completes, leads created", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const { csv, rows } = smallFile("raw");
  const res = await postRaw(server, admin.accessToken, csv);
  const accepted = expectAccepted(res);
  assertJobShape(accepted, "202 body");
  assert.equal(accepted.createdBy, admin.user.id);
  assert.equal(accepted.dryRun, false);
  assert.ok(["queued", "running", "completed"].includes(accepted.state), `202 state: ${accepted.state}`);

  const job = await waitForJob(server, admin.accessToken, accepted.id);
  assertJobShape(job, "GET job");
  assertCompleted(job, { totalRows: 3, inserted: 3, updated: 0, duplicates: 0, invalid: 0, dryRun: false });
  assert.equal(job.id, accepted.id);
  assert.equal(job.createdBy, admin.user.id);
  assert.equal(job.error, null);
  assert.match(job.startedAt, RFC3339_MS, "startedAt");
  assert.match(job.finishedAt, RFC3339_MS, "finishedAt");
  assert.ok(job.finishedAt >= job.startedAt && job.startedAt >= job.createdAt, `timestamps out of order: ${JSON.stringify(job)}`);

  const leads = await leadsByEmail(server, admin.accessToken);
  assert.equal(leads.size, 3);
  for (const [name, email, ph] of rows) {
    const lead = leads.get(email);
    assert.ok(lead, `lead ${email} missing`);
    assert.equal(lead.name, name);
    assert.equal(lead.phone, `+1415555${ph.slice(-4)}`);
  }

  // Listed, and an errors file with nothing but its header.
  const items = await listJobs(server, admin.accessToken);
  assert.deepEqual(items.map((j) => j.id), [job.id]);
  const errors = await getErrors(server, admin.accessToken, job.id);
  assert.equal(errors.status, 200);
  assert.match(errors.contentType, /^text\/csv/);
  assert.deepEqual(errors.records, [["row", "reason", "name", "email", "phone"]]);
});

test("raw upload with a charset parameter is accepted", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const { csv } = smallFile("charset", 2);
  const res = await postRaw(server, admin.accessToken, csv, { contentType: "text/csv; charset=utf-8" });
  const job = await waitForJob(server, admin.accessToken, expectAccepted(res).id);
  assertCompleted(job, { totalRows: 2, inserted: 2 });
});

test("multipart/form-data upload with part `file`", { timeout: 60_000 }, async () => {
  const admin = await server.register();
  const { csv } = smallFile("multi", 4);
  const res = await postMultipart(server, admin.accessToken, csv, { fileName: "my-leads.csv", extra: { note: "ignored" } });
  const accepted = expectAccepted(res, "multipart upload");
  assert.equal(accepted.fileName, "my-leads.csv");
  const job = await waitForJob(server, admin.accessToken, accepted.id);
  assertCompleted(job, { totalRows: 4, inserted: 4, duplicates: 0, invalid: 0 });
  assert.equal(job.fileName, "my-leads.csv");
  assert.equal(await countLeads(server, admin.accessToken), 4);
});

test("multipart upload with a BOM file of type application/vnd.ms-excel", { timeout: 60_000 }, async () => {
  // Browsers label .csv files variously; the part's own type must not matter.
  const admin = await server.register();
  const csv = toCsv(["Name", "Email"], [["Bom Multi", "bom.multi@example.com"]], { bom: true });
  const res = await postMultipart(server, admin.accessToken, csv, { type: "application/vnd.ms-excel", fileName: "x.csv" });
  const job = await waitForJob(server, admin.accessToken, expectAccepted(res).id);
  assertCompleted(job, { totalRows: 1, inserted: 1 });
});

test("other content types: 415, and no job", { timeout: 60_000 }, async (t) => {
  const admin = await server.register();
  const { csv } = smallFile("ct", 1);
  for (const contentType of ["application/json", "text/plain", "application/x-www-form-urlencoded", "application/octet-stream"]) {
    await t.test(contentType, async () => {
      const body = contentType === "application/json" ? JSON.stringify({ file: csv }) : csv;
      const res = await postRaw(server, admin.accessToken, body, { contentType });
      expectError(res, 415, "unsupported_media_type", `POST /api/imports as ${contentType}`);
    });
  }
  await t.test("no Content-Type", async () => {
    const res = await postRaw(server, admin.accessToken, new TextEncoder().encode(csv), { contentType: null });
    expectError(res, 415, "unsupported_media_type", "POST /api/imports without Content-Type");
  });
  assert.deepEqual(await listJobs(server, admin.accessToken), []);
  assert.equal(await countLeads(server, admin.accessToken), 0);
});

test("authentication is required", { timeout: 30_000 }, async () => {
  const res = await postRaw(server, null, smallFile("anon", 1).csv);
  expectError(res, 401, undefined, "POST /api/imports without a token");
  const list = await server.request("GET", "/api/imports");
  assert.equal(list.status, 401);
});

/** A file of about `bytes` bytes (valid rows). */
function fileOfSize(bytes, tag) {
  const rows = [];
  let size = 20;
  for (let i = 0; size < bytes; i += 1) {
    const row = [`${tag} Bulk ${i}`, `${tag}.bulk.${i}@example.com`];
    rows.push(row);
    size += row[0].length + row[1].length + 3;
  }
  return toCsv(["name", "email"], rows, { eol: "\n" });
}

/** A raw chunked upload (no Content-Length) with node:http: → {status, body} (body parsed when JSON). */
function postChunked(token, text, chunkSize = 8192) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}/api/imports`,
      { method: "POST", headers: { Authorization: `Bearer ${token}`, "Content-Type": "text/csv", "Transfer-Encoding": "chunked" } },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (data += c));
        res.on("end", () => {
          let body = data;
          try {
            body = JSON.parse(data);
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode, headers: res.headers, body, text: data });
        });
        res.on("error", reject);
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error("chunked upload timed out")));
    req.on("error", (err) => {
      // The server may answer 413 and close while we still write: the response already arrived.
      if (!req.res) reject(err);
    });
    (async () => {
      for (let off = 0; off < text.length; off += chunkSize) {
        if (req.destroyed) return;
        if (!req.write(text.slice(off, off + chunkSize))) await new Promise((r) => req.once("drain", r));
      }
      req.end();
    })().catch(() => {});
  });
}

test("uploads beyond --import-max-size: 413 payload_too_large, and no job", { timeout: 120_000 }, async (t) => {
  const admin = await server.register();
  const big = fileOfSize(MAX + 40_000, "big");
  assert.ok(Buffer.byteLength(big) > MAX);

  await t.test("raw body with Content-Length", async () => {
    const res = await postRaw(server, admin.accessToken, big);
    expectError(res, 413, "payload_too_large", "raw upload over the limit");
  });
  await t.test("raw chunked body", async () => {
    const res = await postChunked(admin.accessToken, big);
    assert.equal(res.status, 413, `chunked upload over the limit: ${res.status} ${res.text}`);
    assert.equal(res.body?.error?.code, "payload_too_large", res.text);
  });
  await t.test("multipart", async () => {
    const res = await postMultipart(server, admin.accessToken, big);
    expectError(res, 413, "payload_too_large", "multipart upload over the limit");
  });
  await t.test("much larger (2 MB)", async () => {
    const res = await postRaw(server, admin.accessToken, fileOfSize(2 * 1024 * 1024, "huge"));
    expectError(res, 413, "payload_too_large", "2 MB raw upload");
  });
  assert.deepEqual(await listJobs(server, admin.accessToken), [], "a 413 upload created a job");
  assert.equal(await countLeads(server, admin.accessToken), 0);

  await t.test("a file just under the limit is accepted (raw and chunked)", async () => {
    const fits = fileOfSize(MAX - 4_000, "fits");
    assert.ok(Buffer.byteLength(fits) < MAX);
    const rows = fits.trim().split("\n").length - 1;
    const job = await waitForJob(server, admin.accessToken, expectAccepted(await postRaw(server, admin.accessToken, fits)).id);
    assertCompleted(job, { totalRows: rows, inserted: rows });

    const other = await server.register();
    const chunked = await postChunked(other.accessToken, fits);
    assert.equal(chunked.status, 202, `chunked upload under the limit: ${chunked.status} ${chunked.text}`);
    const job2 = await waitForJob(server, other.accessToken, chunked.body.id);
    assertCompleted(job2, { totalRows: rows, inserted: rows });
  });
  // The server still serves after the 413s.
  assert.equal((await server.request("GET", "/healthz")).status, 200);
});

test("422 validation_failed before any job exists", { timeout: 120_000 }, async (t) => {
  const admin = await server.register();
  const other = await server.register();
  const good = toCsv(["Name", "Mail", "Phone"], [["Val Idation", "val@example.com", phone(200).display]]);
  const cases = [
    { what: "empty body", body: "" },
    { what: "only a BOM and blank lines", body: "\uFEFF\r\n\r\n" },
    { what: "header only (with newline)", body: "name,email,phone\n" },
    { what: "header only (no newline)", body: "name,email" },
    { what: "no name column", body: toCsv(["email", "phone"], [["a@example.com", phone(201).display]]) },
    { what: "neither phone nor email column", body: toCsv(["name", "company"], [["Ada", "Acme"]]) },
    { what: "mapping is not JSON", body: good, query: { mapping: "{not json" } },
    { what: "mapping is a JSON array", body: good, query: { mapping: '["Name","name"]' } },
    { what: "mapping to an unknown field", body: good, query: { mapping: JSON.stringify({ Name: "name", Mail: "shoeSize" }) } },
    { what: "mapping of a header not in the file", body: good, query: { mapping: JSON.stringify({ Name: "name", Nope: "email" }) } },
    { what: "bad dedupe", body: good, query: { dedupe: "maybe" } },
    { what: "bad assign", body: good, query: { assign: "everyone" } },
    { what: "assign to another organization's user", body: good, query: { assign: other.user.id } },
    { what: "assign to a user id that does not exist", body: good, query: { assign: "0190f000-0000-7000-8000-000000000000" } },
  ];
  for (const c of cases) {
    await t.test(c.what, async () => {
      const res = await postRaw(server, admin.accessToken, c.body, { query: c.query });
      const err = expectError(res, 422, "validation_failed", `${c.what}: POST /api/imports${c.query ? ` ${JSON.stringify(c.query)}` : ""}`);
      assert.ok(Array.isArray(err.details), `${c.what}: no details array: ${res.text}`);
    });
  }
  await t.test("multipart without a file part", async () => {
    const form = new FormData();
    form.append("other", new Blob([good], { type: "text/csv" }), "x.csv");
    const res = await fetch(`${server.url}/api/imports`, { method: "POST", headers: { Authorization: `Bearer ${admin.accessToken}` }, body: form });
    const text = await res.text();
    assert.ok([400, 422].includes(res.status), `multipart without part "file": expected 422 (or 400), got ${res.status} ${text}`);
  });
  await t.test("multipart with an empty file", async () => {
    const res = await postMultipart(server, admin.accessToken, "");
    expectError(res, 422, "validation_failed", "multipart with an empty file");
  });
  assert.deepEqual(await listJobs(server, admin.accessToken), [], "a 422 upload created a job");
  assert.equal(await countLeads(server, admin.accessToken), 0);

  // The same file with valid parameters is accepted: the 422s were about the parameters.
  const job = await waitForJob(server, admin.accessToken, expectAccepted(await postRaw(server, admin.accessToken, good, { query: { mapping: JSON.stringify({ Name: "name", Mail: "email", Phone: "phone" }), dedupe: "update", assign: admin.user.id } })).id);
  assertCompleted(job, { totalRows: 1, inserted: 1 });
});

test("GET of an unknown job id: 404", { timeout: 30_000 }, async () => {
  const admin = await server.register();
  for (const p of [`/api/imports/${unique("nope")}`, `/api/imports/${unique("nope")}/errors`]) {
    const res = await server.request("GET", p, { token: admin.accessToken });
    assert.equal(res.status, 404, `GET ${p}: ${res.status}`);
    assert.equal(res.body?.error?.code, "not_found");
  }
  const res = await server.request("POST", `/api/imports/${unique("nope")}/revert`, { token: admin.accessToken });
  assert.equal(res.status, 404, `POST revert of an unknown id: ${res.status}`);
  const got = await getJob(server, admin.accessToken, "0190f000-0000-7000-8000-000000000000");
  assert.equal(got.status, 404);
});
