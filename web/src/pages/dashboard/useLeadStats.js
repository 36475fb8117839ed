// GET /api/leads/stats?days=N, refetched when leads change (lead events, `leads:bulk`, a
// reconnection), at most once every 5 s however many events arrive.

import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { live } from "../../lib/live.js";

export const REFRESH_MIN_MS = 5000;
const LEAD_EVENTS = ["lead:created", "lead:updated", "lead:assigned", "lead:deleted", "leads:bulk", "reconnected"];

/** → {stats, error, loadedAt} */
export function useLeadStats(days) {
  const [state, setState] = useState({ stats: null, error: null, loadedAt: null });
  useEffect(() => {
    const controller = new AbortController();
    let lastFetch = 0;
    let timer = 0;
    const load = async () => {
      timer = 0;
      lastFetch = Date.now();
      try {
        const stats = await api.get("/api/leads/stats", { query: { days }, signal: controller.signal });
        setState({ stats, error: null, loadedAt: new Date() });
      } catch (err) {
        if (err.name !== "AbortError") setState((s) => ({ ...s, error: err }));
      }
    };
    const schedule = () => {
      if (timer) return;
      timer = setTimeout(load, Math.max(0, lastFetch + REFRESH_MIN_MS - Date.now()));
    };
    const offs = LEAD_EVENTS.map((event) => live.on(event, schedule));
    load();
    return () => {
      controller.abort();
      clearTimeout(timer);
      for (const off of offs) off();
    };
  }, [days]);
  return state;
}
