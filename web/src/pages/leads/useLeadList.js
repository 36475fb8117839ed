// The data of the leads table for one view (filters + sort): loaded pages kept in one array,
// the next page on demand (keyset cursor), the count, stale requests cancelled, and the live
// events applied to what is loaded: created / updated / assigned rows placed (or removed) by the
// view's filters and sort, deleted rows removed, a bulk change or a reconnection refetched once.
//
//   const list = useLeadList(view, user);
//   list.items, list.count, list.hasMore, list.loading, list.error, list.highlighted (Set of ids)
//   list.loadMore(); list.reload(); list.replace(lead)

import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { live } from "../../lib/live.js";
import { toast } from "../../lib/ui.jsx";
import { apiFilters, insertionIndex, matchesView } from "./model.js";

const PAGE_SIZE = 100;
const HIGHLIGHT_MS = 2_000;
const RECOUNT_DELAY_MS = 300;

function appendNew(items, page) {
  const seen = new Set(items.map((x) => x.id));
  return [...items, ...page.filter((lead) => !seen.has(lead.id))];
}

export function useLeadList(view, user) {
  const [state, setState] = useState({ items: [], nextCursor: null, loading: true, error: null });
  const [count, setCount] = useState(null);
  const [highlighted, setHighlighted] = useState(() => new Set());
  const viewKey = JSON.stringify(view);
  const current = useRef({ view, state, controller: null, countController: null });
  current.current.view = view;
  current.current.state = state;

  const fetchPage = useCallback(
    async ({ reset, limit = PAGE_SIZE }) => {
      const ref = current.current;
      if (!reset && (ref.state.loading || !ref.state.nextCursor)) return;
      ref.controller?.abort(); // a newer view or refetch wins over a request still running
      const controller = new AbortController();
      ref.controller = controller;
      const filters = apiFilters(ref.view);
      setState((s) => ({ ...s, loading: true, error: null }));
      if (reset) {
        ref.countController?.abort();
        ref.countController = new AbortController();
        api
          .get("/api/leads/count", { query: { ...filters, sort: undefined }, signal: ref.countController.signal })
          .then((body) => setCount(body.count))
          .catch((err) => err.name !== "AbortError" && setCount(null));
      }
      try {
        const page = await api.get("/api/leads", {
          query: { ...filters, limit, cursor: reset ? undefined : ref.state.nextCursor },
          signal: controller.signal,
        });
        setState((s) => ({
          items: reset ? page.items : appendNew(s.items, page.items),
          nextCursor: page.nextCursor,
          loading: false,
          error: null,
        }));
      } catch (err) {
        if (err.name === "AbortError") return;
        setState((s) => ({ ...s, loading: false, error: err }));
      }
    },
    [],
  );

  const reload = useCallback(() => {
    // Refetch what is on screen: as many rows as are loaded (a page at least, 200 at most).
    const loaded = current.current.state.items.length;
    fetchPage({ reset: true, limit: Math.min(200, Math.max(PAGE_SIZE, loaded)) });
  }, [fetchPage]);

  // A layout effect, not an effect: the request leaves as the table mounts instead of after the
  // next frame (Preact runs effects after paint; frames are slow while the page first loads).
  useLayoutEffect(() => {
    setState({ items: [], nextCursor: null, loading: true, error: null });
    setCount(null);
    fetchPage({ reset: true });
    return () => {
      current.current.controller?.abort();
      current.current.countController?.abort();
      clearTimeout(current.current.recountTimer);
    };
  }, [viewKey]);

  const highlight = useCallback((id) => {
    setHighlighted((set) => new Set(set).add(id));
    setTimeout(() => setHighlighted((set) => {
      const next = new Set(set);
      next.delete(id);
      return next;
    }), HIGHLIGHT_MS);
  }, []);

  /** Fetches the count again, once for a burst of changes. */
  const recount = useCallback(() => {
    const ref = current.current;
    clearTimeout(ref.recountTimer);
    ref.recountTimer = setTimeout(() => {
      ref.countController?.abort();
      ref.countController = new AbortController();
      api
        .get("/api/leads/count", { query: { ...apiFilters(ref.view), sort: undefined }, signal: ref.countController.signal })
        .then((body) => setCount(body.count))
        .catch(() => {});
    }, RECOUNT_DELAY_MS);
  }, []);

  /** Puts a created or changed lead where the view wants it (or takes it out). */
  const place = useCallback((lead, { created }) => {
    const { view: v, state: s } = current.current;
    const present = s.items.some((x) => x.id === lead.id);
    const belongs = matchesView(lead, v, user);
    if (!present && !belongs) return;
    setState((st) => {
      const items = st.items.filter((x) => x.id !== lead.id);
      if (belongs) {
        const at = insertionIndex(items, lead, v.sort, Boolean(st.nextCursor));
        if (at >= 0) items.splice(at, 0, lead);
      }
      return { ...st, items };
    });
    if (belongs) highlight(lead.id);
    if (created && belongs && !present) setCount((c) => (c === null ? c : c + 1));
    else if (present !== belongs) recount(); // it entered or left the view: whether it was counted is unknown
  }, [user, highlight, recount]);

  useEffect(() => {
    const offs = [
      live.on("lead:created", (lead) => place(lead, { created: true })),
      live.on("lead:updated", (lead) => place(lead, { created: false })),
      live.on("lead:assigned", ({ lead }) => place(lead, { created: false })),
      live.on("lead:deleted", ({ id }) => {
        if (!current.current.state.items.some((x) => x.id === id)) return;
        setState((st) => ({ ...st, items: st.items.filter((x) => x.id !== id) }));
        setCount((c) => (c === null ? c : Math.max(0, c - 1)));
      }),
      live.on("leads:bulk", reload),
      live.on("reconnected", reload),
    ];
    return () => offs.forEach((off) => off());
  }, [place, reload, user]);

  useEffect(() => {
    if (state.error && state.items.length > 0) toast(state.error.message, { kind: "error" });
  }, [state.error]);

  return {
    ...state,
    count,
    highlighted,
    hasMore: Boolean(state.nextCursor),
    loadMore: () => fetchPage({ reset: false }),
    reload,
    /** A lead changed here (the panel saved it): shown at once, before the live event. */
    replace: (lead) => place(lead, { created: false }),
    remove: (id) => {
      setState((st) => ({ ...st, items: st.items.filter((x) => x.id !== id) }));
      setCount((c) => (c === null ? c : Math.max(0, c - 1)));
    },
  };
}
