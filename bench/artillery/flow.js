// Artillery processor for bench/load_vs_artillery.sh: the lms-load default mix (without
// imports and sockets) as Artillery functions: a weighted pick per step and an exponential
// think time, the same distributions as tools/load/schedule.cpp.
const weights = [["list", 35], ["search", 15], ["open", 20], ["status", 10], ["note", 10], ["create", 5], ["count", 5]];
const total = weights.reduce((sum, [, w]) => sum + w, 0);
const words = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Anna", "Maria", "James", "Chen", "Olsen", "Garcia"];
const statuses = ["new", "contacted", "qualified", "converted", "lost"];
const meanMs = Number(process.env.THINK_MEAN_MS || 1000);
const minMs = Number(process.env.THINK_MIN_MS || 100);
const maxMs = Number(process.env.THINK_MAX_MS || 10000);
const deadline = Date.now() + Number(process.env.RUN_SECONDS || 60) * 1000;
let created = 0;

function pickAction(context, events, done) {
  let u = Math.random() * total;
  let chosen = "list";
  for (const [name, w] of weights) {
    u -= w;
    if (u < 0) { chosen = name; break; }
  }
  for (const [name] of weights) context.vars["is_" + name] = name === chosen ? 1 : 0;
  context.vars.word = words[Math.floor(Math.random() * words.length)];
  context.vars.status = statuses[Math.floor(Math.random() * statuses.length)];
  context.vars.email = `art-${process.pid}-${Date.now()}-${created++}@load.test`;
  return done();
}

function think(context, events, done) {
  const t = Math.min(maxMs, Math.max(minMs, -Math.log(1 - Math.random()) * meanMs));
  setTimeout(done, t);
}

function stillRunning(context, next) {
  return next(Date.now() < deadline);
}

module.exports = { pickAction, think, stillRunning };
