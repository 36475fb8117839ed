// Bulk changes for admins and managers: the selected leads get a status and/or an assignee in
// POST /api/leads/bulk (1,000 ids per request).
import { useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { Button, ErrorText, Field, toast } from "../../lib/ui.jsx";
import { STATUSES, STATUS_LABELS } from "./model.js";
import { assignable } from "./useUsers.js";

const MAX_IDS = 1000;
const UNCHANGED = "";
const UNASSIGN = "none";

export function BulkBar({ selected, users, onDone, onClear }) {
  const [status, setStatus] = useState(UNCHANGED);
  const [assignee, setAssignee] = useState(UNCHANGED);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const apply = async (event) => {
    event.preventDefault();
    const set = {};
    if (status !== UNCHANGED) set.status = status;
    if (assignee !== UNCHANGED) set.assignedTo = assignee === UNASSIGN ? null : assignee;
    if (Object.keys(set).length === 0) {
      setError("Choose a status or an assignee to apply.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const ids = [...selected];
      let updated = 0;
      for (let i = 0; i < ids.length; i += MAX_IDS) {
        const result = await api.post("/api/leads/bulk", { ids: ids.slice(i, i + MAX_IDS), set });
        updated += result.updated;
      }
      toast(`${updated} lead${updated === 1 ? "" : "s"} updated`, { kind: "success" });
      setStatus(UNCHANGED);
      setAssignee(UNCHANGED);
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="bulk-bar toolbar" aria-label="Change the selected leads" onSubmit={apply}>
      <p class="bulk-count"><strong>{selected.size}</strong> selected</p>
      <Field label="Set status" name="bulkStatus" as="select" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
        <option value={UNCHANGED}>Keep status</option>
        {STATUSES.map((s) => <option key={s} value={s}>{STATUS_LABELS[s]}</option>)}
      </Field>
      <Field label="Assign to" name="bulkAssignee" as="select" value={assignee} onChange={(e) => setAssignee(e.currentTarget.value)}>
        <option value={UNCHANGED}>Keep assignee</option>
        <option value={UNASSIGN}>Nobody (unassign)</option>
        {assignable(users).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
      </Field>
      <div class="button-row">
        <Button type="submit" busy={busy}>Apply to selected</Button>
        <Button variant="secondary" onClick={onClear}>Clear selection</Button>
      </div>
      <ErrorText error={error} />
    </form>
  );
}
