// Users and roles (/admin/users): the users table (GET /api/users) and the form adding one.

import { useEffect, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { ErrorText, Spinner } from "../../lib/ui.jsx";
import CreateUserForm from "./CreateUserForm.jsx";
import UsersTable from "./UsersTable.jsx";

export default function UsersAdmin({ session }) {
  const [users, setUsers] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const controller = new AbortController();
    api
      .get("/api/users", { signal: controller.signal })
      .then((body) => setUsers(body.items))
      .catch((err) => err.name !== "AbortError" && setError(err));
    return () => controller.abort();
  }, []);
  const replace = (changed) => setUsers((list) => list.map((u) => (u.id === changed.id ? changed : u)));
  const add = (created) => setUsers((list) => [...(list || []), created]);

  return (
    <>
      <section class="card" aria-labelledby="users-title">
        <h2 id="users-title">Users {users && <span class="muted">({users.length})</span>}</h2>
        <ErrorText error={error} />
        {!users && !error && <Spinner label="Loading users" />}
        {users && <UsersTable users={users} selfId={session.user.id} onChanged={replace} />}
      </section>
      <CreateUserForm onCreated={add} />
    </>
  );
}
