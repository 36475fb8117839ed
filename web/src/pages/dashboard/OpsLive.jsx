// The operator's live figures of the instance that answers (GET /api/ops/live, admins), every
// 2 s while the tab is visible: sockets, requests per second, p95 latency, memory, event-loop lag.

import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { ErrorText } from "../../lib/ui.jsx";

export const OPS_POLL_MS = 2000;

const fixed = (digits) => (x) => (typeof x === "number" ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–");
const whole = fixed(0);
const mebibytes = (bytes) => (typeof bytes === "number" ? `${whole(bytes / 1048576)} MiB` : "–");

function uptime(seconds) {
  if (typeof seconds !== "number") return "–";
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} min`;
  return `${m} min ${Math.floor(seconds % 60)} s`;
}

const FIGURES = [
  ["realtimeConnections", "Real-time sockets", whole],
  ["httpConnections", "HTTP connections", whole],
  ["requestsPerSecond", "Requests / s", fixed(1)],
  ["p95Ms", "p95 latency", (x) => `${fixed(1)(x)} ms`],
  ["residentMemoryBytes", "Memory (resident)", mebibytes],
  ["eventLoopLagMs", "Event-loop lag", (x) => `${fixed(1)(x)} ms`],
  ["uptimeSeconds", "Uptime", uptime],
];

export default function OpsLive() {
  const [figures, setFigures] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const controller = new AbortController();
    const load = async () => {
      if (document.hidden) return;
      try {
        setFigures(await api.get("/api/ops/live", { signal: controller.signal }));
        setError(null);
      } catch (err) {
        if (err.name !== "AbortError") setError(err);
      }
    };
    load();
    const timer = setInterval(load, OPS_POLL_MS);
    return () => {
      controller.abort();
      clearInterval(timer);
    };
  }, []);
  return (
    <section class="card ops-live" data-testid="ops-live" aria-labelledby="ops-live-title">
      <h2 id="ops-live-title">
        Server, live {figures && <span class="muted">({figures.instance || "this instance"}, last 10 s)</span>}
      </h2>
      <ErrorText error={error && `The live figures cannot be read: ${error.message}`} />
      {figures && (
        <dl class="job-counts ops-live__figures">
          {FIGURES.map(([key, label, format]) => (
            <div key={key} data-figure={key}>
              <dt>{label}</dt>
              <dd>{format(figures[key])}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
