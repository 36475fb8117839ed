// The lead panel (/leads/:id, a side panel over the table; /leads/new, the create form):
// details, status and assignment, edit with If-Match (a 412 loads the fresh copy and keeps the
// user's edit in the form), notes, the activity timeline, delete for admins and managers.
// Live updates of the open lead show at once, except while it is being edited (then a notice).
import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api } from "../lib/api.js";
import { hasRole } from "../lib/session.js";
import { useLiveEvent } from "../lib/live.js";
import { Button, ErrorText, Field, Modal, Spinner, toast } from "../lib/ui.jsx";
import { EMPTY_VALUES, LEAD_FIELD_NAMES, LeadFields, changedFields, toLeadBody, valuesOf } from "./leads/LeadFields.jsx";
import { Timeline } from "./leads/Timeline.jsx";
import { StatusBadge } from "./leads/LeadTable.jsx";
import { STATUSES, STATUS_LABELS, formatDateTime, userName } from "./leads/model.js";
import { assignable } from "./leads/useUsers.js";

const DRAFT_KEY = "lms.leadDraft";
const STALE_MESSAGE = "Someone changed this lead while you were editing. Their version is loaded; your changes are still in the form: check them and save again.";

const leadPath = (id) => `/api/leads/${encodeURIComponent(id)}`;
const ifMatch = (lead) => ({ "If-Match": `"${lead.version}"` });

export default function LeadPanel({ id, ...props }) {
  return id === "new" ? <CreateLead {...props} /> : <LeadDetails id={id} {...props} />;
}

// ---- create ----------------------------------------------------------------------------------

function loadDraft() {
  try {
    return { ...EMPTY_VALUES, ...JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "{}") };
  } catch {
    return EMPTY_VALUES;
  }
}

function CreateLead({ onClose, onOpen }) {
  const [values, setValues] = useState(loadDraft);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const change = (next) => {
    setValues(next);
    sessionStorage.setItem(DRAFT_KEY, JSON.stringify(next)); // a half-typed lead survives a sign-in
  };
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const lead = await api.post("/api/leads", toLeadBody(values));
      sessionStorage.removeItem(DRAFT_KEY);
      toast(`Lead ${lead.name} created`, { kind: "success" });
      onOpen(lead.id);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal title="New lead" onClose={onClose} variant="panel" testId="lead-panel">
      <form onSubmit={submit} noValidate>
        <ErrorText error={error} fields={LEAD_FIELD_NAMES}>
          {error?.code === "duplicate_lead" && error.existingId && (
            <Button variant="secondary" onClick={() => onOpen(error.existingId)}>Open the existing lead</Button>
          )}
        </ErrorText>
        <LeadFields values={values} onChange={change} error={error} />
        <div class="button-row">
          <Button type="submit" busy={busy}>Create lead</Button>
          <Button variant="secondary" onClick={() => { sessionStorage.removeItem(DRAFT_KEY); onClose(); }}>Discard</Button>
        </div>
      </form>
    </Modal>
  );
}

// ---- an existing lead ------------------------------------------------------------------------

function LeadDetails({ id, user, users, onClose, onSaved, onDeleted }) {
  const [lead, setLead] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [actionError, setActionError] = useState(null);
  const [editing, setEditing] = useState(null); // { values, base, error, stale, busy } while editing
  const [changedMeanwhile, setChangedMeanwhile] = useState(false);
  const [deleted, setDeleted] = useState(false);
  const [timelineKey, setTimelineKey] = useState(0);
  const canManage = hasRole(user, "admin", "manager");

  useEffect(() => {
    const controller = new AbortController();
    api.get(leadPath(id), { signal: controller.signal }).then(setLead).catch((err) => err.name !== "AbortError" && setLoadError(err));
    return () => controller.abort();
  }, [id]);

  // Events may have been missed (reconnection, resync): fetch the lead and its timeline again.
  useLiveEvent("reconnected", () => {
    api.get(leadPath(id)).then(applyRemote).catch((err) => err.status === 404 && setDeleted(true));
  });

  const applyRemote = (fresh) => {
    if (fresh.id !== id) return;
    setTimelineKey((k) => k + 1);
    if (editing) setChangedMeanwhile(true);
    else setLead(fresh);
  };
  useLiveEvent("lead:updated", applyRemote);
  useLiveEvent("lead:assigned", ({ lead: fresh }) => applyRemote(fresh));
  useLiveEvent("lead:deleted", ({ id: gone }) => gone === id && setDeleted(true));

  const saved = (fresh, message) => {
    setLead(fresh);
    setActionError(null);
    onSaved(fresh);
    setTimelineKey((k) => k + 1);
    if (message) toast(message, { kind: "success" });
  };

  /** A quick change (status, assignee) against the version shown; a 412 reloads it. */
  const quickChange = async (fields, message) => {
    setActionError(null);
    try {
      saved(await api.patch(leadPath(id), fields, { headers: ifMatch(lead) }), message);
    } catch (err) {
      if (err.status === 412) {
        setLead(await api.get(leadPath(id)));
        setActionError("Someone changed this lead meanwhile. Its current version is shown; make your change again.");
      } else {
        setActionError(err);
      }
    }
  };

  const saveEdit = async (event) => {
    event.preventDefault();
    const body = changedFields(editing.values, editing.base);
    if (Object.keys(body).length === 0) {
      setEditing(null);
      return;
    }
    setEditing({ ...editing, busy: true, error: null });
    try {
      const fresh = await api.patch(leadPath(id), body, { headers: ifMatch(editing.base) });
      setEditing(null);
      setChangedMeanwhile(false);
      saved(fresh, "Lead saved");
    } catch (err) {
      if (err.status === 412) {
        const fresh = await api.get(leadPath(id)).catch(() => editing.base);
        setLead(fresh);
        setChangedMeanwhile(false);
        // Saving again goes against the fresh version, with the user's values kept.
        setEditing({ ...editing, base: fresh, busy: false, error: null, stale: true });
      } else {
        setEditing({ ...editing, busy: false, error: err });
      }
    }
  };

  const remove = async () => {
    try {
      await api.del(leadPath(id));
      toast(`Lead ${lead.name} deleted`, { kind: "success" });
      onDeleted(id);
      onClose();
    } catch (err) {
      setActionError(err);
    }
  };

  let body;
  if (loadError) body = <ErrorText error={loadError.status === 404 ? "This lead does not exist or is not visible to you." : loadError} />;
  else if (!lead) body = <Spinner label="Loading the lead" />;
  else {
    body = (
      <>
        {deleted && <p class="notice" role="alert">This lead was deleted by someone else.</p>}
        <ErrorText error={actionError} />
        <div class="panel-actions">
          <Field label="Status" name="status" as="select" value={lead.status} disabled={deleted} onChange={(e) => quickChange({ status: e.currentTarget.value }, `Status set to ${STATUS_LABELS[e.currentTarget.value]}`)}>
            {STATUSES.map((s) => <option key={s} value={s}>{STATUS_LABELS[s]}</option>)}
          </Field>
          {canManage && (
            <Field label="Assigned to" name="assignedTo" as="select" value={lead.assignedTo || ""} disabled={deleted} onChange={(e) => quickChange({ assignedTo: e.currentTarget.value || null }, "Assignment saved")}>
              <option value="">Nobody</option>
              {assignable(users).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
            </Field>
          )}
        </div>
        {editing ? (
          <EditForm editing={editing} setEditing={setEditing} onSubmit={saveEdit} changedMeanwhile={changedMeanwhile} />
        ) : (
          <LeadSummary lead={lead} users={users} user={user} canManage={canManage} disabled={deleted}
            onEdit={() => setEditing({ values: valuesOf(lead), base: lead, error: null, stale: false, busy: false })}
            onDelete={remove} />
        )}
        {!deleted && <NoteForm leadId={id} onAdded={() => setTimelineKey((k) => k + 1)} />}
        <Timeline leadId={id} refreshKey={timelineKey} users={users} me={user} />
      </>
    );
  }

  return (
    <Modal title={lead ? lead.name : "Lead"} onClose={onClose} variant="panel" testId="lead-panel" class="lead-panel">
      {body}
    </Modal>
  );
}

function EditForm({ editing, setEditing, onSubmit, changedMeanwhile }) {
  return (
    <form class="card edit-form" onSubmit={onSubmit} noValidate aria-label="Edit lead">
      {editing.stale && <p class="error-text" role="alert">{STALE_MESSAGE}</p>}
      {changedMeanwhile && !editing.stale && (
        <p class="notice" role="status">Someone else just changed this lead. Saving will tell you if your changes conflict.</p>
      )}
      <ErrorText error={editing.error} fields={LEAD_FIELD_NAMES} />
      <LeadFields values={editing.values} onChange={(values) => setEditing({ ...editing, values })} error={editing.error} />
      {editing.stale && <StaleComparison base={editing.base} values={editing.values} />}
      <div class="button-row">
        <Button type="submit" busy={editing.busy}>Save changes</Button>
        <Button variant="secondary" onClick={() => setEditing(null)}>Cancel</Button>
      </div>
    </form>
  );
}

/** After a 412: their current values beside the user's, for the fields that differ. */
function StaleComparison({ base, values }) {
  const theirs = valuesOf(base);
  const differing = Object.keys(theirs).filter((key) => theirs[key] !== values[key].trim());
  if (differing.length === 0) return null;
  return (
    <table class="table stale-table">
      <caption>Where your form differs from the current version</caption>
      <thead><tr><th scope="col">Field</th><th scope="col">Current version</th><th scope="col">Your edit</th></tr></thead>
      <tbody>
        {differing.map((key) => (
          <tr key={key}><th scope="row">{key}</th><td>{theirs[key] || "—"}</td><td>{values[key] || "—"}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

function LeadSummary({ lead, users, user, canManage, disabled, onEdit, onDelete }) {
  const [confirming, setConfirming] = useState(false);
  const custom = Object.entries(lead.custom || {});
  return (
    <div class="lead-summary">
      <dl class="details">
        <dt>Status</dt><dd><StatusBadge status={lead.status} /></dd>
        <dt>Email</dt><dd>{lead.email ? <a href={`mailto:${lead.email}`}>{lead.email}</a> : "—"}</dd>
        <dt>Phone</dt><dd>{lead.phone ? <a href={`tel:${lead.phone}`}>{lead.phone}</a> : "—"}</dd>
        <dt>Company</dt><dd>{lead.company || "—"}</dd>
        <dt>Source</dt><dd>{lead.source || "—"}</dd>
        <dt>Assigned to</dt><dd>{userName(users, lead.assignedTo, user)}</dd>
        <dt>Tags</dt><dd>{lead.tags?.length ? lead.tags.map((t) => <span key={t} class="badge tag">{t}</span>) : "—"}</dd>
        {custom.map(([key, value]) => (
          <Fragment key={key}>
            <dt>{key}</dt><dd>{String(value)}</dd>
          </Fragment>
        ))}
        <dt>Created</dt><dd>{formatDateTime(lead.createdAt)}</dd>
        <dt>Updated</dt><dd>{formatDateTime(lead.updatedAt)} (version {lead.version})</dd>
      </dl>
      <div class="button-row">
        <Button variant="secondary" onClick={onEdit} disabled={disabled}>Edit</Button>
        {canManage && !confirming && <Button variant="danger" onClick={() => setConfirming(true)} disabled={disabled}>Delete</Button>}
        {confirming && (
          <span class="confirm" role="group" aria-label="Confirm deletion">
            <span>Delete this lead?</span>
            <Button variant="danger" onClick={onDelete}>Yes, delete</Button>
            <Button variant="secondary" onClick={() => setConfirming(false)}>Keep it</Button>
          </span>
        )}
      </div>
    </div>
  );
}

function NoteForm({ leadId, onAdded }) {
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    if (!text.trim()) return;
    setBusy(true);
    setError(null);
    try {
      await api.post(`${leadPath(leadId)}/notes`, { body: text });
      setText("");
      onAdded();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="note-form" onSubmit={submit}>
      <Field label="Add a note" name="body" as="textarea" rows={3} value={text} error={error} onInput={(e) => setText(e.currentTarget.value)} />
      <ErrorText error={error} fields={["body"]} />
      <Button type="submit" variant="secondary" busy={busy} disabled={!text.trim()}>Add note</Button>
    </form>
  );
}
