// History-API routing: the URL is the state of the desk (bookmarkable; back and forward work).
//
//   navigate("/leads?status=new");            // push (or { replace: true })
//   const route = useRoute();                 // { path, query } of the current URL
//   matchPath("/leads/:id", "/leads/42");     // → { id: "42" } or null
//   const [query, setQuery] = useQueryState(); // setQuery({ status: "new" }) merges; "" / null removes
//   installLinkInterception();                // same-origin <a href> clicks navigate without a reload
//
// Links are plain `<a href="/leads">`: installLinkInterception (called once by main.jsx) turns
// their clicks into navigate() unless a modifier key is held or the link has `download`/`target`.

import { useEffect, useState } from "preact/hooks";

const listeners = new Set();

function notify() {
  for (const listener of listeners) listener();
}

function currentRoute() {
  return {
    path: location.pathname,
    query: Object.fromEntries(new URLSearchParams(location.search)),
    search: location.search,
  };
}

export function navigate(to, { replace = false } = {}) {
  const target = new URL(to, location.href);
  if (target.origin !== location.origin) {
    location.assign(target.href);
    return;
  }
  const next = target.pathname + target.search + target.hash;
  if (next === location.pathname + location.search + location.hash) return;
  if (replace) history.replaceState(null, "", next);
  else history.pushState(null, "", next);
  notify();
}

window.addEventListener("popstate", notify);

/** The current route; re-renders the component when the URL changes. */
export function useRoute() {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    listeners.add(update);
    update();
    return () => listeners.delete(update);
  }, []);
  return route;
}

/** Params of `pattern` ("/leads/:id") in `path`, or null when it does not match. */
export function matchPath(pattern, path) {
  const want = pattern.split("/").filter(Boolean);
  const have = path.split("/").filter(Boolean);
  if (want.length !== have.length) return null;
  const params = {};
  for (let i = 0; i < want.length; i += 1) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(have[i]);
    else if (want[i] !== have[i]) return null;
  }
  return params;
}

/** Query string as a new URL search ("" values and null left out). */
export function searchOf(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

/**
 * The query string as state: [query, setQuery(patch, { replace })]. The patch merges into the
 * current query; "" and null remove a key. `path` (default: the current one) lets a page keep
 * its query while moving, e.g. from /leads/42 back to /leads.
 */
export function useQueryState() {
  const route = useRoute();
  const setQuery = (patch, { replace = false, path = location.pathname } = {}) => {
    const merged = { ...Object.fromEntries(new URLSearchParams(location.search)), ...patch };
    navigate(path + searchOf(merged), { replace });
  };
  return [route.query, setQuery];
}

export function installLinkInterception() {
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest && event.target.closest("a[href]");
    if (!link || link.hasAttribute("download") || (link.target && link.target !== "_self")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    event.preventDefault();
    navigate(url.pathname + url.search + url.hash);
  });
}
