// The filter bar of the leads table: search (as you type, debounced), status, source, assignee
// (admins and managers: `me`, `none` or a user), tag, created from/to, sort. Every change goes to
// the URL query (the view), replacing the history entry while typing. At phone width only the
// search shows until "Filters" opens the rest.
import { useEffect, useRef, useState } from "preact/hooks";
import { Button, Field } from "../../lib/ui.jsx";
import { SORTS, STATUSES, STATUS_LABELS, DEFAULT_SORT, VIEW_KEYS } from "./model.js";
import { assignable } from "./useUsers.js";

const TYPING_DELAY_MS = 250;

/** A text input whose value goes to the view after a pause in typing; follows the URL otherwise. */
function DebouncedField({ name, value, onCommit, ...props }) {
  const [text, setText] = useState(value || "");
  const timer = useRef(0);
  const committed = useRef(value || "");
  useEffect(() => {
    // The URL changed (back/forward, "clear"): show it unless it is what this field just sent.
    if ((value || "") !== committed.current) {
      committed.current = value || "";
      setText(value || "");
    }
  }, [value]);
  useEffect(() => () => clearTimeout(timer.current), []);
  const onInput = (event) => {
    const next = event.currentTarget.value;
    setText(next);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      committed.current = next.trim();
      onCommit(next.trim());
    }, TYPING_DELAY_MS);
  };
  return <Field name={name} value={text} onInput={onInput} {...props} />;
}

export function Filters({ view, setView, users, canSeeAll }) {
  const set = (key) => (value) => setView({ [key]: value }, { replace: true });
  const change = (key) => (event) => setView({ [key]: event.currentTarget.value });
  const activeKeys = VIEW_KEYS.filter((key) => key !== "sort" && key !== "q" && view[key]);
  const active = activeKeys.length > 0 || Boolean(view.q);
  const [open, setOpen] = useState(false);
  return (
    <form class={`filters ${open ? "open" : ""}`} role="search" aria-label="Filter leads" onSubmit={(e) => e.preventDefault()}>
      <DebouncedField label="Search" name="q" type="search" class="filter-search" placeholder="Name, email, company or phone" value={view.q} onCommit={set("q")} />
      <Button variant="secondary" class="filters-toggle" aria-expanded={open ? "true" : "false"} onClick={() => setOpen(!open)}>
        {`Filters${activeKeys.length ? ` (${activeKeys.length})` : ""}`}
      </Button>
      <Field label="Status" name="status" as="select" value={view.status || ""} onChange={change("status")}>
        <option value="">Any status</option>
        {STATUSES.map((s) => <option key={s} value={s}>{STATUS_LABELS[s]}</option>)}
      </Field>
      {canSeeAll && (
        <Field label="Assigned to" name="assignedTo" as="select" value={view.assignedTo || ""} onChange={change("assignedTo")}>
          <option value="">Anyone</option>
          <option value="me">Me</option>
          <option value="none">Nobody (unassigned)</option>
          {assignable(users).map((u) => <option key={u.id} value={u.id}>{u.name}</option>)}
        </Field>
      )}
      <DebouncedField label="Source" name="source" value={view.source} onCommit={set("source")} />
      <DebouncedField label="Tag" name="tag" value={view.tag} onCommit={set("tag")} />
      <Field label="Created from" name="createdFrom" type="date" value={view.createdFrom || ""} onChange={change("createdFrom")} />
      <Field label="Created to" name="createdTo" type="date" value={view.createdTo || ""} onChange={change("createdTo")} />
      <Field label="Sort" name="sort" as="select" value={view.sort || DEFAULT_SORT} onChange={change("sort")}>
        {SORTS.map((s) => <option key={s.value} value={s.value}>{s.label}</option>)}
      </Field>
      {active && (
        <Button variant="secondary" class="filter-clear" onClick={() => setView(Object.fromEntries(VIEW_KEYS.filter((k) => k !== "sort").map((k) => [k, ""])))}>
          Clear filters
        </Button>
      )}
    </form>
  );
}
