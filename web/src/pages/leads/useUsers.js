// The organization's users (GET /api/users) for admins and managers: names of assignees and the
// assignee choices. Agents may not list users: they get an empty map. Loaded once per signed-in user.
import { useLayoutEffect, useState } from "preact/hooks";
import { api } from "../../lib/api.js";
import { hasRole } from "../../lib/session.js";

let cache = null; // { userId, users: Promise<Map> }

export function useUsers(user) {
  const canList = hasRole(user, "admin", "manager");
  const [users, setUsers] = useState(() => new Map());
  // Requested as the page mounts, with the leads (see useLeadList).
  useLayoutEffect(() => {
    if (!canList) return undefined;
    let live = true;
    if (cache?.userId !== user.id) {
      const users = api.get("/api/users").then((body) => new Map(body.items.map((u) => [u.id, u])));
      users.catch(() => (cache = null));
      cache = { userId: user.id, users };
    }
    cache.users.then((map) => live && setUsers(map)).catch(() => {});
    return () => {
      live = false;
    };
  }, [canList, user?.id]);
  return users;
}

/** Active users an admin or manager can assign leads to, by name. */
export function assignable(users) {
  return [...users.values()].filter((u) => u.active !== false).sort((a, b) => a.name.localeCompare(b.name));
}
