// The signed-in session: tokens in sessionStorage (this tab only), the user and organization,
// silent refresh before the access token expires and on a 401 (lib/api.js asks), sign-in,
// registration and sign-out. When the session cannot be renewed, the user goes to
// /login?next=<where they were> and comes back there after signing in.
//
//   const s = useSession();   // { status: "loading" | "signedIn" | "signedOut", user, organization }
//   await signIn(email, password);  await register({ organizationName, name, email, password });
//   await signOut();
//   session.accessToken       // for lib/api.js and lib/live.js
//   session.onToken(fn)       // → unsubscribe; fn() after every new access token
//   session.refresh()         // → true when a new token pair was obtained (concurrent calls share one)
//   session.expire()          // ends the session and sends the user to sign in, remembering where they were

import { useEffect, useState } from "preact/hooks";
import { api } from "./api.js";
import { navigate } from "./router.js";

const STORAGE_KEY = "lms.session";
/** Refresh this long before the access token expires (or at 80% of short lifetimes). */
const REFRESH_MARGIN_MS = 60_000;

let tokens = loadTokens(); // { accessToken, refreshToken, expiresAt } or null
let profile = { status: tokens ? "loading" : "signedOut", user: null, organization: null };
let refreshing = null;
let refreshTimer = 0;
const profileListeners = new Set();
const tokenListeners = new Set();

function loadTokens() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return saved && saved.accessToken && saved.refreshToken ? saved : null;
  } catch {
    return null;
  }
}

function setProfile(next) {
  profile = { ...profile, ...next };
  for (const listener of profileListeners) listener(profile);
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!tokens) return;
  const lifetime = tokens.expiresAt - Date.now();
  const delay = Math.max(1_000, Math.min(lifetime - REFRESH_MARGIN_MS, lifetime * 0.8));
  refreshTimer = setTimeout(() => session.refresh(), delay);
}

function storeTokens({ accessToken, refreshToken, expiresIn }) {
  tokens = { accessToken, refreshToken, expiresAt: Date.now() + (Number(expiresIn) || 900) * 1000 };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
  scheduleRefresh();
  for (const listener of tokenListeners) listener();
}

function clearTokens() {
  clearTimeout(refreshTimer);
  tokens = null;
  sessionStorage.removeItem(STORAGE_KEY);
  for (const listener of tokenListeners) listener();
}

/** Where the user was ("/leads?status=new"), for /login?next=. Sign-in pages are not a place. */
function currentPlace() {
  const place = location.pathname + location.search;
  return location.pathname === "/login" || location.pathname === "/register" ? "/leads" : place;
}

/** Only same-site paths are followed after sign-in. */
export function safeNext(next) {
  return typeof next === "string" && next.startsWith("/") && !next.startsWith("//") ? next : "/leads";
}

export const session = {
  get accessToken() {
    return tokens?.accessToken ?? null;
  },
  get user() {
    return profile.user;
  },
  onToken(listener) {
    tokenListeners.add(listener);
    return () => tokenListeners.delete(listener);
  },

  refresh() {
    if (!tokens) return Promise.resolve(false);
    if (!refreshing) {
      const { refreshToken } = tokens;
      refreshing = api
        .post("/api/auth/refresh", { refreshToken }, { auth: false })
        .then((pair) => {
          storeTokens(pair);
          if (pair.user) setProfile({ user: pair.user });
          return true;
        })
        .catch((err) => {
          // A network failure keeps the tokens: a later request or reconnection tries again.
          if (err.status === 0) scheduleRefresh();
          else session.expire();
          return false;
        })
        .finally(() => {
          refreshing = null;
        });
    }
    return refreshing;
  },

  expire() {
    const wasSignedIn = profile.status !== "signedOut";
    clearTokens();
    setProfile({ status: "signedOut", user: null, organization: null });
    if (wasSignedIn || location.pathname !== "/login") {
      const next = currentPlace();
      navigate(`/login?next=${encodeURIComponent(next)}`, { replace: true });
    }
  },
};

async function loadProfile() {
  const me = await api.get("/api/auth/me");
  setProfile({ status: "signedIn", user: me.user, organization: me.organization });
}

/** Signs in; rejects with the server's ApiError (e.g. invalid_credentials). */
export async function signIn(email, password) {
  storeTokens(await api.post("/api/auth/login", { email, password }, { auth: false }));
  await loadProfile();
}

/** Registers an organization and its admin; rejects with the ApiError (422 details, 409 email_taken). */
export async function register(fields) {
  const result = await api.post("/api/auth/register", fields, { auth: false });
  storeTokens(result);
  setProfile({ status: "signedIn", user: result.user, organization: result.organization });
}

export async function signOut() {
  const refreshToken = tokens?.refreshToken;
  if (refreshToken) await api.post("/api/auth/logout", { refreshToken }).catch(() => {});
  clearTokens();
  setProfile({ status: "signedOut", user: null, organization: null });
  navigate("/login", { replace: true });
}

/** Updates the organization shown by the desk (after PATCH /api/organization). */
export function setOrganization(organization) {
  setProfile({ organization });
}

/** On start: a saved session is checked with GET /api/auth/me (refreshed if needed). */
export function restoreSession() {
  if (!tokens) return;
  scheduleRefresh();
  loadProfile().catch((err) => {
    if (err.status === 0) setProfile({ status: "offline" });
    else session.expire();
  });
}

export function useSession() {
  const [state, setState] = useState(profile);
  useEffect(() => {
    profileListeners.add(setState);
    setState(profile);
    return () => profileListeners.delete(setState);
  }, []);
  return state;
}

export function hasRole(user, ...roles) {
  return Boolean(user && roles.includes(user.role));
}
