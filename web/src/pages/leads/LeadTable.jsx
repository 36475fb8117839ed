// The leads table: a virtualized ARIA table (fixed row height; only visible rows in the DOM),
// the next page fetched as the user nears the end, rows opened by click or Enter, arrow keys
// moving between rows, checkboxes for bulk selection. At phone width rows become two-line cards.
import { useEffect, useState } from "preact/hooks";
import { useVirtualRows } from "./useVirtualRows.js";
import { STATUS_LABELS, formatDate, userName } from "./model.js";
import { Spinner } from "../../lib/ui.jsx";

const DESKTOP_ROW = 48;
const PHONE_ROW = 84;
const PHONE_QUERY = "(max-width: 760px)";
/** Fetch the next page when this few loaded rows are left below the view. */
const PREFETCH_ROWS = 40;

function useMediaQuery(query) {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches);
  useEffect(() => {
    const list = window.matchMedia(query);
    const update = () => setMatches(list.matches);
    list.addEventListener("change", update);
    return () => list.removeEventListener("change", update);
  }, [query]);
  return matches;
}

export function StatusBadge({ status }) {
  return <span class={`badge status-${status}`}>{STATUS_LABELS[status] || status}</span>;
}

export function LeadTable({ list, user, users, selectable, selected, onToggle, onToggleAll, onOpen, emptyText }) {
  const phone = useMediaQuery(PHONE_QUERY);
  const rowHeight = phone ? PHONE_ROW : DESKTOP_ROW;
  const { items } = list;
  const v = useVirtualRows({ count: items.length, rowHeight });

  useEffect(() => {
    if (list.hasMore && !list.loading && !list.error && v.lastVisible >= items.length - PREFETCH_ROWS) list.loadMore();
  }, [v.lastVisible, items.length, list.hasMore, list.loading, list.error]);

  const focusRow = (index) => {
    if (index < 0 || index >= items.length) return;
    v.scrollToIndex(index);
    requestAnimationFrame(() => v.scrollRef.current?.querySelector(`[data-index="${index}"]`)?.focus());
  };

  const onRowKey = (event, index, lead) => {
    if (event.target !== event.currentTarget) return;
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onOpen(lead.id);
    } else if (event.key === "ArrowDown") {
      event.preventDefault();
      focusRow(index + 1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      focusRow(index - 1);
    }
  };

  const allSelected = items.length > 0 && items.every((lead) => selected.has(lead.id));
  const rows = [];
  for (let index = v.start; index < v.end; index += 1) {
    const lead = items[index];
    const isSelected = selected.has(lead.id);
    const highlight = list.highlighted.has(lead.id);
    rows.push(
      <div
        key={lead.id}
        role="row"
        aria-rowindex={index + 2}
        aria-selected={selectable ? String(isSelected) : undefined}
        tabIndex={0}
        class={`lead-row ${highlight ? "highlight" : ""} ${isSelected ? "selected" : ""}`}
        style={{ top: `${index * rowHeight}px`, height: `${rowHeight}px` }}
        data-testid="lead-row"
        data-id={lead.id}
        data-status={lead.status}
        data-highlight={highlight ? "true" : undefined}
        data-index={index}
        onClick={(e) => !e.target.closest("input") && onOpen(lead.id)}
        onKeyDown={(e) => onRowKey(e, index, lead)}
      >
        {selectable && (
          <div role="cell" class="cell-select">
            <input type="checkbox" checked={isSelected} aria-label={`Select ${lead.name}`} onChange={() => onToggle(lead.id)} />
          </div>
        )}
        <div role="cell" class="cell-name">{lead.name}</div>
        <div role="cell" class="cell-contact">{lead.email || lead.phone}</div>
        <div role="cell" class="cell-company">{lead.company}</div>
        <div role="cell" class="cell-status"><StatusBadge status={lead.status} /></div>
        <div role="cell" class="cell-source">{lead.source}</div>
        <div role="cell" class="cell-assignee">{userName(users, lead.assignedTo, user)}</div>
        <div role="cell" class="cell-created">{formatDate(lead.createdAt)}</div>
      </div>,
    );
  }

  return (
    <div class="lead-table-wrap">
      <TableFrame v={v} selectable={selectable} allSelected={allSelected} onToggleAll={onToggleAll} rowCount={(list.count ?? items.length) + 1} rows={rows} />
      {items.length === 0 && !list.loading && !list.error && <p class="empty">{emptyText}</p>}
      {list.loading && (
        <div class="list-loading">
          <Spinner label={items.length ? "Loading more leads" : "Loading leads"} />
        </div>
      )}
    </div>
  );
}

function TableFrame({ v, selectable, allSelected, onToggleAll, rowCount, rows }) {
  return (
    <div role="table" aria-label="Leads" aria-rowcount={rowCount} data-testid="leads-table" class={`lead-table ${selectable ? "selectable" : ""}`}>
      <div role="rowgroup" class="lead-head">
        <div role="row" aria-rowindex={1} class="lead-row lead-head-row">
          {selectable && (
            <div role="columnheader" class="cell-select">
              <input type="checkbox" checked={allSelected} aria-label="Select all loaded leads" onChange={() => onToggleAll(!allSelected)} />
            </div>
          )}
          <div role="columnheader" class="cell-name">Name</div>
          <div role="columnheader" class="cell-contact">Contact</div>
          <div role="columnheader" class="cell-company">Company</div>
          <div role="columnheader" class="cell-status">Status</div>
          <div role="columnheader" class="cell-source">Source</div>
          <div role="columnheader" class="cell-assignee">Assigned to</div>
          <div role="columnheader" class="cell-created">Created</div>
        </div>
      </div>
      <div ref={v.scrollRef} class="lead-scroll" style={{ height: `${v.height}px` }} onScroll={v.onScroll}>
        <div role="rowgroup" class="lead-body" style={{ height: `${v.totalHeight}px` }}>{rows}</div>
      </div>
    </div>
  );
}
