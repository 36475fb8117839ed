// What the leads views know about leads: statuses and sorts of the contract, the view in the
// URL (query) → API filters, whether a lead passes the filters of a view (for live events), and
// where a lead goes in a sorted list.

export const STATUSES = ["new", "contacted", "qualified", "converted", "lost"];
export const STATUS_LABELS = { new: "New", contacted: "Contacted", qualified: "Qualified", converted: "Converted", lost: "Lost" };

export const SORTS = [
  { value: "-createdAt", label: "Newest first" },
  { value: "createdAt", label: "Oldest first" },
  { value: "-updatedAt", label: "Recently updated" },
  { value: "updatedAt", label: "Least recently updated" },
  { value: "name", label: "Name A–Z" },
];
export const DEFAULT_SORT = "-createdAt";

/** Keys of the view kept in the URL query. */
export const VIEW_KEYS = ["status", "source", "assignedTo", "tag", "q", "createdFrom", "createdTo", "sort"];

/** A date input's value (YYYY-MM-DD, local day) → RFC 3339 at the start or the end of that day. */
function dayBoundary(day, end) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day || "");
  if (!match) return undefined;
  const [, y, m, d] = match.map(Number);
  const date = end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d, 0, 0, 0, 0);
  return date.toISOString();
}

/** The API filters (GET /api/leads and /count) of a view. */
export function apiFilters(view) {
  return {
    status: view.status,
    source: view.source,
    assignedTo: view.assignedTo,
    tag: view.tag,
    q: view.q,
    createdFrom: dayBoundary(view.createdFrom, false),
    createdTo: dayBoundary(view.createdTo, true),
    sort: view.sort && view.sort !== DEFAULT_SORT ? view.sort : undefined,
  };
}

export function viewOf(query) {
  const view = {};
  for (const key of VIEW_KEYS) if (query[key]) view[key] = query[key];
  return view;
}

/** Whether `lead` belongs in the list of `view` as `user` sees it. */
export function matchesView(lead, view, user) {
  if (user.role === "agent" && lead.assignedTo !== user.id) return false;
  if (view.status && lead.status !== view.status) return false;
  if (view.source && (lead.source || "") !== view.source) return false;
  if (view.tag && !(lead.tags || []).includes(view.tag)) return false;
  if (view.assignedTo) {
    const want = view.assignedTo === "me" ? user.id : view.assignedTo === "none" ? null : view.assignedTo;
    if ((lead.assignedTo ?? null) !== want) return false;
  }
  const filters = apiFilters(view);
  if (filters.createdFrom && lead.createdAt < filters.createdFrom) return false;
  if (filters.createdTo && lead.createdAt > filters.createdTo) return false;
  if (view.q) {
    const q = view.q.toLowerCase();
    const text = [lead.name, lead.email, lead.company].filter(Boolean).join("\n").toLowerCase();
    const digits = /^[\d\s()+.-]+$/.test(q) ? q.replace(/\D/g, "") : "";
    const phoneMatch = digits !== "" && (lead.phone || "").replace(/\D/g, "").includes(digits);
    if (!text.includes(q) && !phoneMatch) return false;
  }
  return true;
}

/** Compare for a sort value; ties broken by id (ids sort by creation time). */
export function comparator(sort = DEFAULT_SORT) {
  const descending = sort.startsWith("-");
  const key = sort.replace(/^-/, "");
  return (a, b) => {
    const x = key === "name" ? (a.name || "").toLowerCase() : a[key] || "";
    const y = key === "name" ? (b.name || "").toLowerCase() : b[key] || "";
    let order = x < y ? -1 : x > y ? 1 : 0;
    if (order === 0) order = a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    return descending ? -order : order;
  };
}

/**
 * Where `lead` goes in the loaded `items` (sorted by `sort`): an index, or -1 when it falls
 * after the loaded part of a longer list (it will come with a later page).
 */
export function insertionIndex(items, lead, sort, hasMore) {
  const compare = comparator(sort);
  let low = 0;
  let high = items.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (compare(items[mid], lead) < 0) low = mid + 1;
    else high = mid;
  }
  return low === items.length && hasMore ? -1 : low;
}

export function userName(users, id, me) {
  if (!id) return "Unassigned";
  if (me && id === me.id) return me.name ? `${me.name} (me)` : "Me";
  return users.get(id)?.name || "Someone";
}

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function formatDateTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
