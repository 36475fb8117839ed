// The dashboard (/dashboard): leads by status, source, agent and day from GET /api/leads/stats
// (refreshed live, at most every 5 s), and for admins the server's live figures. Chart.js is
// imported here only, so it stays in the lazily loaded dashboard chunk. Parts: pages/dashboard/.

import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../lib/api.js";
import { ErrorText, Field, Spinner } from "../lib/ui.jsx";
import ChartCard from "./dashboard/ChartCard.jsx";
import OpsLive from "./dashboard/OpsLive.jsx";
import { useLeadStats } from "./dashboard/useLeadStats.js";
import { agentRows, dailyRows, sourceRows, statusRows, STATUS_COLORS } from "./dashboard/statsRows.js";
import "./pages.css";

const PERIODS = [7, 30, 90];

/** User id → name, for admins and managers (agents see only their own leads). */
function useUserNames(canList) {
  const [names, setNames] = useState(new Map());
  useEffect(() => {
    if (!canList) return undefined;
    const controller = new AbortController();
    api
      .get("/api/users", { signal: controller.signal })
      .then((body) => setNames(new Map(body.items.map((u) => [u.id, u.name]))))
      .catch(() => {}); // without names the chart says "Unknown user …"
    return () => controller.abort();
  }, [canList]);
  return names;
}

export default function Dashboard({ session }) {
  const { user } = session;
  const [days, setDays] = useState(30);
  const { stats, error, loadedAt } = useLeadStats(days);
  const names = useUserNames(user.role !== "agent");
  const rows = useMemo(
    () =>
      stats && {
        status: statusRows(stats),
        source: sourceRows(stats),
        agent: agentRows(stats, names, user),
        daily: dailyRows(stats),
      },
    [stats, names, user],
  );

  return (
    <div class="page dashboard-page">
      <div class="page-head">
        <h1>Dashboard</h1>
        <Field label="Period" as="select" value={days} onChange={(e) => setDays(Number(e.currentTarget.value))} class="dashboard-period">
          {PERIODS.map((d) => <option key={d} value={d}>Last {d} days</option>)}
        </Field>
      </div>
      {user.role === "admin" && <OpsLive />}
      <ErrorText error={error} />
      {!stats && !error && <Spinner label="Loading the figures" />}
      {stats && (
        <>
          <p class="muted dashboard-total" aria-live="polite">
            {user.role === "agent" ? "Your leads" : "Leads"}: <strong>{stats.total.toLocaleString("en-US")}</strong>
            {loadedAt && <span> · updated {loadedAt.toLocaleTimeString()}</span>}
          </p>
          <div class="chart-grid">
            <ChartCard testId="chart-status" title="Leads by status" kind="doughnut" rows={rows.status} colors={STATUS_COLORS} labelHeader="Status" />
            <ChartCard testId="chart-source" title="Leads by source (top 12)" kind="hbar" rows={rows.source} labelHeader="Source" />
            <ChartCard testId="chart-agent" title={user.role === "agent" ? "Your leads" : "Leads by agent"} kind="hbar" rows={rows.agent} labelHeader="Agent" />
            <ChartCard testId="chart-daily" title={`Leads created per day (last ${days} days)`} kind="line" rows={rows.daily} labelHeader="Day" />
          </div>
        </>
      )}
    </div>
  );
}
