// Flood control: 1,000 leads created as fast as possible must not become 1,000 events on a
// watching admin's socket. Beyond 20 events in a second a receiver gets `leads:bulk` counts
// instead, at most one per second, and nothing is lost: individual lead:created events plus
// the bulk counts add up to exactly the number of leads created.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";

import { LmsServer, sleep, unique } from "./lib/server.mjs";
import { EventRecorder, closeAllSockets, connectSocket, pingAck } from "./lib/client.mjs";

const LEADS = 1_000;
const PARALLEL = 8;
const PER_SECOND = 20;

let server;

before(async () => {
  server = await LmsServer.start();
});

after(async () => {
  closeAllSockets();
  await server?.cleanup();
});

/** The largest number of `times` (sorted, ms) inside any window [t, t + width). */
function maxInWindow(times, width) {
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    while (times[end] - times[start] >= width) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

test("1,000 fast creates reach an admin as at most ~20 events a second plus leads:bulk counts, none lost", { timeout: 180_000 }, async (t) => {
  const admin = await server.register();
  const socket = await connectSocket(server.url, { auth: { token: admin.accessToken }, transports: ["websocket"] });
  assert.equal(await pingAck(socket, "ready"), "ready");
  const rec = new EventRecorder(socket, "admin");

  const createdIds = new Set();
  const prefix = unique("flood");
  let next = 0;
  const started = performance.now();
  async function worker() {
    while (next < LEADS) {
      const i = next;
      next += 1;
      const lead = await server.createLead(admin.accessToken, {
        name: `Flood ${i}`,
        email: `${prefix}-${i}@example.com`,
      });
      createdIds.add(lead.id);
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  const createSeconds = (performance.now() - started) / 1000;
  assert.equal(createdIds.size, LEADS);
  t.diagnostic(`created ${LEADS} leads in ${createSeconds.toFixed(2)} s`);

  const individual = () => rec.named("lead:created");
  const bulks = () => rec.named("leads:bulk");
  const total = () => individual().length + bulks().reduce((n, e) => n + (e.payload?.created ?? 0), 0);

  await rec.until(() => total() >= LEADS, 60_000, `individual + bulk created to reach ${LEADS}`).catch((err) => {
    throw new Error(`${err.message.split("; received")[0]}; got ${individual().length} lead:created and ${bulks().length} leads:bulk summing ${total()}`);
  });
  // Anything late (a bulk count that would overshoot) has time to arrive.
  await sleep(2_500);

  const singles = individual();
  const bulkEvents = bulks();
  t.diagnostic(`${singles.length} lead:created, ${bulkEvents.length} leads:bulk: ${bulkEvents.map((e) => JSON.stringify(e.payload)).join(" ")}`);

  // Nothing lost, nothing counted twice.
  assert.equal(total(), LEADS, "lead:created events + leads:bulk.created");
  const individualIds = new Set(singles.map((e) => e.payload.id));
  assert.equal(individualIds.size, singles.length, "no lead:created twice");
  for (const id of individualIds) assert.ok(createdIds.has(id), `lead:created for an unknown lead ${id}`);

  // Only creates happened: no other lead events, and the bulk counts say so.
  const others = rec.events.filter((e) => e.name !== "lead:created" && e.name !== "leads:bulk");
  assert.deepEqual(others.map((e) => e.name), [], "no other events");
  for (const e of bulkEvents) {
    for (const field of ["created", "updated", "deleted"]) {
      assert.ok(Number.isInteger(e.payload?.[field]) && e.payload[field] >= 0, `leads:bulk.${field} is a count: ${JSON.stringify(e.payload)}`);
    }
    assert.equal(e.payload.updated, 0, "leads:bulk.updated");
    assert.equal(e.payload.deleted, 0, "leads:bulk.deleted");
  }

  // Flood control actually happened.
  assert.ok(bulkEvents.length >= 1, "at least one leads:bulk");

  // Rates, measured where the client receives them. Wherever the server's one-second windows
  // start, a one-second window of the client overlaps at most two of them: at most 2 x 20
  // individual events and 2 leads:bulk. Over the whole run, about 20 a second.
  const singleTimes = singles.map((e) => e.t);
  const bulkTimes = bulkEvents.map((e) => e.t);
  const allTimes = rec.events.map((e) => e.t);
  const spanSeconds = (Math.max(...allTimes) - Math.min(...allTimes)) / 1000;
  const singlesPerWindow = maxInWindow(singleTimes, 1000);
  t.diagnostic(`events over ${spanSeconds.toFixed(2)} s; at most ${singlesPerWindow} lead:created in any 1 s window`);
  assert.ok(singlesPerWindow <= 2 * PER_SECOND, `${singlesPerWindow} lead:created within one second`);
  assert.ok(
    singles.length <= PER_SECOND * (Math.ceil(spanSeconds) + 1),
    `${singles.length} lead:created over ${spanSeconds.toFixed(2)} s is more than ${PER_SECOND} a second`,
  );
  for (let i = 1; i < bulkTimes.length; i += 1) {
    const gap = bulkTimes[i] - bulkTimes[i - 1];
    // At most one a second at the server; 600 ms leaves room for delivery jitter.
    assert.ok(gap >= 600, `two leads:bulk only ${gap.toFixed(0)} ms apart`);
  }
  assert.ok(bulkTimes.length <= Math.ceil(spanSeconds) + 1, `${bulkTimes.length} leads:bulk over ${spanSeconds.toFixed(2)} s`);

  // Once the flood is over, single events flow again.
  const quiet = await server.createLead(admin.accessToken, { name: "After the flood" });
  const received = await rec.next("lead:created", (p) => p.id === quiet.id, 10_000);
  assert.deepEqual(received, quiet);
});
