// The organization's users: name, email, role (a select) and whether they may sign in
// (deactivate / reactivate, after a confirmation). The signed-in admin's own row is read-only.

import { useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { Button, ErrorText } from "../../lib/ui.jsx";
import { ROLES } from "./roles.js";

function UserRow({ user, isSelf, onChanged }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const patch = async (fields) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await api.patch(`/api/users/${encodeURIComponent(user.id)}`, fields));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const toggleActive = () => {
    const question = user.active
      ? `Deactivate ${user.name}? They are signed out at once and can no longer sign in.`
      : `Reactivate ${user.name}? They can sign in again.`;
    if (window.confirm(question)) patch({ active: !user.active });
  };
  return (
    <tr data-id={user.id} data-role={user.role} data-active={String(user.active)} class={user.active ? "" : "user-inactive"}>
      <th scope="row">{user.name}{isSelf && <span class="muted"> (you)</span>}</th>
      <td class="user-email">{user.email}</td>
      <td>
        <label class="visually-hidden" for={`role-${user.id}`}>Role of {user.name}</label>
        <select
          id={`role-${user.id}`}
          class="input"
          value={user.role}
          disabled={busy || isSelf}
          onChange={(e) => patch({ role: e.currentTarget.value })}
        >
          {ROLES.map((r) => <option key={r.value} value={r.value}>{r.label}</option>)}
        </select>
      </td>
      <td>
        <span class={`badge ${user.active ? "badge--completed" : "badge--reverted"}`}>{user.active ? "active" : "inactive"}</span>
      </td>
      <td>
        {!isSelf && (
          <Button variant={user.active ? "secondary" : "primary"} busy={busy} onClick={toggleActive} aria-label={`${user.active ? "Deactivate" : "Reactivate"} ${user.name}`}>
            {user.active ? "Deactivate" : "Reactivate"}
          </Button>
        )}
        <ErrorText error={error} />
      </td>
    </tr>
  );
}

export default function UsersTable({ users, selfId, onChanged }) {
  return (
    <div class="table-scroll" role="region" aria-labelledby="users-title" tabIndex={0}>
      <table class="table users-table" data-testid="users-table">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Active</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <UserRow key={user.id} user={user} isSelf={user.id === selfId} onChanged={onChanged} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
