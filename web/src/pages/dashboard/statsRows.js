// Turns GET /api/leads/stats into the rows ([{key, label, value}]) the dashboard's charts and
// tables show.

export const STATUSES = ["new", "contacted", "qualified", "converted", "lost"];
// The status colors of styles.css (--status-*), so the chart matches the badges.
export const STATUS_COLORS = ["#0b4f9c", "#c98a00", "#5b2b91", "#146c2e", "#8c959f"];

const capitalized = (s) => s.charAt(0).toUpperCase() + s.slice(1);

export function statusRows(stats) {
  return STATUSES.map((status) => ({ key: status, label: capitalized(status), value: stats.byStatus[status] ?? 0 }));
}

export function sourceRows(stats) {
  return stats.bySource.map(({ source, count }) => ({ key: source, label: source || "(no source)", value: count }));
}

/** `names`: user id → name (admins and managers); `self`: the signed-in user (an agent sees only themselves). */
export function agentRows(stats, names, self) {
  return stats.byAssignee.map(({ assignedTo, count }) => {
    let label = "Unassigned";
    if (assignedTo === self.id) label = `${self.name} (you)`;
    else if (assignedTo) label = names.get(assignedTo) ?? `Unknown user ${assignedTo.slice(-6)}`;
    return { key: assignedTo ?? "none", label, value: count };
  });
}

const dayFormat = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });

export function dailyRows(stats) {
  return stats.createdPerDay.map(({ day, count }) => ({
    key: day,
    label: dayFormat.format(new Date(`${day}T00:00:00Z`)),
    value: count,
  }));
}
