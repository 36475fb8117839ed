// The admin pages (admins only; others see why they cannot): /admin/users (users and roles) and
// /admin/organization (the organization's settings). Parts live in pages/admin/.

import UsersAdmin from "./admin/UsersAdmin.jsx";
import OrganizationSettings from "./admin/OrganizationSettings.jsx";
import "./pages.css";

const SECTIONS = [
  { path: "/admin/users", label: "Users" },
  { path: "/admin/organization", label: "Organization" },
];

export default function Admin({ session, route }) {
  if (session.user.role !== "admin") {
    return (
      <div class="page">
        <h1>Admin</h1>
        <p class="notice" role="alert">
          Admins only: users, roles and organization settings are managed by your organization's admins.
        </p>
      </div>
    );
  }
  const current = SECTIONS.find((s) => route.path.startsWith(s.path)) || SECTIONS[0];
  return (
    <div class="page admin-page">
      <h1>Admin</h1>
      <nav class="subnav" aria-label="Admin sections">
        {SECTIONS.map((s) => (
          <a key={s.path} href={s.path} aria-current={s === current ? "page" : undefined}>{s.label}</a>
        ))}
      </nav>
      {current.path === "/admin/users" ? (
        <UsersAdmin session={session} />
      ) : (
        <OrganizationSettings organization={session.organization} />
      )}
    </div>
  );
}
