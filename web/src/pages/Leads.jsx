// The leads page (/leads, /leads/:id, /leads/new): filters and sort in the URL, the count, the
// virtualized table with infinite scroll and live updates, bulk changes for admins and
// managers, and the lead panel over the table when a lead (or "new") is in the path.
import { useEffect, useState } from "preact/hooks";
import { hasRole } from "../lib/session.js";
import { navigate, searchOf, useQueryState } from "../lib/router.js";
import { Button, ErrorText } from "../lib/ui.jsx";
import { viewOf } from "./leads/model.js";
import { useLeadList } from "./leads/useLeadList.js";
import { useUsers } from "./leads/useUsers.js";
import { Filters } from "./leads/Filters.jsx";
import { BulkBar } from "./leads/BulkBar.jsx";
import { LeadTable } from "./leads/LeadTable.jsx";
import LeadPanel from "./LeadPanel.jsx";
import "./leads/leads.css";

function countText(count, loaded) {
  if (count === null) return loaded ? `${loaded}+ leads` : "Counting…";
  return `${count.toLocaleString()} lead${count === 1 ? "" : "s"}`;
}

export default function Leads({ session, route }) {
  const { user } = session;
  const [query, setQuery] = useQueryState();
  const view = viewOf(query);
  const viewSearch = searchOf(view);
  const users = useUsers(user);
  const list = useLeadList(view, user);
  const canManage = hasRole(user, "admin", "manager");
  const [selected, setSelected] = useState(() => new Set());

  useEffect(() => setSelected(new Set()), [viewSearch]);

  const toggle = (id) => setSelected((set) => {
    const next = new Set(set);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  });
  const toggleAll = (on) => setSelected(on ? new Set(list.items.map((lead) => lead.id)) : new Set());
  const openLead = (id) => navigate(`/leads/${encodeURIComponent(id)}${viewSearch}`);
  const closePanel = () => navigate(`/leads${viewSearch}`);
  const filtered = Object.keys(view).some((key) => key !== "sort");

  return (
    <section class="leads-page" aria-labelledby="leads-title">
      <div class="page-head">
        <h1 id="leads-title">Leads</h1>
        <span class="lead-count" data-testid="lead-count" data-count={list.count ?? ""} aria-live="polite">
          {countText(list.count, list.items.length)}
        </span>
        <Button onClick={() => navigate(`/leads/new${viewSearch}`)}>New lead</Button>
      </div>
      <Filters view={view} setView={setQuery} users={users} canSeeAll={canManage} />
      {list.error && list.items.length === 0 && (
        <ErrorText error={list.error}>
          <Button variant="secondary" onClick={list.reload}>Try again</Button>
        </ErrorText>
      )}
      {canManage && selected.size > 0 && (
        <BulkBar selected={selected} users={users} onClear={() => setSelected(new Set())} onDone={() => { setSelected(new Set()); list.reload(); }} />
      )}
      <LeadTable
        list={list}
        user={user}
        users={users}
        selectable={canManage}
        selected={selected}
        onToggle={toggle}
        onToggleAll={toggleAll}
        onOpen={openLead}
        emptyText={filtered ? "No leads match these filters." : "No leads yet. Create one with “New lead”, or import a CSV file."}
      />
      {route.params.id && (
        <LeadPanel
          key={route.params.id}
          id={route.params.id}
          user={user}
          users={users}
          onClose={closePanel}
          onOpen={openLead}
          onSaved={list.replace}
          onDeleted={list.remove}
        />
      )}
    </section>
  );
}
