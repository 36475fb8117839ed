// The activity timeline of a lead (GET /api/leads/:id/activities): newest first, "Load more"
// by cursor, refetched from the top when `refreshKey` changes (a live update, a new note).
import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { Button, ErrorText, Spinner } from "../../lib/ui.jsx";
import { STATUS_LABELS, formatDateTime, userName } from "./model.js";

const PAGE = 20;

function describe(activity, users, me) {
  const data = activity.data || {};
  switch (activity.type) {
    case "created": return "Created the lead";
    case "updated": return data.fields ? `Changed ${[].concat(data.fields).join(", ")}` : "Edited the lead";
    case "status_changed": return `Status: ${STATUS_LABELS[data.from] || data.from} → ${STATUS_LABELS[data.to] || data.to}`;
    case "assigned": return `Assignment: ${userName(users, data.from, me)} → ${userName(users, data.to, me)}`;
    case "note": return null;
    case "imported": return "Imported from a CSV file";
    case "deleted": return "Deleted the lead";
    default: return activity.type;
  }
}

export function Timeline({ leadId, refreshKey, users, me }) {
  const [items, setItems] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState(null);

  const load = async (from, signal) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api.get(`/api/leads/${encodeURIComponent(leadId)}/activities`, { query: { limit: PAGE, cursor: from }, signal });
      setItems((list) => (from ? [...list, ...page.items] : page.items));
      setCursor(page.nextCursor);
      setLoading(false);
    } catch (err) {
      if (err.name === "AbortError") return;
      setError(err);
      setLoading(false);
    }
  };

  useEffect(() => {
    const controller = new AbortController();
    load(null, controller.signal);
    return () => controller.abort();
  }, [leadId, refreshKey]);

  return (
    <section class="timeline" aria-labelledby="timeline-title">
      <h3 id="timeline-title">Activity</h3>
      <ErrorText error={error} />
      <ol class="timeline-list">
        {items.map((a) => {
          const text = describe(a, users, me);
          return (
            <li key={a.id} class={`activity activity-${a.type}`} data-type={a.type}>
              <div class="activity-meta">
                <strong>{a.actorId ? userName(users, a.actorId, me) : "System"}</strong>
                <time dateTime={a.createdAt}>{formatDateTime(a.createdAt)}</time>
              </div>
              {text !== null ? <p>{text}</p> : <p class="note-body">{a.data?.body}</p>}
            </li>
          );
        })}
      </ol>
      {loading && <Spinner label="Loading activity" />}
      {!loading && items.length === 0 && !error && <p class="muted">No activity yet.</p>}
      {cursor && !loading && <Button variant="secondary" onClick={() => load(cursor)}>Load more</Button>}
    </section>
  );
}
