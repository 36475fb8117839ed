// The shell: the session gate (sign-in / register until signed in), the top bar (navigation,
// connection indicator, user menu), the routes, and the live connection's lifetime.
// Dashboard, Imports and Admin load lazily, so the first load carries only the leads desk.
import { useEffect, useRef, useState } from "preact/hooks";
import { hasRole, restoreSession, safeNext, signOut, useSession } from "./lib/session.js";
import { live, useLive, useLiveEvent } from "./lib/live.js";
import { matchPath, navigate, useRoute } from "./lib/router.js";
import { Button, Spinner, Toaster, toast } from "./lib/ui.jsx";
import SignIn from "./pages/SignIn.jsx";
import Register from "./pages/Register.jsx";
import Leads from "./pages/Leads.jsx";

const lazyPages = {
  imports: () => import("./pages/Imports.jsx"),
  dashboard: () => import("./pages/Dashboard.jsx"),
  admin: () => import("./pages/Admin.jsx"),
};

const ROUTES = [
  { pattern: "/leads", page: Leads },
  { pattern: "/leads/:id", page: Leads },
  { pattern: "/imports", lazy: "imports" },
  { pattern: "/imports/:id", lazy: "imports" },
  { pattern: "/dashboard", lazy: "dashboard" },
  { pattern: "/admin", lazy: "admin", roles: ["admin"] },
  { pattern: "/admin/users", lazy: "admin", roles: ["admin"] },
  { pattern: "/admin/organization", lazy: "admin", roles: ["admin"] },
];

const NAV = [
  { href: "/leads", label: "Leads", section: "leads" },
  { href: "/imports", label: "Imports", section: "imports" },
  { href: "/dashboard", label: "Dashboard", section: "dashboard" },
  { href: "/admin/users", label: "Admin", section: "admin", roles: ["admin"] },
];

const CONNECTION_WORDS = { connected: "Live", connecting: "Connecting…", offline: "Offline" };

restoreSession();

export function App() {
  const session = useSession();
  const route = useRoute();
  const signedIn = session.status === "signedIn";

  useEffect(() => {
    if (!signedIn) return undefined;
    live.start();
    return () => live.stop();
  }, [signedIn]);

  const onAuthPage = route.path === "/login" || route.path === "/register";
  useEffect(() => {
    if (session.status === "signedOut" && !onAuthPage) {
      const next = route.path === "/" ? "" : `?next=${encodeURIComponent(route.path + route.search)}`;
      navigate(`/login${next}`, { replace: true });
    } else if (signedIn && onAuthPage) {
      navigate(safeNext(route.query.next), { replace: true });
    } else if (signedIn && route.path === "/") {
      navigate("/leads", { replace: true });
    }
  }, [session.status, route.path]);

  let body;
  if (session.status === "loading") body = <main id="main" class="auth-page"><Spinner label="Opening the lead desk" /></main>;
  else if (session.status === "offline") body = <Offline />;
  else if (!signedIn) body = route.path === "/register" ? <Register route={route} /> : <SignIn route={route} />;
  else body = <Shell session={session} route={route} />;
  return (
    <>
      {body}
      <Toaster />
    </>
  );
}

function Offline() {
  return (
    <main id="main" class="auth-page">
      <div class="auth-card" role="alert">
        <h1>The server cannot be reached</h1>
        <p>Check your connection, then try again.</p>
        <Button onClick={() => location.reload()}>Try again</Button>
      </div>
    </main>
  );
}

function findRoute(path, user) {
  for (const r of ROUTES) {
    const params = matchPath(r.pattern, path);
    if (params) return { ...r, params, allowed: !r.roles || hasRole(user, ...r.roles) };
  }
  return null;
}

function Shell({ session, route }) {
  const found = findRoute(route.path, session.user);
  const section = route.path.split("/")[1] || "";
  const mainRef = useRef(null);
  const firstSection = useRef(section);

  // A new section moves focus to the page, as a page load would (not on the first render).
  useEffect(() => {
    if (firstSection.current === section) return;
    firstSection.current = null;
    mainRef.current?.focus();
  }, [section]);

  useLiveEvent("lead:assigned", ({ lead, to }) => {
    const target = typeof to === "object" && to !== null ? to.id : to;
    if (target === session.user.id && lead.assignedTo === session.user.id) toast(`Lead ${lead.name} was assigned to you`);
  }, [session.user.id]);

  let content;
  if (!found) content = <NotFound />;
  else if (!found.allowed) content = <section><h1>Not allowed</h1><p>This page is for administrators.</p></section>;
  else if (found.page) content = <found.page session={session} route={{ ...route, params: found.params }} />;
  else content = <LazyPage name={found.lazy} session={session} route={{ ...route, params: found.params }} />;

  return (
    <div data-testid="app-shell">
      <a class="skip-link" href="#main" onClick={(e) => { e.preventDefault(); mainRef.current?.focus(); }}>Skip to main content</a>
      <TopBar session={session} section={section} />
      <main id="main" ref={mainRef} tabIndex={-1}>{content}</main>
    </div>
  );
}

function NotFound() {
  return (
    <section>
      <h1>Page not found</h1>
      <p><a href="/leads">Go to the leads</a></p>
    </section>
  );
}

const loadedPages = {};

function LazyPage({ name, ...props }) {
  const [, setLoaded] = useState(0);
  const [error, setError] = useState(null);
  const Page = loadedPages[name];
  useEffect(() => {
    if (Page) return;
    lazyPages[name]()
      .then((module) => {
        loadedPages[name] = module.default;
        setLoaded((n) => n + 1);
      })
      .catch(() => setError("This page could not be loaded. Check your connection and reload."));
  }, [name]);
  if (error) return <p class="error-text" role="alert">{error}</p>;
  if (!Page) return <Spinner label="Loading the page" />;
  return <Page {...props} />;
}

function TopBar({ session, section }) {
  const [navOpen, setNavOpen] = useState(false);
  const items = NAV.filter((item) => !item.roles || hasRole(session.user, ...item.roles));
  useEffect(() => setNavOpen(false), [section]);
  return (
    <header class="topbar">
      <a class="brand" href="/leads">Lead desk</a>
      <Button variant="ghost" class="menu-toggle" aria-expanded={navOpen ? "true" : "false"} aria-controls="main-nav" onClick={() => setNavOpen(!navOpen)}>
        Menu
      </Button>
      <nav id="main-nav" class={`nav ${navOpen ? "open" : ""}`} aria-label="Main">
        {items.map((item) => (
          <a key={item.href} href={item.href} aria-current={section === item.section ? "page" : undefined}>{item.label}</a>
        ))}
      </nav>
      <span class="spacer" />
      <ConnectionIndicator />
      <UserMenu session={session} />
    </header>
  );
}

function ConnectionIndicator() {
  const state = useLive();
  const words = CONNECTION_WORDS[state];
  return (
    <span class="connection" data-testid="connection" data-state={state} role="status" title={`Real-time updates: ${words}`}>
      <span class="connection-text">{words}</span>
      <span class="visually-hidden">{` real-time updates ${state === "connected" ? "on" : state}`}</span>
    </span>
  );
}

function UserMenu({ session }) {
  const [open, setOpen] = useState(false);
  const box = useRef(null);
  useEffect(() => {
    if (!open) return undefined;
    const close = (event) => {
      if (event.type === "keydown" && event.key !== "Escape") return;
      if (event.type === "mousedown" && box.current?.contains(event.target)) return;
      setOpen(false);
      if (event.type === "keydown") box.current?.querySelector("button")?.focus();
    };
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", close);
    };
  }, [open]);
  const { user, organization } = session;
  return (
    <div class="user-menu" ref={box}>
      <Button variant="ghost" aria-expanded={open ? "true" : "false"} aria-haspopup="true" onClick={() => setOpen(!open)}>
        {user.name} ▾
      </Button>
      {open && (
        <div class="user-menu-list">
          <p>
            {user.email}<br />
            {user.role} · {organization?.name}
          </p>
          <Button variant="ghost" onClick={() => signOut()}>Sign out</Button>
        </div>
      )}
    </div>
  );
}
